"""Guardian consent (知情同意): recording, withdrawing, and asking whether it is in force.

PIPL treats the data of a child under 14 and all health data as sensitive personal information that needs
the guardian's separate consent. A psychological screening produces health data at every age, so screening
consent is required for every student, not only those under 14. The newest Consent row per (student, kind)
is in force; withdrawal appends a row with granted=False.

Hand-over rules (who sees entries made at another school):
- handover_school: a psychology teacher of the student's current school sees entries made at the student's
  earlier schools only while this consent is in force; without it the file shows the teacher's own school's
  entries and a notice that an earlier file exists and how to obtain consent.
- handover_hospital: a doctor always sees what the referring school sent with the referral (the referral is
  the hand-over for care: that school's entries) and the hospital's own assessments and decisions; entries of
  other, earlier schools only while this consent is in force.
"""
from sqlalchemy import and_, bindparam, exists, select
from sqlalchemy.orm import aliased

from app.audit import services as audit
from app.core import clock
from app.extensions import db
from app.students.models import Consent, ConsentKind


class ConsentError(ValueError):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def in_force(student_id_col, kind: ConsentKind):
    """SQL condition: the newest consent of `kind` for the student in `student_id_col` is a grant."""
    newer = aliased(Consent)
    return exists().where(
        Consent.student_id == student_id_col, Consent.kind == kind, Consent.granted.is_(True),
        ~exists().where(and_(newer.student_id == Consent.student_id, newer.kind == Consent.kind, newer.id > Consent.id)),
    )


def has_consent(student_id: int, kind: ConsentKind) -> bool:
    return bool(db.session.scalar(select(in_force(student_id, kind))))


_CONSENTS = (select(Consent.student_id, Consent.granted)
             .where(Consent.student_id.in_(bindparam("ids", expanding=True)), Consent.kind == bindparam("kind"))
             .order_by(Consent.student_id, Consent.id))


def students_with_consent(student_ids, kind: ConsentKind, connection=None) -> set[int]:
    """The ids among `student_ids` whose consent of `kind` is in force (one query per 5,000 ids).

    `connection`: read there instead of the session (the submission writer reads before its transaction)."""
    ids = list(student_ids)
    found = set()
    execute = (connection or db.session).execute
    for start in range(0, len(ids), 5000):
        rows = execute(_CONSENTS, {"ids": ids[start:start + 5000], "kind": kind})
        latest = {}
        for student_id, granted in rows:
            latest[student_id] = granted
        found |= {sid for sid, granted in latest.items() if granted}
    return found


def consent_history(student_id: int):
    return db.session.scalars(select(Consent).where(Consent.student_id == student_id)
                              .order_by(Consent.recorded_at.desc(), Consent.id.desc())).all()


def current_consents(student_id: int) -> dict:
    """{kind: newest Consent or None} for every kind."""
    current = {kind: None for kind in ConsentKind}
    for consent in db.session.scalars(select(Consent).where(Consent.student_id == student_id).order_by(Consent.id)):
        current[consent.kind] = consent
    return current


def record_consent(student, kind: ConsentKind, granted: bool, note: str, by):
    """Append the guardian's decision as recorded by `by` (a psychology teacher or the admin)."""
    if kind not in ConsentKind:
        raise ConsentError("bad_kind")
    consent = Consent(student_id=student.id, kind=ConsentKind(kind), granted=bool(granted),
                      recorded_by_id=by.id, recorded_at=clock.now(), note=(note or "").strip()[:200])
    db.session.add(consent)
    db.session.flush()
    audit.record(by, "consent_granted" if granted else "consent_withdrawn", "consent", consent.id, student.id,
                 detail={"kind": consent.kind.value})
    return consent
