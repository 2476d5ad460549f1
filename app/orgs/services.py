"""Schools, hospitals, cooperation agreements and classes, as the district admin sets them up.

Nothing is deleted: a school is closed (its files stay; it starts no campaign, imports no roster and gets no new
account), an agreement ends (at its expiry date, or early with a reason; the day it is ended is its last day in
force, so new referrals stop the next day). Every change is audited; services flush, the request commits.
"""
import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from app.audit import services as audit
from app.core import clock
from app.extensions import db
from app.orgs.models import ClassGroup, Hospital, Partnership, School, SchoolLevel
from app.orgs.school_year import import_years

EXPIRY_WARNING_DAYS = 60    # the agreements page marks agreements whose last day is this close
NOTICE_AFTER_END_DAYS = 30  # both sides are told of an ended agreement this long after its last day
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]{1,31}$")


class OrgError(ValueError):
    """A rule about organisations was broken; `code` names it (the view words it)."""

    def __init__(self, code, **params):
        super().__init__(code)
        self.code = code
        self.params = params


def _clean(text, limit, error):
    value = (text or "").strip()
    if not value or len(value) > limit:
        raise OrgError(error)
    return value


# --- schools ------------------------------------------------------------------------------------------

def _school_fields(data, school=None):
    name = _clean(data.get("name"), 120, "bad_name")
    code = (data.get("code") or "").strip().upper()
    if not CODE_RE.match(code):
        raise OrgError("bad_code")
    try:
        level = SchoolLevel(data.get("level"))
    except ValueError as exc:
        raise OrgError("bad_level") from exc
    district = (data.get("district") or "").strip()
    if len(district) > 80:
        raise OrgError("bad_district")
    others = select(School.id).where(School.id != (school.id if school else -1))
    if db.session.scalar(others.where(func.lower(School.name) == name.lower()).limit(1)) is not None:
        raise OrgError("school_name_taken")
    if db.session.scalar(others.where(School.code == code).limit(1)) is not None:
        raise OrgError("school_code_taken")
    return {"name": name, "code": code, "level": level, "district": district}


def create_school(data, *, by) -> School:
    school = School(**_school_fields(data))
    db.session.add(school)
    db.session.flush()
    audit.record(by, "school_created", "school", school.id, detail={"code": school.code})
    return school


def update_school(school, data, *, by):
    fields = _school_fields(data, school)
    changed = sorted(k for k, v in fields.items() if getattr(school, k) != v)
    for key, value in fields.items():
        setattr(school, key, value)
    db.session.flush()
    audit.record(by, "school_updated", "school", school.id, detail={"changed": changed})


def close_school(school, reason, *, by):
    """The school stops working in XinQiao from today; its students' files stay, readable as before."""
    if school.closed_on is not None:
        raise OrgError("already_closed")
    school.closed_on = clock.today()
    school.closed_reason = _clean(reason, 300, "reason_required")
    audit.record(by, "school_closed", "school", school.id)


def reopen_school(school, *, by):
    if school.closed_on is None:
        raise OrgError("not_closed")
    school.closed_on = school.closed_reason = None
    audit.record(by, "school_reopened", "school", school.id)


def require_open(school):
    """Raise unless the school is open: a closed school gets no new campaign, roster, class or account."""
    if school is not None and school.closed_on is not None:
        raise OrgError("school_closed")


# --- hospitals -------------------------------------------------------------------------------------------

def _hospital_name(data, hospital=None):
    name = _clean(data.get("name"), 120, "bad_name")
    taken = db.session.scalar(select(Hospital.id).where(func.lower(Hospital.name) == name.lower(),
                                                        Hospital.id != (hospital.id if hospital else -1)).limit(1))
    if taken is not None:
        raise OrgError("hospital_name_taken")
    return name


def create_hospital(data, *, by) -> Hospital:
    hospital = Hospital(name=_hospital_name(data))
    db.session.add(hospital)
    db.session.flush()
    audit.record(by, "hospital_created", "hospital", hospital.id)
    return hospital


def update_hospital(hospital, data, *, by):
    hospital.name = _hospital_name(data, hospital)
    audit.record(by, "hospital_updated", "hospital", hospital.id)


# --- cooperation agreements ------------------------------------------------------------------------------

def _overlapping(school_id, hospital_id, first, last, exclude_id=None):
    """Another agreement between the same school and hospital in force on some day of [first, last]."""
    query = select(Partnership).where(
        Partnership.school_id == school_id, Partnership.hospital_id == hospital_id,
        Partnership.signed_on <= last, Partnership.expires_on >= first,
        (Partnership.ended_on.is_(None)) | (Partnership.ended_on >= first))
    if exclude_id is not None:
        query = query.where(Partnership.id != exclude_id)
    return db.session.scalar(query.limit(1))


