"""Forms of a person's own channels and of the duty groups."""
import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

# A Chinese mobile number (11 digits from 13…–19…), with or without +86.
MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")
WECOM_USER_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def normalise_address(kind, value):
    """The address as it is stored, or None when it is not one (a mobile number for SMS, a WeCom user id)."""
    value = (value or "").strip().replace(" ", "").replace("-", "") if kind == "sms" else (value or "").strip()
    if kind == "sms":
        match = MOBILE.match(value)
        return match.group(1) if match else None
    return value if WECOM_USER_ID.match(value) else None


ADDRESS_LABELS = {"sms": _l("Mobile number"), "wecom_app": _l("WeCom user id")}


class AddressForm(FlaskForm):
    address = StringField(_l("Mobile number or WeCom user id"), validators=[DataRequired(), Length(max=64)])

    def __init__(self, *args, kind=None, **kwargs):
        super().__init__(*args, **kwargs)
        if kind in ADDRESS_LABELS:
            self.address.label.text = ADDRESS_LABELS[kind]


class CodeForm(FlaskForm):
    code = StringField(_l("The 6-digit code we sent"), validators=[DataRequired(), Length(min=6, max=6)])

    def validate_code(self, field):
        if not field.data.isdigit():
            raise ValidationError(_l("The code has 6 digits."))


class LevelsForm(FlaskForm):
    high = BooleanField(_l("High alerts"))
    referral = BooleanField(_l("Referral changes"))


GROUP_CHANNEL_CHOICES = [("wecom_robot", _l("WeCom group robot")), ("dingtalk_robot", _l("DingTalk group robot")),
                         ("webhook", _l("Webhook into the hospital's or school's own system"))]


class DutyGroupForm(FlaskForm):
    owner = SelectField(_l("School or hospital"), validators=[DataRequired()])
    channel = SelectField(_l("Channel"), choices=GROUP_CHANNEL_CHOICES, validators=[DataRequired()])
    name = StringField(_l("Group name"), validators=[DataRequired(), Length(max=80)])
    url = StringField(_l("Webhook address"), validators=[DataRequired(), Length(max=500)])
    secret = StringField(_l("Signing secret"), validators=[Optional(), Length(max=200)])
    high = BooleanField(_l("High alerts too (critical alerts always)"))

    def validate_url(self, field):
        if not re.match(r"^https?://[^\s/?#]+[^\s]*$", field.data.strip()):
            raise ValidationError(_l("Paste the whole address, starting with https://"))

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if self.channel.data in ("dingtalk_robot", "webhook") and not (self.secret.data or "").strip():
            self.secret.errors = [*self.secret.errors, _l("DingTalk's signed mode and webhooks need their secret.")]
            return False
        return ok
