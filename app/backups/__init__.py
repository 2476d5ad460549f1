"""Backups of the database: `flask backup create|verify|restore|prune|list` (README, "Backups")."""
