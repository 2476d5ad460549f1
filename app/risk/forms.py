from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from app.risk.crisis import CONTACT_DIRECTIONS, CONTACT_OUTCOMES
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


class CrisisStepForm(FlaskForm):
    """Tick one step of a critical alert's crisis checklist."""

    step = HiddenField(validators=[DataRequired()])
    note = TextAreaField(_l("What was done or found"), validators=[Length(max=4000)])


class GuardianContactForm(FlaskForm):
    """A call with the guardian: who called whom, when, what came of it."""

    direction = SelectField(_l("Who called"), choices=list(CONTACT_DIRECTIONS.items()), default="outgoing")
    person = StringField(_l("Whom you spoke to (or tried to reach)"),
                         validators=[DataRequired(message=_l("Write whom you called.")), Length(max=80)])
    contacted_at = DateTimeLocalField(_l("When"), format="%Y-%m-%dT%H:%M",
                                      validators=[DataRequired(message=_l("Give the date and time of the call."))])
    outcome = SelectField(_l("Outcome of the call"), choices=[("", _l("Choose an outcome"))] + list(CONTACT_OUTCOMES.items()),
                          validators=[DataRequired(message=_l("Choose an outcome."))])
    note = TextAreaField(_l("Note (what was said, what was agreed)"), validators=[Length(max=4000)])
