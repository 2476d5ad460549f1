"""The crisis lines a student sees at once after an answer that signals danger: on the student page and in the API.

The deploying mental-health centre adds its city's own lines with LOCAL_CRISIS_LINES, written
"number=name;number=name" (for example "010-82951332=北京心理危机研究与干预中心 24小时热线"). They are listed first:
the centre staffs them and knows its students. The national lines and 120 always follow. A malformed value stops
the start-up, so that a typo never silently drops a line a student in danger would have called.
"""
import re

from flask import current_app
from flask_babel import lazy_gettext as _l

NATIONAL_LINES = (
    ("12355", _l("Youth service hotline (青少年服务台), free")),
    ("12356", _l("Psychological aid hotline (心理援助热线), 24 hours")),
)
EMERGENCY_LINE = ("120", _l("If you are in danger right now, call 120"))
_NUMBER = re.compile(r"\+?[0-9][0-9 -]{1,22}[0-9]")


def parse_local_lines(text: str | None) -> list[tuple[str, str]]:
    """'number=name;number=name' → [(number, name)]; ValueError naming the bad part."""
    lines = []
    for part in (text or "").split(";"):
        if not part.strip():
            continue
        number, sep, name = part.partition("=")
        number, name = number.strip(), name.strip()
        if not sep or not _NUMBER.fullmatch(number) or not name or len(name) > 80:
            raise ValueError(f"LOCAL_CRISIS_LINES: {part.strip()!r} is not 'number=name' (digits, spaces, dashes, "
                             f"an optional leading +; a name of at most 80 characters)")
        lines.append((number, name))
    return lines


def init_app(app):
    parse_local_lines(app.config.get("LOCAL_CRISIS_LINES"))  # fail at start-up, not when a student needs it


def lines() -> list[dict]:
    """Local lines, then the national ones, then 120: each {"number", "name", "tel", "emergency"} in the request's
    language."""
    local = parse_local_lines(current_app.config.get("LOCAL_CRISIS_LINES"))
    listed = [(number, name, False) for number, name in local + list(NATIONAL_LINES)] + [(*EMERGENCY_LINE, True)]
    return [{"number": number, "name": str(name), "tel": re.sub(r"[ -]", "", number), "emergency": emergency}
            for number, name, emergency in listed]
