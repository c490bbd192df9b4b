"""Database URLs: the one place for the rules on what an organization may point at.

Nothing here connects. parse_database_url() turns user text into a SQLAlchemy URL or
raises InvalidDatabaseUrl with a reason that never repeats the password.
"""

import ipaddress
import os
import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask_babel import lazy_gettext as _l
from sqlalchemy.engine import URL, make_url

ALLOWED_QUERY_KEYS = {"sslmode", "application_name", "pgbouncer"}
# Prisma's mark of a URL that goes through a transaction-mode pooler (PgBouncer, Supavisor):
# the console strips it before connecting and keeps no state beyond one transaction there.
POOLER_PARAM = "pgbouncer"
SUPABASE_POOLER_PORT = 6543  # Supavisor's transaction mode on Supabase hosts
# libpq's sslmode from weakest to strongest; no sslmode means prefer.
SSL_STRENGTH = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
SSL_MODES = frozenset(SSL_STRENGTH)
MAX_URL_LENGTH = 2048
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
ENCRYPTED_PREFIX = "enc:v1:"
ENV_PREFIX = "env:"
PERCENT_HINT = _l("percent-encode special characters in the user and password (@ is %40, : is %3A, / is %2F)")


class InvalidDatabaseUrl(ValueError):
    """The text is not a database URL this console accepts. str() is safe to show."""

    code = "invalid_url"


class ForbiddenTarget(InvalidDatabaseUrl):
    code = "forbidden_target"


class UnresolvableUrl(InvalidDatabaseUrl):
    """A stored env:/enc: form that cannot be turned into a URL right now."""


def parse_database_url(text, *, allow_sqlite: bool) -> URL:
    """Validate text and return it as a URL driven by psycopg 3 (or plain sqlite)."""
    if not isinstance(text, str):
        raise InvalidDatabaseUrl(_l("The database URL must be text."))
    text = text.strip()
    if not text:
        raise InvalidDatabaseUrl(_l("The database URL is empty."))
    if len(text) > MAX_URL_LENGTH:
        raise InvalidDatabaseUrl(_l("The database URL is longer than %(limit)d characters.", limit=MAX_URL_LENGTH))
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise InvalidDatabaseUrl(_l("The database URL contains spaces or control characters."))
    scheme, sep, _ = text.partition("://")
    if not sep:
        raise InvalidDatabaseUrl(_l("The database URL must start with postgresql://."))
    # Exact, lower-case schemes only: "PostgreSQL+psycopg2://", "sqlite+pysqlite://" and
    # friends are refused rather than guessed at.
    if scheme in ("postgresql", "postgres"):
        return _parse_postgres(text)
    if scheme == "sqlite":
        if not allow_sqlite:
            raise InvalidDatabaseUrl(_l("SQLite databases are not allowed here (ALLOW_SQLITE_TENANTS is off)."))
        return _parse_sqlite(text)
    raise InvalidDatabaseUrl(_l("Only postgresql:// (or postgres://) URLs are accepted; no other driver or scheme."))


def _make(text: str) -> URL:
    try:
        return make_url(text)
    except Exception:  # make_url raises several types; the reason must not echo the text
        raise InvalidDatabaseUrl(_l("The database URL could not be parsed; %(hint)s.", hint=PERCENT_HINT)) from None


