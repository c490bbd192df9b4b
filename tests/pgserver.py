"""Which PostgreSQL server the suite uses, and throwaway clusters for fault tests.

TEST_DATABASE_URL when set; otherwise the server on 127.0.0.1:5432 if one answers;
otherwise a throwaway cluster started with initdb/pg_ctl; otherwise the run stops with
a message saying how to install PostgreSQL. The PostgreSQL tests are never skipped.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
INSTALL_HINT = (
    "PostgreSQL is needed to run the tests. Install it (Debian/Ubuntu: sudo apt-get install postgresql), "
    "or set TEST_DATABASE_URL=postgresql://user:password@127.0.0.1:5432/postgres"
)


def answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    return str(candidates[0]) if candidates else None


class TempCluster:
    """A PostgreSQL cluster in a temporary folder on a free 127.0.0.1 port (trust auth)."""

    def __init__(self, password: str | None = None):
        """trust auth, or scram-sha-256 with this password for the postgres superuser."""
        self.password = password
        self.initdb, self.pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
        if not (self.initdb and self.pg_ctl):
            raise RuntimeError(INSTALL_HINT)
        self.dir = Path(tempfile.mkdtemp(prefix="tdc-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        # initdb refuses to run as root; the postgres system user exists wherever the server package is.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres", "postgres")
        auth = ["--auth=trust"]
        if password:
            pwfile = self.dir / "pwfile"
            pwfile.write_text(password + "\n")
            if self.as_user:
                shutil.chown(pwfile, "postgres", "postgres")
            auth = ["--auth=scram-sha-256", f"--pwfile={pwfile}"]
        self._run([self.initdb, "-D", str(self.data), "-U", "postgres", *auth, "-E", "UTF8", "--no-sync"])

    @property
    def url(self) -> str:
        from urllib.parse import quote

        auth = f"postgres:{quote(self.password, safe='')}" if self.password else "postgres"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/postgres"

    def _run(self, args: list[str]) -> None:
        subprocess.run(self.as_user + args, check=True, capture_output=True, timeout=120)

    def start(self, extra: str = "") -> None:
        opts = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.dir} -c fsync=off {extra}"
        )
        self._run([self.pg_ctl, "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start"])

    def stop(self) -> None:
        self._run([self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"])

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def find_server() -> tuple[str, TempCluster | None]:
    """The maintenance URL of the server to use, and the cluster to stop afterwards, if any."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        if not answers(given):
            raise RuntimeError(f"TEST_DATABASE_URL does not answer ({make_url(given).host}).")
        return given, None
    if answers(LOCAL_URL):
        return LOCAL_URL, None
    cluster = TempCluster()
    cluster.start()
    return cluster.url, cluster


def database_url(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def unique_name(label: str) -> str:
    return f"tdc_{label}_{uuid.uuid4().hex[:10]}"


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        template_sql = f' TEMPLATE "{template}"' if template else ""
        conn.execute(f'CREATE DATABASE "{name}"{template_sql}')
    return database_url(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_for(predicate, timeout: float = 10, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
