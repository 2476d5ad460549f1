"""Exports that leave the system: the district's response export (streamed, or a job) and the research export."""
