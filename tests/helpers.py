"""Small helpers shared by the tests: data set-up through real SQL, and signing in."""

import re
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import psycopg
from cryptography.fernet import Fernet

# Everything secret the suite hands the app; tests/conftest.py checks at the end of the run that
# none of it ever came back in a response, a log line or an audit row.
SECRETS: set[str] = {"Canary"}


def new_fernet_key() -> str:
    key = Fernet.generate_key().decode()
    SECRETS.add(key)
    return key


TABLES = (
    "OperationJob",
    "TenantFence",
    "TenantCapture",
    "TenantChange",
    "AuditEvent",
    "ApiToken",
    "AdminOrganization",
    "AdminUser",
    "User",
    "Donation",
    "DonorPreference",
    "Donor",
    "Campaign",
    "Organization",
)
PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def migrate_database(url: str) -> None:
    import flask_migrate

    from app import create_app
    from app.extensions import db
    from config import TestingConfig

    app = create_app(TestingConfig, DATABASE_URL=url)
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()


def sql(url: str, statement: str, params=None) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else []


def add_org(app, org_id: str, name: str | None = None, database_url: str | None = None) -> None:
    from app.extensions import db
    from app.models import Organization

    with app.app_context():
        db.session.add(Organization(id=org_id, name=name or org_id, database_url=database_url))
        db.session.commit()


def add_admin(app, email: str, role: str = "owner", orgs: tuple[str, ...] = (), password: str = PASSWORD) -> None:
    from app.auth.passwords import hash_password
    from app.extensions import db
    from app.models import AdminOrganization, AdminUser

    with app.app_context():
        admin = AdminUser(email=email, password_hash=hash_password(password), role=role)
        admin.scoped_organizations = [AdminOrganization(organization_id=o) for o in orgs]
        db.session.add(admin)
        db.session.commit()


def add_donors(url: str, org_id: str, last_names, prefix: str | None = None) -> list[str]:
    """Insert donors with the guide's minimal columns; returns their ids."""
    prefix = prefix or org_id
    ids = []
    with psycopg.connect(url) as conn:
        for n, last in enumerate(last_names):
            donor_id = f"{prefix}-donor-{n}"
            conn.execute(
                'INSERT INTO "Donor" (id, "organizationId", "firstName", "lastName", email)'
                " VALUES (%s, %s, %s, %s, %s)",
                (donor_id, org_id, f"First{n}", last, f"{last.lower()}.{n}@{org_id}.example"),
            )
            ids.append(donor_id)
    return ids


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client, email: str, password: str = PASSWORD):
    page = client.get("/login")
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_token(page.get_data(as_text=True))}
    )


def add_campaign_with_gift(url: str, org_id: str, donor_id: str, campaign_id: str, amount: str = "25.00") -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            'INSERT INTO "Campaign" (id, "organizationId", name, goal) VALUES (%s, %s, %s, 1000)',
            (campaign_id, org_id, f"Campaign {campaign_id}"),
        )
        conn.execute(
            'INSERT INTO "Donation" (id, "organizationId", "donorId", "campaignId", amount, date) '
            "VALUES (%s, %s, %s, %s, %s, '2026-03-01')",
            (f"gift-{campaign_id}", org_id, donor_id, campaign_id, amount),
        )


def with_login(url: str, *, user: str | None = None, password: str | None = None) -> str:
    """url with another user and/or password (percent-encoded), whatever credentials it had."""
    parts = urlsplit(url)
    user = user if user is not None else unquote(parts.username or "")
    password = password if password is not None else (unquote(parts.password) if parts.password else None)
    auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password is not None else "")
    return urlunsplit((parts.scheme, f"{auth}@{parts.netloc.rpartition('@')[2]}", parts.path, parts.query, ""))


def with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    login, _, _ = parts.netloc.rpartition("@")
    return urlunsplit((parts.scheme, f"{login}@{parts.hostname}:{port}", parts.path, parts.query, ""))


def without_password(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(
        (parts.scheme, f"{parts.username}@{parts.netloc.rpartition('@')[2]}", parts.path, parts.query, "")
    )
