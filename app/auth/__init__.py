"""Authorization: the one policy module every view asks."""
