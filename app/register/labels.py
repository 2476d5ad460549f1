"""What staff read for the register's codes: warning levels, plan task owners, kinds of change, duties."""
from flask_babel import lazy_gettext as _l

LEVEL_CHOICES = [("red", _l("Red (I)")), ("orange", _l("Orange (II)")), ("yellow", _l("Yellow (III)")),
                 ("none", _l("No warning level"))]
OWNER_CHOICES = [("psychology_teacher", _l("Psychology teacher")), ("homeroom", _l("Homeroom teacher")),
                 ("guardian", _l("Guardian")), ("hospital", _l("Hospital"))]
LEVEL_LABELS, OWNER_LABELS = dict(LEVEL_CHOICES), dict(OWNER_CHOICES)
CHANGE_LABELS = {"set": _l("Set"), "raised": _l("Raised"), "lowered": _l("Lowered"), "lifted": _l("Lifted"),
                 "confirmed": _l("Confirmed")}
DUTY_LABELS = {"review": _l("Reviewed on time"), "referral": _l("Referral, or a documented reason not to refer"),
               "guardian": _l("Guardian informed")}
