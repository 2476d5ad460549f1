"""Alerts: a risk signal that a responsible person must act on in time."""
