"""`flask bench seed`: realistic screening data in bulk for the dashboard benchmarks (never for production).

Schools with classes of 45, students enrolled since the last school year, one screening campaign a month per
school with PHQ-9 and GAD-7 (answers drawn from a per-student latent distress, scored by screening_scales'
numpy batch scorer), alerts for moderate-or-above results with realistic acknowledgement times, referrals,
assessments, return-to-school decisions and follow-ups. The latest campaign of every school is open and
half answered, so live progress has something to show. Rows go in with COPY on PostgreSQL and executemany
on SQLite.
"""
import json
import logging
import math
from contextlib import contextmanager
from datetime import date, timedelta

import click
import numpy as np
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select, text

import screening_scales
from app.accounts.models import Role, User
from app.accounts.passwords import hash_password
from app.care.models import Assessment, FollowUp, Referral, ReturnDecision
from app.core import clock
from app.core.types import EncryptedText
from app.extensions import db
from app.orgs.models import ClassGroup, Hospital, Partnership, School
from app.orgs.school_year import academic_year
from app.risk.models import Alert
from app.screening.models import Campaign, CampaignParticipant, Response, Score, campaign_classes
from app.students.models import Consent, ConsentKind, Enrollment, Student

logger = logging.getLogger(__name__)
bench_cli = AppGroup("bench", help="Benchmark data (never on a production database).")
BENCH_PASSWORD = "bench-password-2026"
CLASS_SIZE = 45
SCALES = ("PHQ-9", "GAD-7")
REASONS = {"critical": "suicide_risk", "high": "high_score", "moderate": "moderate_score"}
RISKS = ("low", "moderate", "high", "critical")


class Ids:
    """Explicit primary keys so that related rows can be written in bulk without a round trip."""

    def __init__(self, models):
        self.next = {m.__tablename__: (db.session.scalar(select(func.max(m.id))) or 0) + 1 for m in models}

    def take(self, model, n=1):
        start = self.next[model.__tablename__]
        self.next[model.__tablename__] = start + n
        return start