def _parse_postgres(text: str) -> URL:
    if "," in text.partition("://")[2].split("/")[0].rpartition("@")[2]:
        raise InvalidDatabaseUrl(_l("Multiple hosts are not supported; give one host."))
    url = _make("postgresql+psycopg://" + text.partition("://")[2])
    host = url.host or ""
    if not host:
        raise InvalidDatabaseUrl(_l("The database URL has no host."))
    if "," in host:
        raise InvalidDatabaseUrl(_l("Multiple hosts are not supported; give one host."))
    if host.startswith("/") or "%2f" in host.lower():
        raise InvalidDatabaseUrl(_l("Unix-socket paths are not allowed; give a host name or IP address."))
    if not (_HOSTNAME.match(host) or _is_ip(host)):
        raise InvalidDatabaseUrl(_l("The host is not a valid host name or IP address; %(hint)s.", hint=PERCENT_HINT))
    try:
        port = url.port
    except ValueError:
        raise InvalidDatabaseUrl(_l("The port must be a number.")) from None
    if port is not None and not 0 < port < 65536:
        raise InvalidDatabaseUrl(_l("The port must be between 1 and 65535."))
    if not url.database or "/" in url.database:
        raise InvalidDatabaseUrl(_l("The database URL must name one database after the host, as in /org1_db."))
    for key, value in url.query.items():
        if key not in ALLOWED_QUERY_KEYS:
            raise InvalidDatabaseUrl(
                _l(
                    "The parameter %(key)s is not allowed; only sslmode, application_name and pgbouncer are.",
                    key=repr(key),
                )
            )
        if not isinstance(value, str):
            raise InvalidDatabaseUrl(_l("The parameter %(key)s is given more than once.", key=repr(key)))
    if url.query.get(POOLER_PARAM, "true") not in ("true", "false"):
        raise InvalidDatabaseUrl(_l("pgbouncer must be true or false."))
    sslmode = url.query.get("sslmode")
    if sslmode is not None and sslmode not in SSL_MODES:
        raise InvalidDatabaseUrl(_l("sslmode must be one of %(modes)s.", modes=", ".join(sorted(SSL_MODES))))
    return url


def _parse_sqlite(text: str) -> URL:
    if not text.startswith("sqlite:///") or "?" in text or "file:" in text.lower():
        raise InvalidDatabaseUrl(_l("A SQLite URL must be sqlite:///path/to/file.db, with no parameters."))
    url = _make(text)
    if not url.database or url.database == ":memory:":
        raise InvalidDatabaseUrl(_l("A SQLite URL must name a file."))
    return url


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def mask(url: URL | str | None) -> str:
    """user@host:port/db, for pages, logs and audit rows. Never the password."""
    if url is None:
        return ""
    if isinstance(url, str):
        try:
            url = make_url(url)
        except Exception:
            return "(unreadable URL)"
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{url.database}"
    user = f"{url.username}@" if url.username else ""
    port = f":{url.port}" if url.port else ""
    host = f"[{url.host}]" if url.host and ":" in url.host else (url.host or "")
    return f"{user}{host}{port}/{url.database or ''}"


def without_password(text: str) -> tuple[str, bool]:
    """A typed URL to give back in a form field: its password taken out (from the login or a
    password= parameter), and whether there was one."""
    parts = urlsplit(text.strip())
    login, at, host = parts.netloc.rpartition("@")
    user, colon, _ = login.partition(":")
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key.lower() != "password"]
    removed = bool(colon) or len(query) < len(parse_qsl(parts.query, keep_blank_values=True))
    netloc = f"{user}@{host}" if at else host
    given = urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe=":/"), ""))
    if "password" in given.lower():  # not a URL we can read (a key=value string, say): give nothing back
        return "", True
    return given, removed


def behind_pooler(url: URL) -> bool:
    """Whether url goes through a transaction-mode pooler: marked ?pgbouncer=true, or
    Supabase's pooler port."""
    if url.query.get(POOLER_PARAM) == "true":
        return True
    host = (url.host or "").lower().rstrip(".")
    return url.port == SUPABASE_POOLER_PORT and host.endswith((".supabase.com", ".supabase.co"))


def for_driver(url: URL) -> URL:
    """url as the driver takes it: without the pooler mark, which is not a libpq parameter."""
    return url.difference_update_query([POOLER_PARAM]) if POOLER_PARAM in url.query else url


def same_login(new: URL, stored: URL) -> bool:
    """new names the same server, database and user as stored, with TLS at least as strong."""
    strength = [SSL_STRENGTH.index(u.query.get("sslmode", "prefer")) for u in (new, stored)]
    return same_database(new, stored) and new.username == stored.username and strength[0] >= strength[1]


def same_database(a: URL, b: URL) -> bool:
    """Same server and database, whatever the credentials."""

    def key(u: URL):
        return (u.get_backend_name(), (u.host or "").lower(), u.port or 5432, u.database)

    return key(a) == key(b)


