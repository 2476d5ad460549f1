"""Retention: a student's file is deleted a configurable number of years after they left the last school."""
