"""Command-line commands: flask demo, flask scales …"""
import json

import click
from flask import current_app

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

    return click.Group("scales", commands=scales_cli.commands, params=scales_cli.params,
                       callback=use_app_registry, help=scales_cli.help)


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
