from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from app.risk.services import CONCERN_CATEGORIES, OUTCOMES, OUTCOMES_NEEDING_NOTE

LEVEL_CHOICES = [("critical", _l("Critical")), ("high", _l("High")), ("moderate", _l("Moderate"))]


class ConcernForm(FlaskForm):
    """A concern without any screening: a classmate's worry, a sign of self-harm, a parent's call."""

    student_number = StringField(_l("Student number"), validators=[DataRequired(), Length(max=32)])
    level = SelectField(_l("How urgent"), choices=LEVEL_CHOICES, default="high", validators=[DataRequired()])
    category = SelectField(_l("What happened"), choices=list(CONCERN_CATEGORIES.items()), validators=[DataRequired()])
    note = TextAreaField(_l("What you saw or heard"), validators=[DataRequired(), Length(max=4000)])


class ResolveForm(FlaskForm):
    outcome = SelectField(_l("Outcome"), choices=[("", _l("Choose an outcome"))] + list(OUTCOMES.items()),
                          validators=[DataRequired(message=_l("Choose an outcome."))])
    note = TextAreaField(_l("Note (required for a false positive: why)"), validators=[Length(max=4000)])

    def validate_note(self, field):
        if self.outcome.data in OUTCOMES_NEEDING_NOTE and not (field.data or "").strip():
            raise ValidationError(_l("Say why this was a false positive."))
