"""Append-only, hash-chained audit trail of every read or change of student data."""
