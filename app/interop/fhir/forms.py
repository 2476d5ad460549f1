from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional


class FhirClientForm(FlaskForm):
    name = StringField(_l("Name of the hospital's system"), validators=[DataRequired(), Length(max=80)])
    hospital_id = SelectField(_l("Hospital"), coerce=int, validators=[DataRequired()])


class BulkExportForm(FlaskForm):
    school_year = StringField(_l("School year (e.g. 2026-2027; empty: everything)"),
                              validators=[Optional(), Length(max=9)])
