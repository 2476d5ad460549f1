"""Staff accounts: users, roles, login."""
