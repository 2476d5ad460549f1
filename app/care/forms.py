from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

RISK_CHOICES = [("low", _l("Low")), ("moderate", _l("Moderate")), ("high", _l("High")), ("critical", _l("Critical"))]


class ReferralForm(FlaskForm):
    hospital_id = SelectField(_l("Partner hospital"), coerce=int, validators=[DataRequired()])
    urgency = SelectField(_l("Urgency"), choices=[c for c in reversed(RISK_CHOICES)], validators=[DataRequired()])
    reason = TextAreaField(_l("Reason for referral"), validators=[DataRequired(), Length(max=4000)])
    alert_id = SelectField(_l("Related alert"), coerce=int, validators=[Optional()])


class AssessmentForm(FlaskForm):
    assessed_on = DateField(_l("Date of assessment"), validators=[DataRequired()])
    setting = SelectField(_l("Setting"), choices=[("clinic", _l("Hospital clinic")), ("on_site", _l("On site at the school"))])
    findings = TextAreaField(_l("Findings"), validators=[DataRequired(), Length(max=20000)])
    icd10_code = SelectField(_l("ICD-10 code (optional)"), validators=[Optional()])
    risk_level = SelectField(_l("Risk level"), choices=RISK_CHOICES, validators=[DataRequired()])
    plan = SelectField(_l("Plan"), choices=[("outpatient", _l("Outpatient care")), ("inpatient", _l("Inpatient care")),
                                            ("school_support", _l("School-based support")), ("none", _l("None"))])
    next_review_on = DateField(_l("Next review date"), validators=[Optional()])


class DecisionForm(FlaskForm):
    outcome = SelectField(_l("Decision"), choices=[
        ("cleared", _l("Cleared to return")),
        ("cleared_with_conditions", _l("Cleared with conditions")),
        ("not_cleared", _l("Not cleared")),
    ])
    conditions = TextAreaField(_l("Conditions"), validators=[Optional(), Length(max=4000)])
    review_on = DateField(_l("Review date"), validators=[Optional()])
    share_diagnosis = BooleanField(_l("The diagnosis may be shared with the school and guardian"))


class FollowUpForm(FlaskForm):
    note = TextAreaField(_l("What was done and observed"), validators=[DataRequired(), Length(max=4000)])
    next_due_on = DateField(_l("Next contact due (leave empty when no further contact is needed)"), validators=[Optional()])


class DeclineForm(FlaskForm):
    reason = TextAreaField(_l("Reason for declining"), validators=[DataRequired(), Length(max=2000)])


ICD_CODE_PATTERN = Regexp(r"^F\d{2}(\.\d{1,2})?$")
