"""Settings from the environment, one class per mode.

APP_ENV picks the class (production is the default: secure unless told otherwise).
Every behaviour that differs between modes keys off that one setting.
"""

import base64
import binascii
import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance"))

# Keys that appear in tutorials and .env examples; a production console refuses them.
WELL_KNOWN_KEYS = {
    "dev",
    "secret",
    "changeme",
    "change-me",
    "secret-key",
    "your-secret-key",
    "supersecret",
    "development",
    "test",
    "testing",
    "password",
    "flask-secret",
}
MIN_SECRET_KEY_LENGTH = 32
# The example key from cryptography's documentation, and keys of one repeated byte.
WELL_KNOWN_FERNET_KEYS = {"cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4="}


class ConfigError(RuntimeError):
    """A setting is missing or unsafe; start-up stops with this message."""


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f'{name} must be "true" or "false", not {raw!r}')


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


def env_days(name: str, default: int | None) -> int | None:
    """A number of days, at least 1; empty means the default (None: forever)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name} must be a number of days (1 or more), or empty for its default, not {raw!r}")
    return int(raw)


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None


def normalize_database_url(url: str) -> str:
    """postgres:// and postgresql:// are both driven by psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    APP_ENV = "production"
    DEBUG = False
    TESTING = False
    SESSION_COOKIE_SECURE = True
    ALLOW_SQLITE_TENANTS_DEFAULT = False

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ECHO = False
    BOOTSTRAP_SERVE_LOCAL = True  # consoles run on closed networks; no CDN
    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead of a clock

    def __init__(self, **overrides):
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        default_db = f"sqlite:///{INSTANCE_DIR / 'console.db'}"
        self.DATABASE_URL = normalize_database_url(os.environ.get("DATABASE_URL") or default_db)
        self.SECRET_KEY = self.load_secret_key()
        self.ENABLE_MULTI_DATABASE = env_bool("ENABLE_MULTI_DATABASE", False)
        self.ALLOW_SQLITE_TENANTS = env_bool("ALLOW_SQLITE_TENANTS", self.ALLOW_SQLITE_TENANTS_DEFAULT)
        self.TENANT_URL_ENCRYPTION_KEY = os.environ.get("TENANT_URL_ENCRYPTION_KEY", "")
        self.TENANT_ENGINE_CACHE_SIZE = env_int("TENANT_ENGINE_CACHE_SIZE", 32)
        self.TENANT_POOL_SIZE = env_int("TENANT_POOL_SIZE", 2)
        self.TENANT_MAX_OVERFLOW = env_int("TENANT_MAX_OVERFLOW", 2)
        self.TENANT_CONNECT_TIMEOUT = env_int("TENANT_CONNECT_TIMEOUT", 5)
        self.TENANT_STATEMENT_TIMEOUT = env_float("TENANT_STATEMENT_TIMEOUT", 10)
        self.TENANT_RETRY_AFTER = env_float("TENANT_RETRY_AFTER", 30)
        # Longest hold of one organization's writes when a move cuts over (seconds).
        self.TENANT_MOVE_MAX_PAUSE = env_float("TENANT_MOVE_MAX_PAUSE", 2)
        # tenants provision: the maintenance URL (environment only: it holds a password) and the role's limit.
        self.TENANT_PROVISION_SERVER_URL = os.environ.get("TENANT_PROVISION_SERVER_URL", "")
        self.TENANT_PROVISION_CONNECTION_LIMIT = env_int("TENANT_PROVISION_CONNECTION_LIMIT", 20)
        # auto: a move yields to live traffic on its servers (app/operations/pacing.py); always; never.
        self.TENANT_MOVE_YIELD = os.environ.get("TENANT_MOVE_YIELD", "auto").strip().lower()
        if self.TENANT_MOVE_YIELD not in ("auto", "always", "never"):
            raise ConfigError(f'TENANT_MOVE_YIELD must be "auto", "always" or "never", not {self.TENANT_MOVE_YIELD!r}')
        self.TENANT_FALLBACK = os.environ.get("TENANT_FALLBACK", "main").strip().lower()
        if self.TENANT_FALLBACK not in ("main", "error"):
            raise ConfigError(f'TENANT_FALLBACK must be "main" or "error", not {self.TENANT_FALLBACK!r}')
        self.TENANT_DB_ALLOWED_HOSTS = os.environ.get("TENANT_DB_ALLOWED_HOSTS", "")
        self.TENANT_DB_DENIED_NETWORKS = os.environ.get("TENANT_DB_DENIED_NETWORKS", "")
        self.TENANT_TEST_RATE_LIMIT = os.environ.get("TENANT_TEST_RATE_LIMIT", "10/minute")
        self.TENANT_DB_REQUIRE_SSL = env_bool("TENANT_DB_REQUIRE_SSL", False)
        self.TENANT_DB_SSLROOTCERT = os.environ.get("TENANT_DB_SSLROOTCERT", "")
        self.FORCE_HTTPS = env_bool("FORCE_HTTPS", False)
        # Proxies in front of the console whose X-Forwarded-For/-Proto are believed (ProxyFix); 0: none.
        self.TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)
        # Host names the console answers to (TRUSTED_HOSTS; not Flask's own key of that name,
        # which would refuse the health checks that proxies send to an IP address too).
        self.TRUSTED_HOST_NAMES = [h.strip() for h in os.environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()]
        self.ADMIN_SESSION_IDLE_MINUTES = env_int("ADMIN_SESSION_IDLE_MINUTES", 30)
        self.LOGIN_RATE_LIMIT_IP = os.environ.get("LOGIN_RATE_LIMIT_IP", "20/minute")
        self.LOGIN_FAILURES_PER_ACCOUNT = os.environ.get("LOGIN_FAILURES_PER_ACCOUNT", "5/15minutes")
        self.LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
        self.REDIS_URL = os.environ.get("REDIS_URL", "")
        # Audit retention (flask --app wsgi audit prune, and the worker daily): tenant reads, everything else.
        self.AUDIT_READ_RETENTION_DAYS = env_days("AUDIT_READ_RETENTION_DAYS", 90)
        self.AUDIT_RETENTION_DAYS = env_days("AUDIT_RETENTION_DAYS", None)
        # Shared between workers when Redis is there; per process otherwise.
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        for key, value in overrides.items():
            setattr(self, key, value)
        self.SQLALCHEMY_DATABASE_URI = normalize_database_url(self.DATABASE_URL)
        # SQL echo can print parameters; never in production.
        self.SQLALCHEMY_ECHO = self.APP_ENV != "production" and env_bool("SQLALCHEMY_ECHO", False)
        self.check_encryption_key()
        if self.TRUSTED_PROXIES < 0:
            raise ConfigError("TRUSTED_PROXIES must be 0 or more (the number of proxies in front of the console).")
        if self.APP_ENV == "production" and self.FORCE_HTTPS and not self.TRUSTED_HOST_NAMES:
            raise ConfigError(
                "FORCE_HTTPS redirects to https://<host>: set TRUSTED_HOSTS (comma-separated host names "
                "the console answers to) so the redirect never takes its host from the request."
            )
        self.SQLALCHEMY_ENGINE_OPTIONS = main_engine_options(self.SQLALCHEMY_DATABASE_URI)

    def check_encryption_key(self) -> None:
        """TENANT_URL_ENCRYPTION_KEY: valid Fernet keys in every mode; no weak ones in production."""
        from cryptography.fernet import Fernet

        for key in [k.strip() for k in self.TENANT_URL_ENCRYPTION_KEY.split(",") if k.strip()]:
            try:
                raw = base64.urlsafe_b64decode(key.encode())
                Fernet(key.encode())
            except (ValueError, binascii.Error):
                raise ConfigError(
                    "TENANT_URL_ENCRYPTION_KEY must hold Fernet keys (32 url-safe base64 bytes), "
                    'for example: python3 -c "from cryptography.fernet import Fernet; '
                    'print(Fernet.generate_key().decode())"'
                ) from None
            if self.APP_ENV == "production" and (len(set(raw)) < 16 or key in WELL_KNOWN_FERNET_KEYS):
                raise ConfigError(
                    "TENANT_URL_ENCRYPTION_KEY holds a well-known or low-entropy key; generate a new one."
                )

    def load_secret_key(self) -> str:
        key = os.environ.get("SECRET_KEY", "")
        problem = secret_key_problem(key)
        if problem:
            raise ConfigError(
                f"SECRET_KEY {problem}. Set SECRET_KEY to a random value of at least "
                f"{MIN_SECRET_KEY_LENGTH} characters, for example: "
                'python3 -c "import secrets; print(secrets.token_urlsafe(48))"'
            )
        return key


