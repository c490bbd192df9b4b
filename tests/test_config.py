"""Settings: APP_ENV decides the mode; production refuses unsafe keys."""

import os

import pytest

import config
from config import Config, ConfigError, DevelopmentConfig


@pytest.mark.parametrize(
    "key, problem",
    [
        (None, "is not set"),
        ("changeme", "well-known"),
        ("short-but-not-known", "shorter than"),
    ],
)
def test_production_refuses_missing_short_or_known_secret_key(monkeypatch, key, problem):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    if key:
        monkeypatch.setenv("SECRET_KEY", key)
    with pytest.raises(ConfigError, match=problem):
        Config()


def test_production_is_secure_by_default(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.delenv("APP_ENV", raising=False)
    cfg = config.config_class_from_env()()
    assert cfg.APP_ENV == "production"
    assert cfg.SESSION_COOKIE_SECURE and cfg.REMEMBER_COOKIE_SECURE
    assert not cfg.DEBUG and not cfg.ALLOW_SQLITE_TENANTS


def test_development_generates_its_key_once(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    first, second = DevelopmentConfig(), DevelopmentConfig()
    assert first.SECRET_KEY == second.SECRET_KEY and len(first.SECRET_KEY) >= 32
    assert (tmp_path / "secret_key").read_text() == first.SECRET_KEY
    assert not first.SESSION_COOKIE_SECURE and first.ALLOW_SQLITE_TENANTS


@pytest.mark.parametrize("given", ["postgres://u:p@127.0.0.1:5432/db", "postgresql://u:p@127.0.0.1:5432/db"])
def test_both_postgres_schemes_are_driven_by_psycopg(monkeypatch, given):
    monkeypatch.setenv("DATABASE_URL", given)
    assert config.TestingConfig().SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u:p@127.0.0.1:5432/db"


def test_default_database_is_sqlite_under_instance(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    uri = config.TestingConfig().SQLALCHEMY_DATABASE_URI
    assert uri.startswith("sqlite:///") and uri.endswith("instance/console.db")


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("ENABLE_MULTI_DATABASE", "maybe", "true"),
        ("TENANT_POOL_SIZE", "two", "whole number"),
        ("TENANT_FALLBACK", "somewhere", "main"),
        ("APP_ENV", "staging", "APP_ENV"),
    ],
)
def test_bad_settings_stop_start_up_with_a_clear_message(monkeypatch, name, value, message):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        config.config_class_from_env()()


def test_gunicorn_with_a_weak_secret_key_stops_with_one_clear_line(tmp_path):
    """Not a worker booted again and again forever: gunicorn stops, saying why."""
    import subprocess
    import sys
    from pathlib import Path

    env = dict(os.environ, APP_ENV="production", SECRET_KEY="dev", INSTANCE_PATH=str(tmp_path))
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "wsgi:app"],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "Worker failed to boot" in result.stderr
    assert "error: SECRET_KEY is a well-known default" in result.stderr and "Traceback" not in result.stderr