def create_agreement(school, hospital, signed_on: date, expires_on: date, *, by) -> Partnership:
    if expires_on <= signed_on:
        raise OrgError("expires_before_signed")
    if expires_on < clock.today():
        raise OrgError("already_expired")
    if _overlapping(school.id, hospital.id, signed_on, expires_on) is not None:
        raise OrgError("overlaps")
    agreement = Partnership(school_id=school.id, hospital_id=hospital.id, signed_on=signed_on, expires_on=expires_on)
    db.session.add(agreement)
    db.session.flush()
    audit.record(by, "agreement_signed", "partnership", agreement.id,
                 detail={"school_id": school.id, "hospital_id": hospital.id, "signed_on": signed_on.isoformat(),
                         "expires_on": expires_on.isoformat()})
    return agreement


def renew_agreement(agreement, new_expiry: date, *, by):
    """The agreement runs on to `new_expiry` (an expired one is in force again from today)."""
    if agreement.ended_on is not None:
        raise OrgError("ended_cannot_renew")
    if new_expiry <= agreement.expires_on or new_expiry <= clock.today():
        raise OrgError("renewal_not_later")
    if _overlapping(agreement.school_id, agreement.hospital_id, agreement.expires_on + timedelta(days=1), new_expiry,
                    exclude_id=agreement.id) is not None:
        raise OrgError("overlaps")
    old = agreement.expires_on
    agreement.expires_on = new_expiry
    audit.record(by, "agreement_renewed", "partnership", agreement.id,
                 detail={"from": old.isoformat(), "to": new_expiry.isoformat()})


def end_agreement(agreement, reason, *, by):
    """End early: today is the last day in force; from tomorrow the school refers to it no more."""
    today = clock.today()
    if agreement.ended_on is not None or agreement.expires_on < today:
        raise OrgError("not_in_force")
    agreement.end_reason = _clean(reason, 300, "reason_required")
    agreement.ended_on = max(today, agreement.signed_on)
    agreement.ended_by_id = by.id
    audit.record(by, "agreement_ended", "partnership", agreement.id, detail={"last_day": agreement.ended_on.isoformat()})


AGREEMENT_STATES = ("upcoming", "in_force", "expiring", "ended_early", "expired")


def agreement_state(agreement, today=None) -> str:
    today = today or clock.today()
    if agreement.signed_on > today:
        return "upcoming"
    if agreement.last_day < today:
        return "ended_early" if agreement.ended_on is not None and agreement.ended_on < agreement.expires_on else "expired"
    if agreement.last_day <= today + timedelta(days=EXPIRY_WARNING_DAYS):
        return "expiring"
    return "in_force"


@dataclass(frozen=True)
class AgreementNotice:
    """What a school or a hospital is told about one of its agreements that ends soon or has just ended."""
    other: str          # the hospital's name (to a school) or the school's name (to a hospital)
    last_day: date
    ended_early: bool
    over: bool          # the last day has passed: no new referrals any more


def agreement_notices(*, school_id=None, hospital_id=None) -> list[AgreementNotice]:
    """Agreements of a school (or a hospital) whose last day is within EXPIRY_WARNING_DAYS ahead or
    NOTICE_AFTER_END_DAYS behind, unless another agreement of the same pair carries on after it."""
    today = clock.today()
    column = Partnership.school_id if school_id is not None else Partnership.hospital_id
    rows = db.session.scalars(select(Partnership).where(column == (school_id if school_id is not None else hospital_id))
                              .order_by(Partnership.expires_on)).all()
    notices = []
    for agreement in rows:
        last = agreement.last_day
        if agreement.signed_on > today or not today - timedelta(days=NOTICE_AFTER_END_DAYS) <= last \
                <= today + timedelta(days=EXPIRY_WARNING_DAYS):
            continue
        if _carried_on(agreement, rows):
            continue
        notices.append(AgreementNotice(
            other=agreement.hospital.name if school_id is not None else agreement.school.name, last_day=last,
            ended_early=agreement.ended_on is not None and agreement.ended_on < agreement.expires_on, over=last < today))
    return notices


def _carried_on(agreement, rows) -> bool:
    """Another agreement of the same school and hospital is in force the day after this one's last day."""
    next_day = agreement.last_day + timedelta(days=1)
    return any(o.id != agreement.id and (o.school_id, o.hospital_id) == (agreement.school_id, agreement.hospital_id)
               and o.signed_on <= next_day <= o.last_day for o in rows)


# --- classes -----------------------------------------------------------------------------------------------

def create_class(school, academic_year: str, grade: int, name: str, *, by) -> ClassGroup:
    """A class of this academic year or the next (what a roster may be filed in)."""
    require_open(school)
    if academic_year not in import_years(clock.today()):
        raise OrgError("bad_year")
    if not isinstance(grade, int) or not 1 <= grade <= 16:
        raise OrgError("bad_grade")
    name = _clean(name, 40, "bad_class_name")
    exists = db.session.scalar(select(ClassGroup.id).where(
        ClassGroup.school_id == school.id, ClassGroup.academic_year == academic_year, ClassGroup.grade == grade,
        ClassGroup.name == name).limit(1))
    if exists is not None:
        raise OrgError("class_exists")
    class_group = ClassGroup(school_id=school.id, academic_year=academic_year, grade=grade, name=name)
    db.session.add(class_group)
    db.session.flush()
    audit.record(by, "class_created", "class_group", class_group.id,
                 detail={"school_id": school.id, "academic_year": academic_year})
    return class_group
