from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.committee.services import NOTE_MAX

URGENCY_CHOICES = [
    ("this_week", _l("Someone should talk with them this week")),
    ("soon", _l("Please talk with them today")),
    ("danger", _l("They may be in danger now")),
]


class SignInForm(FlaskForm):
    student_number = StringField(_l("Student number"), validators=[DataRequired(), Length(max=32)])
    birth_date = DateField(_l("Birth date"), validators=[DataRequired(message=_l("Enter your birth date."))])


class ConcernForm(FlaskForm):
    """Who (a classmate, by name), what the member noticed, how urgent."""

    classmate = SelectField(_l("Which classmate"), validate_choice=False,  # the service checks the class
                            validators=[DataRequired(message=_l("Choose the classmate."))])
    noticed = TextAreaField(_l("What did you notice?"), validators=[
        DataRequired(message=_l("Write what you noticed.")), Length(max=NOTE_MAX)])
    urgency = RadioField(_l("How urgent is it?"), choices=URGENCY_CHOICES,
                         validators=[DataRequired(message=_l("Choose how urgent it is."))])


class AppointForm(FlaskForm):
    student_number = StringField(_l("Student number"), validators=[DataRequired(), Length(max=32)])
