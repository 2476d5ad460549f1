"""Storing submitted questionnaires: the rules, in one place, for one submission or a batch of them.

A whole class submits within a minute. Each request thread reads the answers and hands the submission to a
writer: the server's writer process (writer_process.py, which stores with Writer.write_batch) or, without
one, a Writer thread in its own process. Submissions are scored before they reach the database (no database work
for that), and the writer stores whatever has queued meanwhile in one transaction: one round of checks, one
multi-row insert per table, one audit append and one commit (one fsync on SQLite) for the batch. The
request is answered only after that commit, so an acknowledged submission is on disk; a request that gets
no answer is retried by the client with the same idempotency key and never stored twice. bench/README.md has the measurements.

`store()` is the only code that decides whether a submission is stored; `submit_response()` in services uses
it for a single submission in the caller's transaction (the demo, commands).
"""
import logging
import os
import queue
import threading
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

import screening_scales
from app.audit import services as audit
from app.core import clock, sqlite_writer
from app.extensions import db
from app.risk import services as risk
from app.screening.models import Campaign, CampaignParticipant, Response, Score, campaign_classes, campaign_open
from app.students.consent import students_with_consent
from app.students.models import ConsentKind, Enrollment

logger = logging.getLogger(__name__)

MAX_BATCH = 64  # submissions per transaction; a bigger class simply takes two commits

class ScreeningError(ValueError):
    """A screening rule was broken. `code` names the rule; the view turns it into a message."""

    def __init__(self, code, item=None):
        super().__init__(code)
        self.code = code
        self.item = item


@dataclass
class Receipt:
    response_id: int
    received_at: datetime
    created: bool
    show_crisis_resources: bool


@dataclass
class Submission:
    """One questionnaire as the student sent it, scored before it reaches the database."""
    campaign_id: int
    student_id: int
    scale_code: str
    scale_version: str
    answers: list
    idempotency_key: str
    started_at: datetime | None
    received_at: datetime
    session_generation: int | None = None  # the student token's (None: not sent through the API)
    scored: bool = False           # score_submission() ran: the fields below are set
    version_ok: bool = False
    scale: object = None           # the screening_scales.Scale of that code and version (one of its texts)
    result: object = None          # screening_scales.ScoreResult (international bands) when the answers are valid
    answer_error: object = None    # screening_scales.AnswerError when an answer is missing or not allowed
    quality_flags: tuple = ()
    outcome: object = None         # Receipt, ScreeningError or another exception
    duplicate_of: object = None    # the earlier submission with the same key in the same batch
    mail_pending: bool = False     # the transaction queued e-mail (a critical alert): send it after answering
    # Set once the submission has its outcome, for a request thread waiting on a writer thread (Writer.submit
    # makes it); None when nobody waits in this process (the writer process answers by on_finish).
    done: threading.Event | None = field(default=None, repr=False)
    on_finish: object = field(default=None, repr=False)  # called with the submission once it has its outcome
    finished: bool = False         # finish() ran: `outcome` is the final answer

    def finish(self, outcome):
        self.outcome, self.finished = outcome, True
        if self.done is not None:
            self.done.set()
        if self.on_finish is not None:
            self.on_finish(self)


def prepare(registry, campaign_id, student_id, scale_code, scale_version, answers, key, started_at,
            received_at=None, waitable=True, session_generation=None) -> Submission:
    """The submission, scored (no database): the writer only decides whether it may be stored."""
    return score_submission(registry, Submission(campaign_id, student_id, scale_code, scale_version, list(answers),
                                                 key, started_at, received_at or clock.now(), session_generation,
                                                 done=threading.Event() if waitable else None))


def score_submission(registry, sub: Submission) -> Submission:
    """Score `sub`'s answers in place; an unknown scale or invalid answers are noted for the rules to refuse."""
    sub.scored = True
    started_at = sub.started_at
    scale = registry.by_version(sub.scale_code, sub.scale_version)  # any text of the scale; the rules check which
    if scale is None:
        return sub  # refused later as scale_not_in_campaign / scale_version_mismatch, in the rules' order
    sub.version_ok, sub.scale = True, scale
    try:
        sub.result = screening_scales.score(scale, sub.answers)
    except screening_scales.AnswerError as exc:
        sub.answer_error = exc
        return sub
    seconds = (sub.received_at - started_at).total_seconds() if started_at else None
    sub.quality_flags = tuple(screening_scales.quality_flags(scale, sub.answers, seconds_taken=seconds))
    return sub


# --- the rules, for a batch, in the caller's transaction ---------------------------------------------------

def _local_date(moment: datetime) -> date:
    return moment.astimezone(clock.LOCAL_TZ).date()


