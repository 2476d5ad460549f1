"""The checks that need the application itself, run against a restored scratch database: the schema revision is one
of ours and upgrades to the code's head, the audit chain is intact, and the configured keys open every value."""
from datetime import datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import column, select, table

from app.core import crypto
from app.extensions import db

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def check_with_application(url: str, manifest: dict, report) -> None:
    from app import create_app

    # The running app's settings (keys included), pointed at the scratch database.
    settings = dict(current_app.config, SQLALCHEMY_DATABASE_URI=url)
    scratch = create_app(current_app.config["CONFIG_NAME"], **settings)
    try:
        with scratch.app_context():
            if _check_revision(manifest["schema_revision"], report):
                _check_audit_chain(report, taken_at=datetime.fromisoformat(manifest["created_at"]))
                _check_keys_open_every_value(report)
            db.session.remove()
    finally:
        with scratch.app_context():
            db.engine.dispose()


def _check_revision(revision: str, report) -> bool:
    script = ScriptDirectory(str(MIGRATIONS))
    heads = script.get_heads()
    try:
        script.get_revision(revision)
    except Exception:  # alembic raises several kinds for an unknown revision
        report.problems.append(f"schema revision {revision} is not one of this code's migrations (a newer "
                               "XinQiao's backup?)")
        return False
    if revision in heads:
        report.checks.append(f"schema revision {revision} is the code's head")
        return True
    upgrade()  # only ever the scratch copy
    report.checks.append(f"schema revision {revision} upgrades to the code's head {', '.join(heads)} "
                         "(run `flask db upgrade` after restoring it)")
    return True


def _check_audit_chain(report, taken_at) -> None:
    """The audit trail's own verification: the keyed chain, and the checkpoints kept outside the database that were
    written before the backup was taken (later ones name events the backup cannot hold)."""
    from app.audit import services as audit

    problems = audit.verify(checkpoints_before=taken_at)
    if problems:
        report.problems.extend(f"audit trail: {problem}" for problem in problems[:20])
        if len(problems) > 20:
            report.problems.append(f"audit trail: {len(problems) - 20} more problems")
    else:
        report.checks.append("audit chain intact")


def _check_keys_open_every_value(report) -> None:
    from app.security_cli import encrypted_columns

    opened = failed = 0
    for table_name, column_name in encrypted_columns():
        value = column(column_name)
        for (token,) in db.session.execute(select(value).select_from(table(table_name)).where(value.is_not(None))):
            try:
                crypto.decrypt(token)
                opened += 1
            except crypto.KeyError_:
                failed += 1
    if failed:
        report.problems.append(f"{failed} encrypted values cannot be opened with CLINICAL_DATA_KEYS (a key "
                               "missing from the list?)")
    else:
        report.checks.append(f"the configured keys open every encrypted value ({opened})")
