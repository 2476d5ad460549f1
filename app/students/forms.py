from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from app.core import clock
from app.orgs.school_year import import_years

CONSENT_KIND_CHOICES = [
    ("screening", _l("Psychological screening")),
    ("handover_school", _l("Hand the file over to the next school")),
    ("handover_hospital", _l("Hand the file over to the partner hospital")),
]


def _import_year_choices():
    this_year, next_year = import_years(clock.today())
    return [(this_year, _("%(year)s (this year)", year=this_year)),
            (next_year, _("%(year)s (next year)", year=next_year))]


class RosterUploadForm(FlaskForm):
    # Choices and default are worked out per request: the academic year turns on 1 September.
    academic_year = SelectField(_l("Academic year"), choices=_import_year_choices,
                                default=lambda: import_years(clock.today())[0], validate_choice=False,
                                validators=[InputRequired(message=_l("Choose the academic year."))])
    file = FileField(_l("Roster file (CSV or XLSX)"), validators=[FileRequired(message=_l("Choose a file."))])

    def validate_academic_year(self, field):
        this_year, next_year = (year for year, _label in field.choices)
        if field.data not in (this_year, next_year):
            raise ValidationError(_("A roster can be imported for this academic year (%(this)s) or the next "
                                    "(%(next)s) only.", this=this_year, next=next_year))


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


class RefuseAdmissionForm(FlaskForm):
    note = StringField(_l("Note to the school (optional)"), validators=[Optional(), Length(max=200)])
