"""The student report: identity, scores over time as a chart, the timeline, and return-to-school decisions."""
from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from reportlab.lib.units import mm
from reportlab.platypus import Spacer

from app.core import clock
from app.reports.pdf.common import build, data_table, para, score_chart, styles
from app.scales.labels import response_note
from app.scales.services import registry
from app.web import BAND_LABELS, OUTCOME_LABELS, REASON_LABELS, RISK_LABELS, STATUS_LABELS, label, local_time


def _summary(entry, show_clinical):
    o = entry.obj
    if entry.kind == "screening":
        score = o.score
        return f"{o.scale_code}: {score.total if score and score.total is not None else '–'} · " \
               f"{label(BAND_LABELS, score.band) if score else ''} · {label(RISK_LABELS, score.risk) if score else ''}" \
               f" · {response_note(o)}"
    if entry.kind == "alert":
        return f"{label(RISK_LABELS, o.level)} · {label(REASON_LABELS, o.reason)} · {label(STATUS_LABELS, o.status)}"
    if entry.kind == "referral":
        return f"{o.case_number} · {label(RISK_LABELS, o.urgency)} · {label(STATUS_LABELS, o.status)}"
    if entry.kind == "assessment":
        text = f"{label(RISK_LABELS, o.risk_level)} · {o.icd10_code or ''}"
        return text + (f" · {o.findings}" if show_clinical else "")
    if entry.kind == "decision":
        text = f"{label(OUTCOME_LABELS, o.outcome)}" + (" · " + _("Review") + f" {o.review_on}" if o.review_on else "")
        return text + (f" · {o.conditions}" if show_clinical and o.conditions else "")
    if entry.kind == "follow_up":
        return (_("Done") if o.done_at else _("Due")) + f" {o.due_on}" + (f" · {o.note}" if show_clinical and o.note else "")
    return _register_summary(entry, show_clinical)


def _register_summary(entry, show_clinical):
    """Interviews, warning levels, reviews and plans (app/register): the level and dates; free text to clinicians."""
    from app.register.labels import CHANGE_LABELS, LEVEL_LABELS, OWNER_LABELS

    o = entry.obj
    if entry.kind == "interview":
        return f"{o.interviewed_on} · {label(LEVEL_LABELS, o.level.value)}" + (f" · {o.judgement}" if show_clinical else "")
    if entry.kind == "warning":
        return (f"{label(CHANGE_LABELS, o.kind.value)}: {label(LEVEL_LABELS, o.from_level.value)} → "
                f"{label(LEVEL_LABELS, o.to_level.value)}" + (f" · {o.reason}" if show_clinical else ""))
    if entry.kind == "review":
        return f"{o.reviewed_on}" + (f" · {o.note}" if show_clinical else "")
    if entry.kind == "plan":
        tasks = "; ".join(label(OWNER_LABELS, t.owner.value) + (f": {t.action}" if show_clinical else "") for t in o.tasks)
        return (f"{_('version')} {o.version} · {', '.join(o.review_dates)} · {tasks}"
                + (f" · {o.goals}" if show_clinical else ""))
    return ""


KIND_LABELS = {"screening": _l("Screening"), "alert": _l("Alert"), "referral": _l("Referral"),
               "assessment": _l("Assessment"), "decision": _l("Return-to-school decision"), "follow_up": _l("Follow-up"),
               "interview": _l("Second-stage interview"), "warning": _l("Warning level"),
               "review": _l("Warning level review"), "plan": _l("Plan (一生一策)")}


def student_report(student, file_view, show_clinical: bool) -> bytes:
    """`file_view`: the entries the reader may see (app.files.handover.file_for), as on the file page."""
    st = styles()
    timeline = file_view.entries
    enrollment = student.current_enrollment()
    title = _("Student report") + f" · {student.name}"
    story = [para(title, st["title"]),
             para(_("Student number") + f": {student.student_number} · "
                  + _("School") + f": {enrollment.school.name if enrollment else '–'} · "
                  + _("Class") + f": {enrollment.class_group.name if enrollment and enrollment.class_group else '–'} · "
                  + _("Generated") + f": {local_time(clock.now())}", st["body"]), Spacer(1, 4 * mm)]

    screenings = sorted((e.obj for e in timeline if e.kind == "screening"), key=lambda r: r.submitted_at)
    if screenings:
        dates = sorted({local_time(r.submitted_at, "%Y-%m-%d") for r in screenings})
        series = {}
        for r in screenings:
            if r.score and r.score.total is not None:
                series.setdefault(r.scale_code, dict())[local_time(r.submitted_at, "%Y-%m-%d")] = r.score.total
        story.append(para(_("Scores over time"), st["h2"]))
        for code, values in sorted(series.items()):
            scale = registry().get(code)
            story.append(score_chart(f"{code} · " + _("Total score per screening"), dates,
                                     [values.get(d) for d in dates], scale, str(get_locale())))
    decision = next((e.obj for e in timeline if e.kind == "decision"), None)  # the timeline is newest first
    story.append(para(_("Return-to-school decision"), st["h2"]))
    if decision:
        text = f"{label(OUTCOME_LABELS, decision.outcome)} · {local_time(decision.created_at, '%Y-%m-%d')}"
        if decision.review_on:
            text += " · " + _("Review") + f" {decision.review_on}"
        if show_clinical and decision.conditions:
            text += " · " + _("Conditions") + f": {decision.conditions}"
        story.append(para(text, st["body"]))
    else:
        story.append(para(_("No decisions yet."), st["body"]))
    story.append(para(_("Timeline"), st["h2"]))
    if file_view.hidden_count:
        story.append(para(_('This student has %(count)s earlier entries from %(schools)s that are not shown: the '
                            'guardian has not consented to hand the file over.', count=file_view.hidden_count,
                            schools="、".join(file_view.hidden_schools)), st["body"]))
    rows = [[local_time(e.at), e.school_name, str(KIND_LABELS[e.kind]), _summary(e, show_clinical)] for e in timeline]
    story.append(data_table([_("When"), _("School"), _("Event"), _("Details")], rows or [["–", "", "", ""]],
                            col_widths=[28 * mm, 35 * mm, 30 * mm, 87 * mm], font_size=8))
    return build(story, title, kind="student report")