# The batch's questions, built once: a statement built per batch costs more than the query it runs.
_STORED = (select(Response.id, Response.idempotency_key, Response.campaign_id, Response.student_id,
                  Response.submitted_at, Score.risk, Score.flags)
           .outerjoin(Score, Score.response_id == Response.id)
           .where(Response.idempotency_key.in_(bindparam("keys", expanding=True))))
_CAMPAIGNS = (select(Campaign.id, Campaign.school_id, Campaign.scale_codes, Campaign.status, Campaign.opens_at,
                     Campaign.closes_at, Campaign.scale_texts, Campaign.cutoff_profiles)
              .where(Campaign.id.in_(bindparam("campaign_ids", expanding=True))))
_SUBMITTED = (select(Response.campaign_id, Response.student_id, Response.scale_code)
              .where(Response.campaign_id.in_(bindparam("campaign_ids", expanding=True)),
                     Response.student_id.in_(bindparam("student_ids", expanding=True))))
_GENERATIONS = (select(CampaignParticipant.campaign_id, CampaignParticipant.student_id,
                       CampaignParticipant.session_generation)
                .where(CampaignParticipant.campaign_id.in_(bindparam("campaign_ids", expanding=True)),
                       CampaignParticipant.student_id.in_(bindparam("student_ids", expanding=True))))
_ENROLMENTS = (select(campaign_classes.c.campaign_id, Enrollment.student_id, Enrollment.class_group_id,
                      Enrollment.start_date, Enrollment.end_date)
               .join(campaign_classes, campaign_classes.c.class_group_id == Enrollment.class_group_id)
               .where(campaign_classes.c.campaign_id.in_(bindparam("campaign_ids", expanding=True)),
                      Enrollment.student_id.in_(bindparam("student_ids", expanding=True))))


@dataclass
class Facts:
    """What the rules ask of the database about a batch, read in six queries."""
    stored: dict        # idempotency key -> the stored response (id, submitted_at, risk, flags ...)
    campaigns: dict     # campaign id -> (id, school_id, scale_codes, status, opens_at, closes_at, scale_texts,
                        #                 cutoff_profiles)
    submitted: set      # (campaign_id, student_id, scale_code) already stored
    enrolments: dict    # (campaign_id, student_id) -> [(class_group_id, start, end)]
    consenting: set     # student ids whose screening consent is in force
    generations: dict   # (campaign_id, student_id) -> the participant's session generation (0 when none)


def read_facts(connection, subs) -> Facts:
    keys = [s.idempotency_key for s in subs]
    ids = {"campaign_ids": list({s.campaign_id for s in subs}), "student_ids": list({s.student_id for s in subs})}
    stored = {row.idempotency_key: row for row in connection.execute(_STORED, {"keys": keys})}
    campaigns = {row.id: row for row in connection.execute(_CAMPAIGNS, ids)}
    submitted = set(connection.execute(_SUBMITTED, ids).tuples())
    enrolments = {}
    for campaign_id, student_id, class_group_id, start, end in connection.execute(_ENROLMENTS, ids):
        enrolments.setdefault((campaign_id, student_id), []).append((class_group_id, start, end))
    consenting = students_with_consent(ids["student_ids"], ConsentKind.SCREENING, connection=connection)
    generations = {(c, s): g for c, s, g in connection.execute(_GENERATIONS, ids)}
    return Facts(stored, campaigns, submitted, enrolments, consenting, generations)


def _class_on(enrolments, on: date):
    for class_group_id, start, end in enrolments or ():
        if start <= on and (end is None or end > on):
            return class_group_id
    return None


def _decide(subs, facts: Facts):
    """Apply the rules in order to every submission; returns [(submission, campaign, class_group_id)] to store.

    Refused and already-stored submissions get their outcome here. A key seen twice in one batch is stored once.
    """
    stored, campaigns, enrolments, consenting = facts.stored, facts.campaigns, facts.enrolments, facts.consenting
    submitted = set(facts.submitted)  # grows with the batch: the same questionnaire twice in it is stored once
    accepted, first_of_key = [], {}
    for sub in subs:
        sub.outcome, sub.duplicate_of = None, first_of_key.get(sub.idempotency_key)
        if sub.duplicate_of is not None:
            continue
        first_of_key[sub.idempotency_key] = sub
        row = stored.get(sub.idempotency_key)
        if row is not None:
            if row.student_id != sub.student_id or row.campaign_id != sub.campaign_id:
                sub.outcome = ScreeningError("idempotency_key_reused")
            else:
                sub.outcome = Receipt(row.id, row.submitted_at, False,
                                      screening_scales.needs_crisis_resources(row.risk, row.flags))
            continue
        campaign = campaigns.get(sub.campaign_id)
        error = None
        if campaign is None or not campaign_open(campaign, sub.received_at):
            error = ScreeningError("campaign_closed")
        elif sub.session_generation is not None and \
                sub.session_generation != facts.generations.get((sub.campaign_id, sub.student_id), 0):
            error = ScreeningError("session_ended")  # a teacher ended this student's session after the token
        elif sub.scale_code not in campaign.scale_codes:
            error = ScreeningError("scale_not_in_campaign")
        elif not sub.version_ok or not _campaign_text(campaign, sub):
            error = ScreeningError("scale_version_mismatch")
        elif (sub.campaign_id, sub.student_id, sub.scale_code) in submitted:
            error = ScreeningError("already_submitted")
        if error is None:
            class_group_id = _class_on(enrolments.get((sub.campaign_id, sub.student_id)), _local_date(sub.received_at))
            if class_group_id is None:
                error = ScreeningError("not_enrolled")
            elif sub.student_id not in consenting:  # a consent withdrawn during the session stops the next one
                error = ScreeningError("no_screening_consent")
            elif sub.answer_error is not None:
                error = ScreeningError("invalid_answers", item=sub.answer_error.item)
        if error is not None:
            sub.outcome = error
            continue
        submitted.add((sub.campaign_id, sub.student_id, sub.scale_code))
        accepted.append((sub, campaign, class_group_id))
    return accepted


