"""Pieces shared by every domain: database base, types, clock, crypto."""
