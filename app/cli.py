"""flask --app wsgi <command>: the console's operator commands."""

import re
import secrets
import sys
from datetime import UTC, datetime, timedelta

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select, update

from app import audit
from app.api.tokens import TOKEN_PREFIX, token_hash
from app.audit_log.commands import audit_group
from app.auth.passwords import hash_password
from app.cli_failure import CommandFailed
from app.extensions import db
from app.models import AdminOrganization, AdminUser, ApiToken, Organization
from app.models.main import ROLES
from app.operations.commands import tenants
from app.operations.jobs import worker_command
from app.security import end_sessions, find_admin

orgs = AppGroup("orgs", help="Manage organizations.")
_ORG_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def new_password() -> str:
    return secrets.token_urlsafe(15)


@click.command("create-admin")
@with_appcontext
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="owner", show_default=True)
@click.option("--org", "org_ids", multiple=True, help="Limit the admin to this organization (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_admin(email: str, role: str, org_ids: tuple[str, ...], password_stdin: bool) -> None:
    """Create a console admin. Without --password-stdin a password is generated and printed once."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise CommandFailed("EMAIL must be an email address.")
    if find_admin(email):
        raise CommandFailed(f"an admin with email {email} already exists.")
    for org_id in org_ids:
        if db.session.get(Organization, org_id) is None:
            raise CommandFailed(f"organization {org_id} not found.")
    password = read_password() if password_stdin else new_password()
    admin = AdminUser(email=email, password_hash=hash_password(password), role=role)
    admin.scoped_organizations = [AdminOrganization(organization_id=org_id) for org_id in org_ids]
    db.session.add(admin)
    db.session.commit()
    scope = ", ".join(org_ids) if org_ids else "all organizations"
    click.echo(f"Created {role} {email} ({scope}).")
    if not password_stdin:
        click.echo(f"Password (shown once): {password}")


@click.command("create-token")
@with_appcontext
@click.argument("email")
@click.option("--name", default="api", show_default=True, help="A label to recognise the token by.")
@click.option("--expires-days", type=click.IntRange(1, 3650), default=90, show_default=True)
def create_token(email: str, name: str, expires_days: int) -> None:
    """Create an API bearer token for an admin; the token is the last line printed."""
    admin = existing_admin(email)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(days=expires_days)
    db.session.add(ApiToken(admin_id=admin.id, name=name, token_hash=token_hash(token), expires_at=expires))
    db.session.commit()
    click.echo(
        f"Token {name!r} for {admin.email} ({admin.role}), valid until {expires:%Y-%m-%d %H:%M} UTC; "
        "only its hash is stored:"
    )
    click.echo(token)


@click.command("revoke-tokens")
@with_appcontext
@click.argument("email")
@click.option("--name", help="Only the token with this label (default: every token of the admin).")
def revoke_tokens(email: str, name: str | None) -> None:
    """Revoke an admin's API tokens: they answer 401 from now on."""
    admin = existing_admin(email)
    stmt = update(ApiToken).where(ApiToken.admin_id == admin.id, ApiToken.revoked_at.is_(None))
    if name is not None:
        stmt = stmt.where(ApiToken.name == name)
    revoked = db.session.execute(stmt.values(revoked_at=func.now())).rowcount
    db.session.commit()
    label = f" named {name!r}" if name else ""
    audit.record("tokens.revoke", detail=f"{revoked} token(s) of {admin.email}{label} revoked")
    click.echo(f"Revoked {revoked} token(s) of {admin.email}.")


@click.command("reset-password")
@with_appcontext
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def reset_password(email: str, password_stdin: bool) -> None:
    """Set a new password (or print a generated one once), lift any sign-in lock and end the admin's sessions."""
    admin = existing_admin(email)
    password = read_password() if password_stdin else new_password()
    admin.password_hash = hash_password(password)
    end_sessions(admin.id)  # also the key of its sign-in locks: every lock is lifted
    db.session.commit()
    audit.record("admin.reset-password", detail=f"{admin.email}: password reset, sessions ended")
    click.echo(f"Password reset for {admin.email}; its sessions are ended and any sign-in lock is lifted.")
    if not password_stdin:
        click.echo(f"Password (shown once): {password}")


def existing_admin(email: str) -> AdminUser:
    admin = find_admin(email)
    if admin is None:
        raise CommandFailed(f"no admin with email {email.strip().lower()}.")
    return admin


def read_password() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 12:
        raise CommandFailed("the password must be at least 12 characters.")
    return password


@orgs.command("create")
@click.argument("name")
@click.option("--id", "org_id", help="The organization's id (default: generated).")
def orgs_create(name: str, org_id: str | None) -> None:
    """Create an organization in shared mode; its id is the last line printed."""
    name = name.strip()
    if not name:
        raise CommandFailed("NAME must not be empty.")
    org_id = org_id or "org_" + secrets.token_hex(8)
    if not _ORG_ID.match(org_id):
        raise CommandFailed("--id may hold letters, digits, - and _ only (at most 64).")
    if db.session.get(Organization, org_id) is not None:
        raise CommandFailed(f"organization {org_id} already exists.")
    db.session.add(Organization(id=org_id, name=name))
    db.session.commit()
    click.echo(f"Created organization {name!r} (shared mode):")
    click.echo(org_id)


@click.command("demo-data")
@with_appcontext
@click.option(
    "--donors",
    "donor_count",
    type=click.IntRange(0, 20_000_000),
    default=200,
    show_default=True,
    help="Donors per organization.",
)
@click.option("--database-url", help="Load tenant rows into this database instead of the main one.")
@click.option("--org", "org_id", help="Load only this organization (created in the main database if missing).")
@click.option("--seed", type=int, default=42, show_default=True)
def demo_data(donor_count: int, database_url: str | None, org_id: str | None, seed: int) -> None:
    """Deterministic demo organizations, donors, donations, campaigns and preferences."""
    from app.demo import load_demo_data

    if database_url and not org_id:
        raise CommandFailed("--database-url needs --org: say which organization the rows belong to.")
    load_demo_data(donor_count=donor_count, database_url=database_url, org_id=org_id, seed=seed, echo=click.echo)


@click.command("setup-demo")
@with_appcontext
@click.option("--email", default="admin@example.org", show_default=True)
def setup_demo(email: str) -> None:
    """First start of `make run`: demo data and an owner, only when the database has none."""
    from app.demo import load_demo_data

    if not db.session.scalar(select(func.count()).select_from(Organization)):
        load_demo_data(donor_count=200, database_url=None, org_id=None, seed=42, echo=click.echo)
    if not db.session.scalar(select(func.count()).select_from(AdminUser)):
        password = new_password()
        db.session.add(AdminUser(email=email, password_hash=hash_password(password), role="owner"))
        db.session.commit()
        click.echo(f"Owner admin created. Email: {email}  Password (shown once): {password}")
    else:
        click.echo(
            f"Sign in at http://127.0.0.1:5000 as {email}. Password lost? "
            f"APP_ENV=development .venv/bin/flask --app wsgi reset-password {email}"
        )


def init_app(app: Flask) -> None:
    for command in (
        create_admin,
        create_token,
        revoke_tokens,
        reset_password,
        demo_data,
        setup_demo,
        orgs,
        tenants,
        worker_command,
        audit_group,
    ):
        app.cli.add_command(command)
