from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ScaleChoiceField(MultiCheckboxField):
    """The questionnaires of a new screening: only the texts offered (screening.views._campaign_form) are accepted."""

    def pre_validate(self, form):
        offered = {value for value, _label in self.choices}
        if any(value not in offered for value in self.data or ()):
            raise ValidationError(_l("This questionnaire text cannot be used in a screening: it is not loaded, or no "
                                     "doctor has approved it."))


class CampaignForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)])
    class_ids = MultiCheckboxField(_l("Classes"), coerce=int, validators=[DataRequired(message=_l("Choose at least one class."))])
    scale_codes = ScaleChoiceField(_l("Questionnaires"), validators=[DataRequired(message=_l("Choose at least one questionnaire."))])
    open_hours = IntegerField(_l("Open for (hours)"), default=2, validators=[DataRequired(), NumberRange(min=1, max=24 * 14)])
    # Asked only when no chosen questionnaire can open a critical alert (see screening.views.new_campaign).
    without_crisis_questions = BooleanField(_l("Start without questions on suicide or self-harm"))
