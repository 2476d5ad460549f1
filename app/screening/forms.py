from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CampaignForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)])
    class_ids = MultiCheckboxField(_l("Classes"), coerce=int, validators=[DataRequired(message=_l("Choose at least one class."))])
    scale_codes = MultiCheckboxField(_l("Questionnaires"), validators=[DataRequired(message=_l("Choose at least one questionnaire."))])
    open_hours = IntegerField(_l("Open for (hours)"), default=2, validators=[DataRequired(), NumberRange(min=1, max=24 * 14)])
    # Asked only when no chosen questionnaire can open a critical alert (see screening.views.new_campaign).
    without_crisis_questions = BooleanField(_l("Start without questions on suicide or self-harm"))
