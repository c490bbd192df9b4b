"""Bringing one database to the schema head: the guide's step 3 ("run the migrations on
every database"), done by the same `flask --app wsgi db upgrade` an operator would run.

Each upgrade runs in its own process (Alembic's context is process-global), so several
databases can be upgraded at once; the URL travels in the child's environment, never on
its command line.
"""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from app.tenancy.urls import render

ROOT = Path(__file__).resolve().parents[2]
UPGRADE_TIMEOUT = 600


@dataclass
class UpgradeResult:
    ok: bool
    message: str


def upgrade_database(url: URL) -> UpgradeResult:
    env = {**os.environ, "DATABASE_URL": render(url), "APP_ENV": os.environ.get("APP_ENV", "production")}
    env.setdefault("SECRET_KEY", "x" * 48)  # the child only migrates; it serves nothing
    try:
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=UPGRADE_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return UpgradeResult(False, f"the upgrade did not finish within {UPGRADE_TIMEOUT} s")
    if done.returncode == 0:
        return UpgradeResult(True, "upgraded to head")
    lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")] or lines[-1:] or ["the upgrade failed"]
    return UpgradeResult(False, errors[0].removeprefix("error: "))
