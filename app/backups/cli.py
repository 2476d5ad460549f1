"""`flask backup create|verify|restore|prune|list`: see README, "Backups"."""
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from app.backups import services
from app.backups.engines import BackupError
from app.extensions import db

backup_cli = AppGroup("backup", help="Backups of the database (never of the keys).")


def _directory(given):
    return Path(given or current_app.config["BACKUP_DIR"])


def _print_report(report):
    for check in report.checks:
        click.echo(f"  ok: {check}")
    for problem in report.problems:
        click.echo(f"  PROBLEM: {problem}", err=True)


@backup_cli.command("create")
@click.option("--to", "directory", type=click.Path(file_okay=False), help="Directory of backups (BACKUP_DIR).")
def create_command(directory):
    """Copy the database while the server runs, with a manifest; prints where it went."""
    try:
        path = services.create_backup(_directory(directory))
    except (BackupError, SQLAlchemyError) as exc:
        raise click.ClickException(str(exc)) from exc
    manifest = services.read_manifest(path)
    click.echo(f"backup written: {path}")
    click.echo(f"  taken at {manifest['created_at']}, schema {manifest['schema_revision']}, "
               f"{sum(manifest['row_counts'].values())} rows, {manifest['size_bytes']} bytes")
    # Kept outside the database and the backups (a ticket, a printout), the head proves later that no audit
    # event was removed from the end.
    click.echo(f"  audit trail: {manifest['audit']['events']} events, head {manifest['audit']['head'] or '-'}")


@backup_cli.command("verify")
@click.argument("backup", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--from", "directory", type=click.Path(file_okay=False), help="Verify the newest backup here.")
def verify_command(backup, directory):
    """Restore a backup (the newest by default) into a scratch database and check it; exit 1 on any problem."""
    try:
        path = Path(backup) if backup else services.latest_backup(_directory(directory))
        click.echo(f"verifying {path}")
        report = services.verify_backup(path)
    except (BackupError, SQLAlchemyError) as exc:
        raise click.ClickException(str(exc)) from exc
    _print_report(report)
    if not report.ok:
        raise click.ClickException(f"backup {path.name} FAILED verification: {len(report.problems)} problem(s)")
    click.echo(f"backup {path.name} verified")


@backup_cli.command("restore")
@click.argument("backup", type=click.Path(exists=True, file_okay=False))
@click.option("--overwrite", is_flag=True, help="Replace a database that holds data (stop the server first).")
def restore_command(backup, overwrite):
    """Verify a backup, then write it into the configured database (refused over data without --overwrite)."""
    db.session.remove()
    db.engine.dispose()  # nothing of this process keeps the old database open
    try:
        report = services.restore_backup(Path(backup), overwrite=overwrite)
    except (BackupError, SQLAlchemyError) as exc:
        raise click.ClickException(str(exc)) from exc
    _print_report(report)
    if not report.ok:
        raise click.ClickException("not restored: the backup failed verification; the database was not touched")
    click.echo("restored. Run `flask db upgrade`, then start the server.")


@backup_cli.command("prune")
@click.option("--keep-daily", default=14, show_default=True, help="Newest backup of each of this many days.")
@click.option("--keep-weekly", default=8, show_default=True, help="Newest backup of each of this many weeks.")
@click.option("--keep-monthly", default=12, show_default=True, help="Newest backup of each of this many months.")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@click.option("--in", "directory", type=click.Path(file_okay=False), help="Directory of backups (BACKUP_DIR).")
def prune_command(keep_daily, keep_weekly, keep_monthly, dry_run, directory):
    """Delete backups past the retention (the newest one is always kept)."""
    if min(keep_daily, keep_weekly, keep_monthly) < 0:
        raise click.BadParameter("keep counts cannot be negative")
    kept, deleted = services.prune_backups(_directory(directory), keep_daily, keep_weekly, keep_monthly, dry_run)
    for path in deleted:
        click.echo(f"{'would delete' if dry_run else 'deleted'}: {path.name}")
    click.echo(f"kept {len(kept)} backups" + (" (dry run: nothing deleted)" if dry_run else ""))


@backup_cli.command("list")
@click.option("--in", "directory", type=click.Path(file_okay=False), help="Directory of backups (BACKUP_DIR).")
def list_command(directory):
    """The backups, oldest first."""
    for path, manifest in services.list_backups(_directory(directory)):
        taken = datetime.fromisoformat(manifest["created_at"]).strftime("%Y-%m-%d %H:%M:%S UTC")
        click.echo(f"{path.name}  {taken}  {manifest['engine']}  schema {manifest['schema_revision']}  "
                   f"{manifest['size_bytes']} bytes")
