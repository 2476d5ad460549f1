from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

CONSENT_KIND_CHOICES = [
    ("screening", _l("Psychological screening")),
    ("handover_school", _l("Hand the file over to the next school")),
    ("handover_hospital", _l("Hand the file over to the partner hospital")),
]


class RosterUploadForm(FlaskForm):
    file = FileField(_l("Roster file (CSV or XLSX)"), validators=[FileRequired(message=_l("Choose a file."))])


class StudentLookupForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search

    number = StringField(_l("Student number"), validators=[DataRequired(), Length(max=32)])


class TransferForm(FlaskForm):
    class_group_id = SelectField(_l("Receiving school and class"), coerce=int, validators=[DataRequired()])


class ConsentForm(FlaskForm):
    kind = SelectField(_l("Consent to"), choices=CONSENT_KIND_CHOICES, validators=[DataRequired()])
    granted = SelectField(_l("Guardian's decision"), choices=[("yes", _l("Granted")), ("no", _l("Withdrawn / refused"))],
                          validators=[DataRequired()])
    note = StringField(_l("Note (e.g. form number, who signed)"), validators=[Optional(), Length(max=200)])
    confirm = BooleanField(_l("I have the guardian's signed form or recorded call"), validators=[DataRequired(
        message=_l("Confirm that you have the guardian's decision."))])
