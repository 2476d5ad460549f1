"""Screening campaigns, student responses and their scores."""
