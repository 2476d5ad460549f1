"""What each kind of notice is called, in the reader's language (the inbox, mail and every channel)."""
from flask_babel import lazy_gettext as _l

KIND_LABELS = {
    "alert_critical_opened": _l("Critical alert opened"),
    "alert_high_opened": _l("High alert opened"),
    "alert_escalated": _l("Alert overdue: escalated to you"),
    "referral_sent": _l("New referral"),
    "referral_accepted": _l("Referral accepted"),
    "referral_declined": _l("Referral declined"),
    "referral_assessed": _l("Assessment recorded for a referral"),
    "referral_closed": _l("Return-to-school decision issued"),
    "referral_updated": _l("Referral updated"),
    "channel_test": _l("Test message"),
    "account_password_reset": _l("Your password was reset by an administrator"),
    "account_second_factor_reset": _l("Your second factor was reset by an administrator"),
}


def kind_label(kind):
    return KIND_LABELS.get(kind, kind)