def secret_key_problem(key: str) -> str | None:
    if not key:
        return "is not set"
    if key.strip().lower() in WELL_KNOWN_KEYS:
        return "is a well-known default"
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return f"is shorter than {MIN_SECRET_KEY_LENGTH} characters"
    return None


def main_engine_options(uri: str) -> dict:
    if uri.startswith("postgresql"):
        # A main database that does not answer must fail fast, not hang a worker.
        # (Stale pooled connections: app/pooling.py.)
        return {"connect_args": {"connect_timeout": 10}}
    return {}


class DevelopmentConfig(Config):
    APP_ENV = "development"
    DEBUG = True
    SESSION_COOKIE_SECURE = False
    ALLOW_SQLITE_TENANTS_DEFAULT = True

    def load_secret_key(self) -> str:
        if os.environ.get("SECRET_KEY"):
            return os.environ["SECRET_KEY"]
        # Generated once, so sessions survive restarts of `make run`.
        path = INSTANCE_DIR / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


class TestingConfig(Config):
    APP_ENV = "testing"
    TESTING = True
    # The suite serves plain http on 127.0.0.1, where a Secure cookie would not come back.
    SESSION_COOKIE_SECURE = False
    ALLOW_SQLITE_TENANTS_DEFAULT = True

    def load_secret_key(self) -> str:
        return os.environ.get("SECRET_KEY") or secrets.token_urlsafe(48)


CONFIGS = {"production": Config, "development": DevelopmentConfig, "testing": TestingConfig}


def config_class_from_env() -> type[Config]:
    name = os.environ.get("APP_ENV", "production").strip().lower() or "production"
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(f"APP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}") from None
