"""Command-line commands: flask demo, flask scales …"""
import json

import click
from flask import current_app
from flask.cli import with_appcontext

from app.extensions import db


def register(app):
    app.cli.add_command(demo_command)
    from app.accounts.cli import setup_command

    app.cli.add_command(setup_command)
    from app.dashboards.benchseed import bench_cli
    from app.dashboards.commands import dashboards_cli

    app.cli.add_command(bench_cli)
    app.cli.add_command(dashboards_cli)
    from app.security_cli import register as register_security

    register_security(app)
    app.cli.add_command(scales_command_group())


def scales_command_group():
    """`flask scales …`: the library's commands, reading the app's registry (which includes instance/scales/)."""
    from screening_scales.cli import scales_cli

    def use_app_registry(extra_dir):
        if not extra_dir:
            click.get_current_context().find_root().meta["scales_registry"] = current_app.extensions["scales"]

    return click.Group("scales", commands=dict(scales_cli.commands, reband=reband_command), params=scales_cli.params,
                       callback=with_appcontext(use_app_registry), help=scales_cli.help)


@click.command("reband")
@with_appcontext
@click.option("--scale", "scale_code", required=True, help="The scale whose stored results to re-band, e.g. GAD-7.")
@click.option("--profile", required=True, help="The cut-off profile to band them with ('international' for the bands).")
@click.option("--school-level", type=click.Choice(["primary", "middle", "high", "vocational", "university"]),
              help="Only results from schools of this level.")
@click.option("--campaign", "campaign_id", type=int, help="Only the results of this screening campaign.")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--by", "username", help="The district admin account responsible (required unless --dry-run).")
@click.option("--reason", help="Why these results are re-banded (required unless --dry-run; kept with each change).")
def reband_command(scale_code, profile, school_level, campaign_id, dry_run, username, reason):
    """Band stored results again with another cut-off profile. Each change is recorded (old and new banding, who,
    why) and audited; alerts are neither opened nor closed (see the summary for results that need a look)."""
    from sqlalchemy import select

    from app.accounts.models import Role, User
    from app.screening import reband

    user = None
    if not dry_run:
        user = db.session.scalar(select(User).where(User.username == (username or "")))
        if user is None or user.role != Role.ADMIN or not user.active:
            raise click.UsageError("--by must name an active district admin account (or use --dry-run)")
        if not (reason or "").strip():
            raise click.UsageError("--reason is required (or use --dry-run)")
    try:
        plan = reband.plan_reband(current_app.extensions["scales"], scale_code, profile, school_level=school_level,
                                  campaign_id=campaign_id)
    except reband.RebandError as exc:
        raise click.ClickException(str(exc)) from None
    summary = plan.summary()
    if not dry_run:
        reband.apply_reband(plan, reason, by=user)
        db.session.commit()
    else:
        db.session.rollback()
    click.echo(json.dumps(dict(summary, dry_run=dry_run), ensure_ascii=False))
    click.echo(("Would re-band" if dry_run else "Re-banded") + f" {summary['rebanded']} {scale_code} results with "
               f"{summary['profile']}: risk raised {summary['risk_raised']}, lowered {summary['risk_lowered']}.")
    click.echo("Alerts: none opened or closed. "
               f"{summary['raised_without_alert']} result(s) now at moderate risk or above have no alert: "
               "review them (e.g. raise a concern). "
               f"{summary['lowered_with_open_alert']} result(s) went down while their alert is unresolved: "
               "it stays open until a person resolves it.")


@click.command("demo")
@click.option("--json", "as_json", is_flag=True, help="Print the demo data a client needs as JSON.")
@click.option("--if-empty", is_flag=True, help="Load only when the database has no data (used by make run).")
def demo_command(as_json, if_empty):
    """Load the demo data (an empty database), or print it (--json) when it is already there."""
    from app import demo

    if demo.is_empty():
        info = demo.load_demo()
        db.session.commit()
        loaded = True
    else:
        if not if_empty and not as_json:
            raise click.ClickException("The database already has data; demo data is loaded only into an empty database.")
        info, loaded = demo.describe(), False
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    if loaded:
        click.echo("Demo data loaded.")
    print_accounts(info)


def print_accounts(info):
    click.echo("")
    click.echo("Demo accounts (password for all: %s)" % info["staff"][0]["password"] if info["staff"] else "No staff")
    for person in info["staff"]:
        note = "  (second factor: set up at first login with any authenticator app)" \
            if person.get("second_factor") == "enrol at first login" else ""
        click.echo(f"  {person['role']:<9} {person['username']:<18} {person['name']}{note}")
    for campaign in info["campaigns"]:
        click.echo(f"Student session code {campaign['session_code']} ({campaign['title']}), open http://127.0.0.1:5000/s")
        for s in campaign["students"][:3]:
            click.echo(f"  student number {s['student_number']}  birth date {s['birth_date']}")
    for member in info.get("committee_members", []):
        click.echo(f"Class committee member: student number {member['student_number']}  birth date "
                   f"{member['birth_date']}, open http://127.0.0.1:5000/committee/sign-in")
