"""`flask dashboards refresh`: recount the district's monthly figures (run from cron, e.g. every 10 minutes)."""
import click
from flask.cli import AppGroup

from app.extensions import db

dashboards_cli = AppGroup("dashboards", help="District figures kept for the dashboards.")


@dashboards_cli.command("refresh")
@click.option("--months", type=int, default=2, show_default=True, help="The current month and the ones before it.")
def refresh_command(months):
    """Recount and store the monthly figures, so that no dashboard request has to."""
    from app.dashboards.district import refresh_months

    done = refresh_months(max(1, months))
    db.session.commit()
    click.echo("Refreshed: " + ", ".join(f"{m:%Y-%m}" for m in done))
