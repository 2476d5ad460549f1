"""Security commands: flask audit verify, flask keys rotate|generate, flask retention purge [--dry-run]."""
import click
from cryptography.fernet import Fernet
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import text

from app.core import crypto
from app.core.types import EncryptedText
from app.extensions import db

audit_cli = AppGroup("audit", help="The audit trail.")
keys_cli = AppGroup("keys", help="Keys of the clinical free text.")
retention_cli = AppGroup("retention", help="Deleting files past the retention period.")


def register(app):
    for group in (audit_cli, keys_cli, retention_cli):
        app.cli.add_command(group)


@audit_cli.command("verify")
def audit_verify():
    """Walk the hash chain; exit 1 and name every changed or deleted row when it is broken."""
    from app.audit import services as audit
    from app.audit.models import AuditEvent

    problems = audit.verify()
    count = db.session.query(AuditEvent).count()
    head = db.session.query(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1).scalar()
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        raise click.ClickException(f"audit trail broken: {len(problems)} problem(s) in {count} events")
    # Keep the head hash somewhere else (a printout, a ticket): rows deleted from the end then show.
    click.echo(f"audit trail intact: {count} events, head {head or '-'}")


def encrypted_columns():
    """(table name, column name) of every EncryptedText column in the schema."""
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, EncryptedText):
                yield table.name, column.name


@keys_cli.command("generate")
def keys_generate():
    """Print a new key. Put it first in CLINICAL_DATA_KEYS, keep the old ones after it, run `keys rotate`."""
    click.echo(Fernet.generate_key().decode())


@keys_cli.command("rotate")
def keys_rotate():
    """Re-encrypt every encrypted value under the first key of CLINICAL_DATA_KEYS, in one transaction."""
    from app.audit import services as audit

    counts = {}
    for table, column in encrypted_columns():
        rows = db.session.execute(text(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL")).all()
        for row_id, token in rows:
            db.session.execute(text(f"UPDATE {table} SET {column} = :v WHERE id = :id"),
                               {"v": crypto.rotate(token), "id": row_id})
        counts[f"{table}.{column}"] = len(rows)
    audit.record("system", "keys_rotated", "keys", detail={"values": counts})
    db.session.commit()
    for name, n in counts.items():
        click.echo(f"{name}: {n} re-encrypted")
    click.echo("done: every value is now encrypted with the first key; older keys may be removed")


@retention_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="List what would be deleted; change nothing.")
@click.option("--years", type=int, default=None, help="Override RETENTION_YEARS for this run.")
def retention_purge(dry_run, years):
    """Delete the files of students who left their last school more than RETENTION_YEARS ago."""
    from app.retention import services as retention

    years = years if years is not None else current_app.config["RETENTION_YEARS"]
    cutoff = retention.cutoff_date(years)
    found = retention.candidates(cutoff)
    click.echo(f"retention {years} years: students who left before {cutoff.isoformat()}: {len(found)}")
    ids = [student_id for student_id, _left in found]
    for student_id, left_on in found:
        counts = retention.counts_for([student_id])
        detail = ", ".join(f"{table} {n}" for table, n in sorted(counts.items()))
        click.echo(f"  student id {student_id} left {left_on.isoformat()}: {detail}")
    if not ids:
        return
    total = retention.counts_for(ids)
    click.echo("total: " + ", ".join(f"{table} {n}" for table, n in sorted(total.items())))
    if dry_run:
        click.echo("dry run: nothing was deleted")
        return
    retention.purge(ids)
    db.session.commit()
    click.echo(f"deleted the files of {len(ids)} students (audit trail kept)")
