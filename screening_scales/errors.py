"""Exceptions raised by the questionnaire library."""


class ScaleDefinitionError(ValueError):
    """A scale data file is invalid; the message names the file and the field."""

    def __init__(self, path, field, problem):
        self.path = str(path)
        self.field = field
        self.problem = problem
        super().__init__(f"{self.path}: field '{field}': {problem}")


class UnknownScale(KeyError):
    """No scale with that code is registered."""

    def __str__(self):
        return f"unknown scale: {self.args[0]!r}" if self.args else "unknown scale"


class AnswerError(ValueError):
    """Answers cannot be scored: wrong count, out-of-range or non-integer value, missing item."""

    def __init__(self, message, item=None):
        self.item = item
        super().__init__(message)


class UnknownProfile(KeyError):
    """The scale has no cut-off profile of that name."""

    def __str__(self):
        return self.args[0] if self.args else "unknown cut-off profile"
