"""`flask setup`: the first district admin of an empty installation (no demo data), from the server's own shell.

A first-run web page would be reachable by whoever finds the server first, and behind a reverse proxy every
request looks as if it came from the server itself; the command line is reachable only by the people who run
the server."""
import click
from flask.cli import with_appcontext
from sqlalchemy import inspect, select

from app.accounts import services
from app.accounts.management import clean_email, clean_username
from app.accounts.models import Role, User
from app.audit import services as audit
from app.extensions import db

PASSWORD_PROBLEMS = {
    "too_short": "The password needs at least 12 characters.",
    "too_long": "The password is too long.",
    "common": "This password is too common. Choose a longer phrase that others would not guess.",
    "contains_username": "The password must not contain the username.",
}


@click.command("setup")
@click.option("--username", prompt="Username of the first district admin", default="admin", show_default=True)
@click.option("--name", "display_name", prompt="Name shown in XinQiao", default="区心理中心管理员", show_default=True)
@click.option("--email", prompt="E-mail address (optional)", default="", show_default=False)
@click.password_option("--password", prompt="Password (at least 12 characters)",
                       help="Asked twice without echo when not given.")
@with_appcontext
def setup_command(username, display_name, email, password):
    """Create the first district admin. Only while the database has no admin account."""
    if "users" not in inspect(db.engine).get_table_names():
        raise click.ClickException("The database has no tables yet: run `flask db upgrade` first.")
    if db.session.scalar(select(User.id).where(User.role == Role.ADMIN).limit(1)) is not None:
        raise click.ClickException("An admin account exists already. Admins create further accounts on the "
                                   "Staff accounts page; a lost admin password is reset there by another admin.")
    try:
        username = clean_username(username)
        user = services.create_user(username, display_name.strip()[:80] or username, password, Role.ADMIN,
                                    email=clean_email(email))
    except services.AccountError as exc:
        message = PASSWORD_PROBLEMS.get(str(exc), {
            "bad_username": "A username has 3 to 64 lower-case letters, digits, dots, hyphens or underscores.",
            "bad_email": "This is not an e-mail address."}.get(str(exc), str(exc)))
        raise click.ClickException(message) from exc
    audit.record(None, "first_admin_created", "user", user.id)
    db.session.commit()
    click.echo(f"District admin '{user.username}' created. Sign in at the server's address: the first sign-in sets "
               "up the second factor (TOTP) with an authenticator app. Then create schools, hospitals, agreements "
               "and staff accounts under 学校与医院 (Schools and hospitals) and 教职工账号 (Staff accounts).")