def _bulk(table, columns, rows):
    """Insert rows (tuples in `columns` order): COPY on PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        encrypted = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, EncryptedText)]
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                values = [json.dumps(v) if isinstance(v, (list, dict)) else getattr(v, "value", v) for v in row]
                for i in encrypted:
                    values[i] = table.c[columns[i]].type.process_bind_param(values[i], conn.dialect)
                copy.write_row(values)
    else:
        conn.execute(table.insert(), [dict(zip(columns, row)) for row in rows])


# The tables a province-sized seed fills with millions of rows: their secondary indexes and foreign keys are
# dropped before the COPY and put back after it (see _deferred_indexes).
BULK_TABLES = ("students", "enrollments", "consents", "campaign_participants", "responses", "scores", "alerts",
               "follow_ups")
DEFER_INDEXES_FROM = 100_000  # students; below this, keeping the indexes up row by row costs less than rebuilding


@contextmanager
def _deferred_indexes(enabled):
    """On PostgreSQL, COPY into tables without their secondary indexes and foreign keys, then build them again.

    Kept row by row, the indexes of responses/scores/alerts made the province seed take 51 min. The definitions
    are read back from the database itself (`pg_get_indexdef`, `pg_get_constraintdef`) before dropping, so what is
    rebuilt is exactly what the migrations made; the foreign keys are added back validated, so every seeded row
    is checked once, in one pass. Primary keys and unique constraints stay in place.
    """
    if not enabled or db.session.connection().dialect.name != "postgresql":
        yield
        return
    tables = list(BULK_TABLES)
    indexes = db.session.execute(text(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname = ANY(:tables) AND t.relnamespace = "
        "current_schema()::regnamespace AND NOT i.indisprimary AND NOT i.indisunique "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"), {"tables": tables}).all()
    fkeys = db.session.execute(text(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_class t ON t.oid = c.conrelid WHERE c.contype = 'f' AND t.relname = ANY(:tables) "
        "AND t.relnamespace = current_schema()::regnamespace"), {"tables": tables}).all()
    for table, name, _ in fkeys:
        db.session.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        db.session.execute(text(f"DROP INDEX {name}"))
    db.session.commit()
    logger.info("bench seed: %s indexes and %s foreign keys dropped for the COPY", len(indexes), len(fkeys))
    try:
        yield
    finally:
        db.session.rollback()
        db.session.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        for _, definition in indexes:
            db.session.execute(text(definition))
        for table, name, definition in fkeys:
            db.session.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
        db.session.commit()
        logger.info("bench seed: indexes and foreign keys rebuilt")


def _answers(rng, scale, trait, n_items):
    p = np.clip(trait[:, None] + rng.normal(0, 0.05, (trait.size, n_items)), 0.001, 0.95)
    answers = rng.binomial(scale.items[0].max_value - scale.items[0].min_value, p).astype(np.int64) + scale.items[0].min_value
    if scale.code == "PHQ-9":  # thoughts of death are rarer than the other symptoms
        answers[:, 8] = rng.binomial(3, np.clip(trait ** 2 * 0.5, 0, 1))
    return answers


def seed(students: int, responses: int, schools: int, rng_seed=0, echo=print):
    rng = np.random.default_rng(rng_seed)
    registry = current_app.extensions["scales"]
    now = clock.now().replace(microsecond=0)
    today = clock.today()
    ids = Ids([School, ClassGroup, Student, Enrollment, Campaign, Response, Score, Alert, Referral, Assessment,
               ReturnDecision, FollowUp, CampaignParticipant, User, Hospital, Partnership, Consent])
    password = hash_password(BENCH_PASSWORD)
    tag = ids.next["schools"]
    hospital = Hospital(name=f"Bench hospital {tag}")
    db.session.add(hospital)
    db.session.flush()
    db.session.add_all([User(username=f"bench.admin.{tag}", display_name="Bench admin", password_hash=password, role=Role.ADMIN),
                        User(username=f"bench.doctor.{tag}", display_name="Bench doctor", password_hash=password,
                             role=Role.DOCTOR, hospital_id=hospital.id)])
    per_school = max(1, students // schools)
    # about 95% of a class answers a closed campaign and half the open one
    campaigns_per_school = max(1, math.ceil(responses / (per_school * schools * len(SCALES) * 0.93)))
    doctor_id = db.session.scalar(select(User.id).where(User.username == f"bench.doctor.{tag}"))
    versions = {code: registry.get(code).version for code in SCALES}
    t_resp = t_alert = 0
    with _deferred_indexes(students >= DEFER_INDEXES_FROM):
        for k in range(schools):
            school = School(name=f"Bench school {tag}-{k:03d}", level="middle", district=f"Bench district {tag}")
            db.session.add(school)
            db.session.flush()
            db.session.add(Partnership(school_id=school.id, hospital_id=hospital.id, signed_on=today - timedelta(days=900),
                                       expires_on=today + timedelta(days=900)))
            teacher = User(username=f"bench.teacher.{tag}.{k}", display_name="Bench teacher", password_hash=password,
                           role=Role.TEACHER, school_id=school.id)
            db.session.add(teacher)
            db.session.flush()
            n_classes = (per_school + CLASS_SIZE - 1) // CLASS_SIZE
            class_ids = []
            for c in range(n_classes):
                cg = ClassGroup(school_id=school.id, academic_year=academic_year(today), grade=7 + c % 3, name=f"{7 + c % 3}-{c // 3 + 1}")
                db.session.add(cg)
                db.session.flush()
                class_ids.append(cg.id)
            first_student = ids.take(Student, per_school)
            student_ids = np.arange(first_student, first_student + per_school)
            student_class = np.array(class_ids)[np.arange(per_school) // CLASS_SIZE]
            _bulk(Student.__table__, ("id", "student_number", "name", "sex", "birth_date", "guardian_name", "guardian_phone", "created_at"),
                  [(int(s), f"B{tag}{k:03d}{i:06d}", f"学生{i}", "F" if i % 2 else "M", date(2012, 1 + i % 12, 1 + i % 28), "", "", now)
                   for i, s in enumerate(student_ids)])
            first_enr = ids.take(Enrollment, per_school)
            _bulk(Enrollment.__table__, ("id", "student_id", "school_id", "class_group_id", "start_date", "end_date", "reason"),
                  [(first_enr + i, int(s), school.id, int(student_class[i]), today - timedelta(days=420), None, "admission")
                   for i, s in enumerate(student_ids)])
            # every guardian consented to screening: without it a student cannot join a session (nor be stored)
            first_consent = ids.take(Consent, per_school)
            _bulk(Consent.__table__, ("id", "student_id", "kind", "granted", "recorded_by_id", "recorded_at", "note"),
                  [(first_consent + i, int(s), ConsentKind.SCREENING, True, teacher.id, now - timedelta(days=420), "bench")
                   for i, s in enumerate(student_ids)])
            trait = rng.beta(1.2, 6.0, per_school)
            resp_rows, score_rows, alert_rows, ref_rows, ass_rows, dec_rows, fu_rows = [], [], [], [], [], [], []
            unresolved = set()  # (student, level): like risk.raise_alert, a later result joins the open alert
            for j in range(campaigns_per_school):
                latest = j == campaigns_per_school - 1
                opens = now - timedelta(hours=1) if latest else now - timedelta(days=30 * (campaigns_per_school - 1 - j) + 3, hours=int(rng.integers(0, 48)))
                campaign_id = ids.take(Campaign)
                _bulk(Campaign.__table__, ("id", "school_id", "title", "scale_codes", "session_code", "status", "opens_at", "closes_at", "created_by_id", "created_at"),
                      [(campaign_id, school.id, f"{opens.astimezone(clock.LOCAL_TZ):%Y-%m} 心理筛查", list(SCALES), f"B{campaign_id:010d}"[-12:],
                        "open" if latest else "closed", opens, opens + timedelta(hours=6), teacher.id, opens)])
                _bulk(campaign_classes, ("campaign_id", "class_group_id"), [(campaign_id, c) for c in class_ids])
                took = rng.random(per_school) < (0.5 if latest else 0.95)
                who = np.flatnonzero(took)
                if latest:
                    first_p = ids.take(CampaignParticipant, who.size)
                    _bulk(CampaignParticipant.__table__, ("id", "campaign_id", "student_id", "class_group_id", "joined_at"),
                          [(first_p + i, campaign_id, int(student_ids[w]), int(student_class[w]), opens) for i, w in enumerate(who)])
                drift = np.clip(trait[who] + rng.normal(0, 0.04, who.size), 0.005, 0.9)
                submitted = [opens + timedelta(minutes=int(m)) for m in rng.integers(5, 55 if latest else 300, who.size)]
                worst = np.zeros(who.size, dtype=np.int64)
                for code in SCALES:
                    scale = registry.get(code)
                    answers = _answers(rng, scale, drift, scale.item_count)
                    scored = screening_scales.score_batch(scale, answers)
                    worst = np.maximum(worst, scored["risk_index"])
                    first_r = ids.take(Response, who.size)
                    first_s = ids.take(Score, who.size)
                    for i, w in enumerate(who):
                        rid = first_r + i
                        flags = ["suicidal_ideation"] if code == "PHQ-9" and answers[i, 8] >= 1 else []
                        resp_rows.append((rid, campaign_id, int(student_ids[w]), school.id, int(student_class[w]), code, versions[code],
                                          answers[i].tolist(), [], submitted[i] - timedelta(minutes=4), submitted[i], f"bench-{rid}"))
                        score_rows.append((first_s + i, rid, int(scored["total"][i]), scored["bands"][scored["band_index"][i]],
                                           RISKS[scored["risk_index"][i]], flags, {}, submitted[i]))
                for i in np.flatnonzero(worst >= 1):
                    level = RISKS[worst[i]]
                    opened = submitted[i]
                    age_h = (now - opened).total_seconds() / 3600
                    target_h = {"critical": 1, "high": 24, "moderate": 168}[level]
                    ack_h = float(rng.lognormal(np.log(target_h * 0.6), 0.8))
                    acked = opened + timedelta(hours=ack_h) if ack_h < age_h else None
                    resolved = opened + timedelta(days=10) if acked and age_h > 24 * 20 else None
                    if (int(student_ids[who[i]]), level) in unresolved:
                        continue
                    if resolved is None:
                        unresolved.add((int(student_ids[who[i]]), level))
                    aid = ids.take(Alert)
                    alert_rows.append((aid, int(student_ids[who[i]]), school.id, None, level, REASONS[level],
                                       "resolved" if resolved else ("acknowledged" if acked else "open"), opened,
                                       opened + timedelta(hours=target_h), acked, teacher.id if acked else None, resolved,
                                       teacher.id if resolved else None, "managed_at_school" if resolved else None))
                    refer = acked and rng.random() < {"critical": 0.6, "high": 0.2, "moderate": 0.02}[level]
                    if not refer:
                        if level == "moderate" and acked:
                            due = (opened + timedelta(days=14)).astimezone(clock.LOCAL_TZ).date()
                            done = opened + timedelta(days=float(rng.uniform(7, 18))) if rng.random() < 0.85 else None
                            fu_rows.append((ids.take(FollowUp), int(student_ids[who[i]]), school.id, None, aid, due,
                                            done if done and done < now else None, teacher.id if done and done < now else None, now))
                        continue
                    sent = acked + timedelta(hours=1)
                    wait_h = float(rng.lognormal(np.log({"critical": 20, "high": 60, "moderate": 200}[level]), 0.6))
                    assessed = sent + timedelta(hours=wait_h) if sent + timedelta(hours=wait_h) < now else None
                    rid = ids.take(Referral)
                    decided = assessed + timedelta(days=3) if assessed and assessed + timedelta(days=3) < now else None
                    ref_rows.append((rid, int(student_ids[who[i]]), school.id, hospital.id, aid, level,
                                     "closed" if decided else ("assessed" if assessed else "sent"), teacher.id, sent,
                                     sent + timedelta(hours=2) if assessed else None, doctor_id if assessed else None,
                                     decided))
                    if assessed:
                        ass_rows.append((ids.take(Assessment), rid, int(student_ids[who[i]]), doctor_id,
                                         assessed.astimezone(clock.LOCAL_TZ).date(), "clinic", level, "outpatient",
                                         (assessed + timedelta(days=28)).date(), 1, assessed))
                    if decided:
                        outcome = "cleared_with_conditions" if rng.random() < 0.5 else "cleared"
                        did = ids.take(ReturnDecision)
                        dec_rows.append((did, rid, int(student_ids[who[i]]), doctor_id, outcome,
                                         (decided + timedelta(days=30)).date(), False, decided))
                        if outcome == "cleared_with_conditions":
                            for weeks in (1, 2, 4):
                                due = (decided + timedelta(weeks=weeks)).astimezone(clock.LOCAL_TZ).date()
                                done = decided + timedelta(weeks=weeks, days=float(rng.normal(-1, 2)))
                                ok = rng.random() < 0.85 and done < now
                                fu_rows.append((ids.take(FollowUp), int(student_ids[who[i]]), school.id, did, None, due,
                                                done if ok else None, teacher.id if ok else None, now))
            _bulk(Response.__table__, ("id", "campaign_id", "student_id", "school_id", "class_group_id", "scale_code", "scale_version",
                                       "answers", "quality_flags", "started_at", "submitted_at", "idempotency_key"), resp_rows)
            _bulk(Score.__table__, ("id", "response_id", "total", "band", "risk", "flags", "subscales", "scored_at"), score_rows)
            _bulk(Alert.__table__, ("id", "student_id", "school_id", "response_id", "level", "reason", "status", "opened_at", "due_at",
                                    "acknowledged_at", "acknowledged_by_id", "resolved_at", "resolved_by_id", "outcome"), alert_rows)
            _bulk(Referral.__table__, ("id", "student_id", "school_id", "hospital_id", "alert_id", "urgency", "status", "created_by_id",
                                       "created_at", "accepted_at", "accepted_by_id", "closed_at"), ref_rows)
            _bulk(Assessment.__table__, ("id", "referral_id", "student_id", "clinician_id", "assessed_on", "setting", "findings",
                                         "risk_level", "plan", "next_review_on", "version", "created_at"),
                  [r[:6] + ("bench",) + r[6:] for r in ass_rows])
            _bulk(ReturnDecision.__table__, ("id", "referral_id", "student_id", "decided_by_id", "outcome", "review_on",
                                             "share_diagnosis", "created_at"), dec_rows)
            _bulk(FollowUp.__table__, ("id", "student_id", "school_id", "decision_id", "alert_id", "due_on", "done_at", "done_by_id",
                                       "created_at"), fu_rows)
            t_resp += len(resp_rows)
            t_alert += len(alert_rows)
            db.session.commit()
            if k % 10 == 9 or k == schools - 1:
                echo(f"  {k + 1}/{schools} schools, {t_resp} responses, {t_alert} alerts")
    if db.session.connection().dialect.name == "postgresql":
        for table in ("schools", "class_groups", "students", "enrollments", "campaigns", "responses", "scores", "alerts",
                      "referrals", "assessments", "return_decisions", "follow_ups", "campaign_participants", "users",
                      "hospitals", "partnerships", "consents"):
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT coalesce(max(id), 1) FROM {table}))"))
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # as autovacuum would: visibility map set for index-only scans
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return {"tag": tag, "teacher": f"bench.teacher.{tag}.0", "doctor": f"bench.doctor.{tag}", "admin": f"bench.admin.{tag}",
            "password": BENCH_PASSWORD, "responses": t_resp, "alerts": t_alert}


@bench_cli.command("seed")
@click.option("--students", type=int, default=5000, show_default=True)
@click.option("--responses", type=int, default=100000, show_default=True)
@click.option("--schools", type=int, default=1, show_default=True)
@click.option("--seed", "rng_seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the accounts and counts as JSON.")
def seed_command(students, responses, schools, rng_seed, as_json):
    """Generate benchmark data into the configured database (DATABASE_URL)."""
    if students < schools or responses < 0:
        raise click.BadParameter("need at least one student per school")
    info = seed(students, responses, schools, rng_seed, echo=(lambda *_: None) if as_json else click.echo)
    click.echo(json.dumps(info) if as_json else f"Seeded: {info}")
