"""Schools, hospitals, partnership agreements and classes."""
