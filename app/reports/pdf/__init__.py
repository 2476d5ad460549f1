"""PDF builders; fonts are registered once in fonts.py."""
