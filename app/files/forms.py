"""Break-glass: a district admin states why the student's clinical text must be read now."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

BREAK_GLASS_MIN_REASON = 20


class BreakGlassForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for emergency access"),
        validators=[DataRequired(), Length(min=BREAK_GLASS_MIN_REASON, max=1000,
                                           message=_l("Give a reason of at least %(min)d characters.", min=BREAK_GLASS_MIN_REASON))],
    )
