"""班级心理委员: students a school names for a term to report concerns about classmates (issue 19, item 4)."""
