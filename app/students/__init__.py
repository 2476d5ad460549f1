"""Students, their enrolments across schools, and guardian consent."""
