"""`flask fhir run-exports` (queued bulk exports, for deployments that run them from cron) and
`flask fhir purge-exports` (remove the files of exports past FHIR_EXPORT_KEEP_HOURS)."""
import click
from flask.cli import AppGroup

from app.extensions import db
from app.interop.fhir import bulk

fhir_cli = AppGroup("fhir", help="FHIR bulk exports.")


@fhir_cli.command("run-exports")
def run_exports():
    """Run every queued bulk export, then remove expired files."""
    ran = bulk.run_pending()
    removed = bulk.purge_expired()
    db.session.commit()
    click.echo(f"exports run: {ran}, expired exports removed: {removed}")


@fhir_cli.command("purge-exports")
def purge_exports():
    removed = bulk.purge_expired()
    db.session.commit()
    click.echo(f"expired exports removed: {removed}")