def _campaign_text(campaign, sub) -> bool:
    """Whether the student answered the text the campaign gives (a campaign from before texts were chosen: any)."""
    return campaign.scale_texts is None or sub.scale.text_id == campaign.scale_texts.get(sub.scale_code)


def _banded(sub, campaign):
    """The result banded with the cut-off profile the campaign fixed at launch (no lookup beyond the batch's)."""
    profile = (campaign.cutoff_profiles or {}).get(sub.scale_code, screening_scales.INTERNATIONAL)
    if profile == screening_scales.INTERNATIONAL:
        return sub.result
    try:
        return screening_scales.apply_profile(sub.scale, sub.result, profile)
    except screening_scales.UnknownProfile:  # a release that dropped the profile: the bands, recorded as such
        logger.warning("campaign %s: cut-off profile %s of %s not loaded; international bands used",
                       campaign.id, profile, sub.scale_code)
        return sub.result


_RESPONSES, _SCORES = Response.__table__, Score.__table__
# RETURNING the key as well as the id: asking SQLAlchemy to keep the rows' order instead
# (sort_by_parameter_order) makes it insert one row per statement on SQLite.
_INSERT_RESPONSES = _RESPONSES.insert().returning(_RESPONSES.c.idempotency_key, _RESPONSES.c.id)
_INSERT_SCORES = _SCORES.insert()


def store(subs, facts: Facts | None = None) -> None:
    """Check, store, score, route and audit `subs` in the caller's transaction; every submission's outcome is
    then a Receipt or a ScreeningError. A response, its score, its alert and its audit row are written in the
    same transaction, so the caller's commit stores all of them or none.

    `facts` read before the transaction (the writer reads them outside SQLite's write lock) may be stale by
    the time of the insert: the unique indexes on the key, on (campaign, student, scale) and on open alerts
    then fail the transaction and the writer decides each submission again with facts read inside it.
    """
    connection = db.session.connection()
    accepted = [(sub, campaign, class_group_id, _banded(sub, campaign))
                for sub, campaign, class_group_id in _decide(subs, facts or read_facts(connection, subs))]
    if accepted:
        id_of_key = {key: response_id for key, response_id in connection.execute(_INSERT_RESPONSES, [{
            "campaign_id": sub.campaign_id, "student_id": sub.student_id, "school_id": campaign.school_id,
            "class_group_id": class_group_id, "scale_code": sub.scale_code, "scale_version": sub.scale_version,
            "answers": sub.answers, "quality_flags": list(sub.quality_flags), "started_at": sub.started_at,
            "submitted_at": sub.received_at, "idempotency_key": sub.idempotency_key,
        } for sub, campaign, class_group_id, _r in accepted])}
        ids = [id_of_key[sub.idempotency_key] for sub, _c, _g, _r in accepted]
        connection.execute(_INSERT_SCORES, [{
            "response_id": response_id, "total": result.total, "band": result.band, "risk": result.risk,
            "flags": list(result.flags), "subscales": dict(result.subscales), "scored_at": sub.received_at,
            "cutoff_profile": result.profile,
        } for response_id, (sub, _c, _g, result) in zip(ids, accepted)])
        alert_events = risk.raise_alerts_for_responses(
            [(sub.student_id, campaign.school_id, response_id, result.risk)
             for response_id, (sub, campaign, _g, result) in zip(ids, accepted)])
        audit.record_many([
            dict(actor="student", action="response_submitted", object_type="response", object_id=response_id,
                 student_id=sub.student_id, detail={"scale": sub.scale_code, "risk": result.risk})
            for response_id, (sub, _c, _g, result) in zip(ids, accepted)] + alert_events)
        for response_id, (sub, _c, _g, result) in zip(ids, accepted):
            sub.outcome = Receipt(response_id, sub.received_at, True,
                                  screening_scales.needs_crisis_resources(result.risk, result.flags))
    # A key twice in one batch is one submission: the second gets the first one's answer (created=False).
    for sub in subs:
        first = sub.duplicate_of
        if first is not None and (first.student_id, first.campaign_id) != (sub.student_id, sub.campaign_id):
            sub.outcome = ScreeningError("idempotency_key_reused")
        elif first is not None and isinstance(first.outcome, Receipt):
            sub.outcome = Receipt(first.outcome.response_id, first.outcome.received_at, False,
                                  first.outcome.show_crisis_resources)
        elif first is not None:
            sub.outcome = first.outcome


