"""Forms of the second stage, the register and the plan."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, FieldList, FormField, IntegerField, RadioField, SelectField, \
    SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.register import factors
from app.register.labels import LEVEL_CHOICES, OWNER_CHOICES


class Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _choices(mapping):
    return list(mapping.items())


class InterviewForm(FlaskForm):
    interviewed_on = DateField(_l("Date of the interview"), validators=[DataRequired()])
    risk_factors = Checkboxes(_l("Risk factors"), choices=_choices(factors.RISK_FACTORS), validators=[Optional()])
    protective_factors = Checkboxes(_l("Protective factors"), choices=_choices(factors.PROTECTIVE_FACTORS),
                                    validators=[Optional()])
    suicidal_thoughts = RadioField(_l("Frequency of suicidal thoughts"), choices=_choices(factors.SUICIDAL_THOUGHTS),
                                   validators=[InputRequired()])
    suicide_plan = RadioField(_l("Suicide plan"), choices=_choices(factors.SUICIDE_PLAN), validators=[InputRequired()])
    past_behaviour = Checkboxes(_l("Past behaviour"), choices=_choices(factors.PAST_BEHAVIOUR), validators=[Optional()])
    symptoms = Checkboxes(_l("Symptoms"), choices=_choices(factors.SYMPTOMS), validators=[Optional()])
    guardian_interviewed = BooleanField(_l("The guardian was interviewed"))
    safety_plan_made = BooleanField(_l("A safety plan was made with the student"))
    disposition = RadioField(_l("Disposition"), choices=_choices(factors.DISPOSITIONS), validators=[InputRequired()])
    judgement = TextAreaField(_l("Your judgement"), validators=[DataRequired(), Length(max=8000)])
    notes = TextAreaField(_l("Interview notes (optional)"), validators=[Optional(), Length(max=20000)])
    level = RadioField(_l("Warning level"), choices=LEVEL_CHOICES, validators=[InputRequired()])
    level_reason = TextAreaField(_l("Reason for this level"), validators=[DataRequired(), Length(max=4000)])


class ReviewForm(FlaskForm):
    reviewed_on = DateField(_l("Date of the review"), validators=[DataRequired()])
    note = TextAreaField(_l("What the review found"), validators=[DataRequired(), Length(max=8000)])
    level = SelectField(_l("Warning level after the review"), choices=LEVEL_CHOICES, validators=[DataRequired()])
    reason = TextAreaField(_l("Reason for a change of level"), validators=[Optional(), Length(max=4000)])


class DutiesForm(FlaskForm):
    guardian_informed_on = DateField(_l("Guardian informed on"), validators=[Optional()])
    no_referral_reason = TextAreaField(_l("Reason not to refer to the hospital"), validators=[Optional(), Length(max=4000)])


class TaskForm(FlaskForm):
    class Meta:
        csrf = False

    # Checked by the service, for rows with a task only (empty rows of the form are left out).
    owner = SelectField(_l("Who"), choices=OWNER_CHOICES, validate_choice=False)
    action = TextAreaField(_l("Does what"), validators=[Optional(), Length(max=2000)])
    due_on = DateField(_l("By"), validators=[Optional()])


class PlanForm(FlaskForm):
    goals = TextAreaField(_l("Goals"), validators=[DataRequired(), Length(max=8000)])
    review_1 = DateField(_l("First review"), validators=[DataRequired()])
    review_2 = DateField(_l("Second review"), validators=[Optional()])
    review_3 = DateField(_l("Third review"), validators=[Optional()])
    tasks = FieldList(FormField(TaskForm), min_entries=4, max_entries=12)


class SettingsForm(FlaskForm):
    interview_days = IntegerField(_l("Days to interview after a positive screen"), validators=[InputRequired(), NumberRange(1, 365)])
    red_review_days = IntegerField(_l("Days between reviews, red"), validators=[InputRequired(), NumberRange(1, 365)])
    orange_review_days = IntegerField(_l("Days between reviews, orange"), validators=[InputRequired(), NumberRange(1, 365)])
    yellow_review_days = IntegerField(_l("Days between reviews, yellow"), validators=[InputRequired(), NumberRange(1, 365)])
