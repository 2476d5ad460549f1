"""Forms of staff account management (app/accounts/admin_views.py)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

ROLE_CHOICES = [("teacher", _l("Psychology teacher")), ("homeroom", _l("Homeroom teacher")), ("doctor", _l("Doctor")),
                ("admin", _l("District admin"))]


class AccountForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Name shown to colleagues"), validators=[DataRequired(), Length(max=80)])
    email = StringField(_l("E-mail address"), validators=[Optional(), Length(max=254)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[DataRequired()])
    school_id = SelectField(_l("School (psychology and homeroom teachers)"), coerce=int, validate_choice=False)
    hospital_id = SelectField(_l("Hospital (doctors)"), coerce=int, validate_choice=False)
    class_group_id = SelectField(_l("Class (homeroom teachers)"), coerce=int, validate_choice=False)


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason (recorded in the audit log)"), validators=[DataRequired(), Length(max=300)])


class StaffUploadForm(FlaskForm):
    file = FileField(_l("Staff list (CSV or XLSX)"), validators=[FileRequired(message=_l("Choose a file."))])
