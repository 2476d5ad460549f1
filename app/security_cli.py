"""Security commands: flask audit verify|checkpoint|new-key, flask keys rotate|generate, flask retention purge."""
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
    """Check the keyed chain and the checkpoints outside the database; exit 1 and name every problem found."""
    from app.audit.services import verify_chain

    report = verify_chain()
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not report.ok:
        for problem in report.problems:
            click.echo(problem, err=True)
        raise click.ClickException(f"audit trail broken: {report.problem_count} problem(s) in {report.events} events")
    click.echo(f"audit trail intact: {report.events} events, head {report.head_hash or '-'}")
    if report.checkpoint_dir:
        latest = f"{report.latest_checkpoint_at:%Y-%m-%d %H:%M} UTC" if report.latest_checkpoint_at else "none yet"
        click.echo(f"checkpoints in {report.checkpoint_dir}: {report.checkpoints_confirmed} of {report.checkpoints} "
                   f"found in the chain (latest {latest})")


@audit_cli.command("checkpoint")
def audit_checkpoint():
    """Append the chain's head to the checkpoint file outside the database (run it from cron, e.g. every 5 minutes)."""
    from app.audit import checkpoints

    directory = current_app.config.get("AUDIT_CHECKPOINT_DIR")
    if not directory:
        raise click.ClickException("AUDIT_CHECKPOINT_DIR is not set: there is nowhere to keep checkpoints")
    try:
        head = checkpoints.write_checkpoint(current_app)
    except checkpoints.ForgedHead as exc:
        raise click.ClickException(f"{exc}: nothing written; run `flask audit verify`") from None
    if head is None:
        click.echo("the audit trail is empty: nothing to checkpoint")
    else:
        click.echo(f"checkpoint written to {directory}: head {head}")


@audit_cli.command("new-key")
def audit_new_key():
    """Print a new audit key. Put it first in AUDIT_KEYS and keep the older keys after it (they verify older events)."""
    from app.audit.chain import new_key

    click.echo(new_key())


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
