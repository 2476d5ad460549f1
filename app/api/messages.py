"""User-facing messages for screening errors, in the user's language."""
from flask_babel import lazy_gettext as _l

SCREENING_MESSAGES = {
    "unknown_code": _l("This session code is not valid. Check the code on the board and try again."),
    "campaign_closed": _l("This screening session is closed. Ask your teacher."),
    "details_do_not_match": _l("These details do not match a student of this session. Check your student number and birth date."),
    "idempotency_key_reused": _l("This submission key was already used. Reload the page and try again."),
    "scale_not_in_campaign": _l("This questionnaire is not part of this session."),
    "scale_version_mismatch": _l("This questionnaire has been updated. Reload the page to get the current version."),
    "already_submitted": _l("You have already submitted this questionnaire."),
    "not_enrolled": _l("You are not enrolled in a class of this session. Ask your teacher."),
    "invalid_answers": _l("Some answers are missing or not valid."),
    "invalid_request": _l("The request is not valid."),
    "bad_token": _l("Your session has ended. Enter the session code again."),
    "session_ended": _l("Your teacher ended this session. Enter the session code again."),
    "try_again": _l("Your answers could not be saved just now. They are kept on this device and sent again automatically."),
    "too_many_attempts": _l("Too many attempts from this device. Wait a moment: the page tries again by itself."),
    "try_again_join": _l("The screening is very busy just now. Wait a moment: the page tries again by itself."),
    "no_screening_consent": _l("Your guardian's consent to screening is not on file. Your teacher can help."),
}


def message_for(code: str) -> str:
    return str(SCREENING_MESSAGES.get(code, SCREENING_MESSAGES["invalid_request"]))
