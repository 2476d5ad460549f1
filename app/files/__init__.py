"""The student's psychological file: one timeline across every school."""
