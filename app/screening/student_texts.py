"""What a school student reads: an age-appropriate title and "你" rather than "您" (issue 17, item 5).

The scale's official title stays in its data file (its content hash is its version) and on staff pages and
reports; only the student page and the student API go through `student_title` and `for_students`.
"""
from flask_babel import lazy_gettext as _l

# Scales whose official title speaks of patients ("患者健康问卷"): the title a student sees instead.
STUDENT_TITLES = {
    "PHQ-9": _l("How I have been feeling (PHQ-9)"),
    "PHQ-2": _l("How I have been feeling, short form (PHQ-2)"),
    "PHQ-A": _l("How I have been feeling, for teenagers (PHQ-A)"),
}
# Words a student page must not use: the polite "您" of adult clinics, and "patient".
ADULT_WORDS = ("您", "患者")


def for_students(text: str | None) -> str | None:
    """The informal "你" of a school, for an instruction, an item or an option written with "您"."""
    return text.replace("您", "你") if text else text


def student_title(scale, locale: str) -> str:
    """The scale's title for a student: its student title when it has one, else its own title in the informal
    form; a centre's title that still says "patient" falls back to the scale's code."""
    title = STUDENT_TITLES.get(scale.code)
    if title is not None:
        return str(title)
    name = for_students(scale.name(locale))
    return scale.code if "患者" in name or "patient" in name.lower() else name
