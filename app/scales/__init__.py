"""The deployment's questionnaire settings: cut-off profiles in force and reviewed Chinese texts."""
