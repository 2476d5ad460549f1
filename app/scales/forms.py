from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.scales.services import LEVEL_CHOICES, MAX_COMPARED_WITH, MAX_NOTE


class TextReviewForm(FlaskForm):
    decision = RadioField(_l("Review decision"),
                          choices=[("approved", _l("Matches its source: may be used in screenings")),
                                   ("rejected", _l("Does not match its source: may not be used"))],
                          validators=[InputRequired(message=_l("Choose a decision."))])
    compared_with = TextAreaField(_l("Source document you compared it with"), validators=[
        DataRequired(message=_l("Name the document you compared the text with.")), Length(max=MAX_COMPARED_WITH)])
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=MAX_NOTE)])
    confirm = BooleanField(_l("I compared every item, the instructions and every answer option with this document."),
                           validators=[DataRequired(message=_l("Confirm that you compared the whole text."))])


class ProfileChoiceForm(FlaskForm):
    scale_code = HiddenField(validators=[DataRequired()])
    school_level = SelectField(_l("School level"), choices=[(level, level) for level in LEVEL_CHOICES],
                               validators=[DataRequired()])
    profile = SelectField(_l("Cut-off profile"), validate_choice=False, validators=[DataRequired()])