# --- the writer thread --------------------------------------------------------------------------------------

class NotStored(RuntimeError):
    """Not stored, or stored without the answer reaching the request: the client retries with the same key,
    which stores the submission once or answers with the stored row."""


class SubmissionTimeout(NotStored):
    """The writer did not answer in time."""


def wait_for(sub: Submission, timeout: float) -> Receipt:
    if not sub.done.wait(timeout):
        raise SubmissionTimeout("the submission was not stored in time")
    if isinstance(sub.outcome, BaseException):
        raise sub.outcome
    return sub.outcome


class Writer:
    """One per process: request threads queue submissions, the writer stores them a batch per transaction."""

    def __init__(self, app):
        self.app = app
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread, self._pid = None, None
        self._start_lock = threading.Lock()

    def submit(self, sub: Submission, timeout: float) -> Receipt:
        """Queue `sub`, wait for its transaction to commit; return its Receipt or raise its refusal."""
        if not sub.scored:  # in the request thread: the writer thread's time is the scarce one
            score_submission(self.app.extensions["scales"], sub)
        if sub.done is None:
            sub.done = threading.Event()
        self.enqueue(sub)
        return wait_for(sub, timeout)

    def enqueue(self, sub: Submission) -> None:
        """Queue `sub` without waiting; `sub.finish()` is called after its transaction."""
        self._ensure_running()
        self.queue.put(sub)

    def _ensure_running(self):
        # After gunicorn forks, the parent's thread does not exist in the worker: start one per process.
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
                if self._pid != os.getpid():
                    self.queue = queue.SimpleQueue()
                self._thread = threading.Thread(target=self._run, name="xinqiao-submission-writer", daemon=True)
                self._pid = os.getpid()
                self._thread.start()

    def _run(self):
        while True:
            batch = [self.queue.get()]
            self._take_waiting(batch)
            self.write_batch(batch)

    def write_batch(self, batch) -> None:
        """Store `batch` in as few transactions as it takes; every submission then has its outcome (finish())."""
        try:
            with self.app.app_context():
                self._write(batch)
        except BaseException as exc:  # never let the writer die: every waiting request gets an answer
            logger.exception("submission writer failed")
            for sub in batch:
                if not sub.finished:
                    sub.finish(exc)

    def _take_waiting(self, batch):
        while len(batch) < MAX_BATCH:
            try:
                batch.append(self.queue.get_nowait())
            except queue.Empty:
                return

    def _write(self, batch):
        try:
            self._commit(batch, self._read_facts(batch))
            return
        except Exception as exc:
            db.session.rollback()
            if len(batch) == 1 and not isinstance(exc, IntegrityError):
                batch[0].finish(exc)  # e.g. the database is away: the client is told to retry
                return
        # A race with another process (the same key, the same alert at the same moment) or one submission
        # that fails: each is decided again alone against what is stored now, so one failure never takes
        # the classmates' answers with it, and a race is settled at the second try.
        for sub in batch:
            for attempt in (1, 2):
                try:
                    self._commit([sub])
                    break
                except Exception as exc:
                    db.session.rollback()
                    if attempt == 2 or not isinstance(exc, IntegrityError):
                        sub.finish(exc)
                        break

    @staticmethod
    def _read_facts(batch) -> Facts | None:
        # Read before the write transaction, so that on SQLite the two workers' writers overlap instead of
        # taking turns on the write lock for the reading too; store() explains why stale facts are safe.
        # PostgreSQL has no such lock: store() reads them in its own transaction, which spares each batch a
        # connection's checkout with its ping, a BEGIN and a ROLLBACK (bench/README.md, round 7).
        if db.engine.dialect.name != "sqlite":
            return None
        with db.engine.connect().execution_options(**{sqlite_writer.READ_ONLY: True}) as connection:
            return read_facts(connection, batch)

    def _commit(self, batch, facts: Facts | None = None):
        store(batch, facts)
        mail = bool(db.session.info.pop("mail_pending", False))
        db.session.commit()
        for sub in batch:  # answered only now: what a Receipt names is on disk
            sub.mail_pending = mail
            sub.finish(sub.outcome)
