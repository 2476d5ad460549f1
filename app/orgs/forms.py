from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.web import LEVEL_LABELS

LEVEL_CHOICES = list(LEVEL_LABELS.items())


class SchoolForm(FlaskForm):
    name = StringField(_l("Name of the school"), validators=[DataRequired(), Length(max=120)])
    code = StringField(_l("School code (学校标识码)"), validators=[DataRequired(), Length(max=32)])
    level = SelectField(_l("Level"), choices=LEVEL_CHOICES, validators=[DataRequired()])
    district = StringField(_l("District"), validators=[Optional(), Length(max=80)])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=300)])


class HospitalForm(FlaskForm):
    name = StringField(_l("Name of the hospital"), validators=[DataRequired(), Length(max=120)])


class AgreementForm(FlaskForm):
    school_id = SelectField(_l("School"), coerce=int, validators=[DataRequired()])
    hospital_id = SelectField(_l("Hospital"), coerce=int, validators=[DataRequired()])
    signed_on = DateField(_l("Signed on"), validators=[DataRequired()])
    expires_on = DateField(_l("Expires on"), validators=[DataRequired()])


class RenewForm(FlaskForm):
    expires_on = DateField(_l("New expiry date"), validators=[DataRequired()])


class ClassForm(FlaskForm):
    academic_year = SelectField(_l("Academic year"), validators=[DataRequired()])
    grade = IntegerField(_l("Grade (1–16: primary 1–6, middle 7–9, high 10–12, university 13–16)"),
                         validators=[InputRequired(), NumberRange(min=1, max=16)])
    name = StringField(_l("Name of the class"), validators=[DataRequired(), Length(max=40)])