# -- stored forms --------------------------------------------------------------------


def storage_kind(stored: str | None) -> str:
    if stored is None:
        return "none"
    if stored.startswith(ENCRYPTED_PREFIX):
        return "encrypted"
    if stored.startswith(ENV_PREFIX):
        return "env"
    return "plain"


def fernet_for(keys: str) -> MultiFernet | None:
    """TENANT_URL_ENCRYPTION_KEY: comma-separated Fernet keys, newest first."""
    parts = [k.strip() for k in (keys or "").split(",") if k.strip()]
    if not parts:
        return None
    return MultiFernet([Fernet(k.encode()) for k in parts])


def resolve_stored(stored: str, fernet: MultiFernet | None, env: Mapping[str, str] = os.environ) -> str:
    """The URL text behind a stored "databaseUrl" value (plain, env:NAME or enc:v1:...)."""
    kind = storage_kind(stored)
    if kind == "env":
        name = stored[len(ENV_PREFIX) :]
        if not _ENV_NAME.match(name):
            raise UnresolvableUrl(_l("env: must be followed by an environment variable name."))
        value = env.get(name)
        if not value:
            raise UnresolvableUrl(_l("The environment variable %(name)s is not set.", name=name))
        return value
    if kind == "encrypted":
        if fernet is None:
            raise UnresolvableUrl(_l("The URL is encrypted but TENANT_URL_ENCRYPTION_KEY is not set."))
        try:
            return fernet.decrypt(stored[len(ENCRYPTED_PREFIX) :].encode()).decode()
        except (InvalidToken, ValueError):
            raise UnresolvableUrl(_l("The URL cannot be decrypted with any TENANT_URL_ENCRYPTION_KEY.")) from None
    return stored


def resolve(stored: str | None, env: Mapping[str, str] = os.environ) -> str | None:
    """For the platform's writers (docs/platform.md): the connection URL behind a stored
    "databaseUrl", or None for shared mode (use the main database). Reads
    TENANT_URL_ENCRYPTION_KEY (Fernet keys, newest first) and env:NAME variables from env.
    Raises UnresolvableUrl (a ValueError) for a value it cannot turn into a URL: never fall
    back to the main database then."""
    if stored is None:
        return None
    return resolve_stored(stored, fernet_for(env.get("TENANT_URL_ENCRYPTION_KEY", "")), env)


def seal(url_text: str, fernet: MultiFernet | None) -> str:
    """The form to store: encrypted when a key is configured, as given otherwise."""
    if fernet is None or storage_kind(url_text) == "env":
        return url_text
    return ENCRYPTED_PREFIX + fernet.encrypt(url_text.encode()).decode()


def rotate(stored: str, fernet: MultiFernet) -> str:
    """Re-encrypt under the newest key (MultiFernet.rotate keeps the plaintext)."""
    return ENCRYPTED_PREFIX + fernet.rotate(stored[len(ENCRYPTED_PREFIX) :].encode()).decode()


def render(url: URL) -> str:
    """The full URL text, password included: only for storing or connecting, never for display.

    Every reserved character of the user and password is percent-encoded (SQLAlchemy's own
    rendering leaves spaces and + alone), so the text parses back to the same URL.
    """
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{url.database}"
    auth = ""
    if url.username is not None:
        auth = quote(url.username, safe="")
        if url.password is not None:
            auth += ":" + quote(str(url.password), safe="")
        auth += "@"
    host = f"[{url.host}]" if url.host and ":" in url.host else (url.host or "")
    port = f":{url.port}" if url.port else ""
    query = f"?{urlencode(sorted(url.query.items()))}" if url.query else ""
    return f"postgresql://{auth}{host}{port}/{quote(url.database or '', safe='')}{query}"


def connect_params(url: URL, **extra) -> dict:
    """psycopg keyword arguments for a validated PostgreSQL URL (the password passed as a value,
    never through a command line or a conninfo string)."""
    params = {
        "host": url.host,
        "port": url.port or 5432,
        "dbname": url.database,
        "user": url.username,
        "password": url.password,
        **dict(for_driver(url).query),
        **extra,
    }
    return {key: value for key, value in params.items() if value is not None}
