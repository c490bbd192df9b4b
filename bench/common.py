"""Shared pieces of the benchmarks: throwaway databases, a gunicorn server, signed-in
HTTP clients on keep-alive connections, and percentiles. Loopback only, bounded in time."""

import http.client
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import psycopg

ROOT = Path(__file__).resolve().parents[1]
SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench-password-0123456789"


def db_url(name: str) -> str:
    return SERVER.rsplit("/", 1)[0] + "/" + name


def admin_sql(statement: str) -> None:
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(statement)


def upgrade(name: str) -> None:
    env = dict(os.environ, APP_ENV="testing", DATABASE_URL=db_url(name))
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


class Databases:
    """Creates databases copied from one migrated template; drops them all on exit."""

    def __init__(self, label: str):
        self.prefix = f"bench_{label}_{uuid.uuid4().hex[:6]}"
        self.names: list[str] = []
        self.template = self.create("tpl", template=None)
        upgrade(self.template)

    def copy_of(self, suffix: str, kept: str) -> str:
        """A copy of a kept database (CREATE DATABASE ... TEMPLATE), brought to head: the kept one stays as it was."""
        name = f"{self.prefix}_{suffix}"
        admin_sql(f'CREATE DATABASE "{name}" TEMPLATE "{kept}"')
        self.names.append(name)
        upgrade(name)
        return name

    def create(self, suffix: str, template: str | None = "default") -> str:
        name = f"{self.prefix}_{suffix}"
        tpl = f' TEMPLATE "{self.template}"' if template == "default" else ""
        admin_sql(f'CREATE DATABASE "{name}"{tpl}')
        self.names.append(name)
        return name

    def drop_all(self) -> None:
        for name in reversed(self.names):
            admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(env_overrides: dict, workers: int = 2, threads: int = 4, root: Path = ROOT):
    """The console checked out at root, served on a free loopback port (yielded)."""
    port = free_port()
    env = {**os.environ, "APP_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48), **env_overrides}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=root,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start")
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


class Client:
    """One signed-in browser-like client on a keep-alive connection."""

    def __init__(self, port: int, email: str, password: str = PASSWORD):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie = ""
        page = self.get("/login")[1]
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        status, _ = self.request(
            "POST",
            "/login",
            urlencode({"email": email, "password": password, "csrf_token": token}),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        if status != 302:
            raise RuntimeError(f"sign-in failed: {status}")

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookie:
            headers["Cookie"] = self.cookie
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            # The server closed an idle keep-alive connection: open a new one, once.
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        data = response.read().decode()
        for value in response.headers.get_all("Set-Cookie") or []:
            if value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        return response.status, data

    def get(self, path):
        return self.request("GET", path)


def run_load(port: int, email: str, paths, clients: int, seconds: float) -> dict:
    """clients threads request paths round-robin for `seconds`; returns latencies and statuses."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    counter = iter(range(10**12))
    sessions = [Client(port, email) for _ in range(clients)]
    deadline = time.monotonic() + seconds

    def worker(client: Client):
        local, codes = [], {}
        while time.monotonic() < deadline:
            path = paths[next(counter) % len(paths)]
            start = time.perf_counter()
            status, _ = client.get(path)
            local.append(time.perf_counter() - start)
            codes[status] = codes.get(status, 0) + 1
        with lock:
            latencies.extend(local)
            for code, n in codes.items():
                statuses[code] = statuses.get(code, 0) + n

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(c,)) for c in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "statuses": statuses,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
    }


def percentile(values, pct: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


class ConnectionSampler:
    """Samples pg_stat_activity for the console's tenant connections (by application_name; "%" for
    every connection, such as a pooler's server connections)."""

    def __init__(self, application_name: str = "tenant-console", datname_prefix: str = ""):
        self.query = "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE %s AND datname LIKE %s"
        self.params = (application_name, datname_prefix + "%")
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        with psycopg.connect(SERVER, autocommit=True) as conn:
            while not self._stop.is_set():
                self.peak = max(self.peak, conn.execute(self.query, self.params).fetchone()[0])
                time.sleep(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)


def add_bench_admin(conn: psycopg.Connection) -> None:
    """The owner every benchmark client signs in as."""
    from argon2 import PasswordHasher

    conn.execute(
        """INSERT INTO "AdminUser" (email, "passwordHash", role) VALUES ('bench@example.org', %s, 'owner')
                    ON CONFLICT (email) DO NOTHING""",
        (PasswordHasher().hash(PASSWORD),),
    )


def fill_donors(conn: psycopg.Connection, org: str, count: int) -> None:
    conn.execute(
        """
        INSERT INTO "Donor" (id, "organizationId", "firstName", "lastName", email)
        SELECT %(org)s || '-' || g, %(org)s, 'First' || g, 'Last' || (g %% 97), 'd' || g || '@example.org'
        FROM generate_series(1, %(n)s) g""",
        {"org": org, "n": count},
    )


class Silent:
    """A loopback socket that accepts connections and never says a word: a database that hangs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


@contextmanager
def stderr_to(path: str):
    """Processes started inside write their standard error to path (gunicorn logs every request)."""
    saved = os.dup(2)
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stderr.flush()
    os.dup2(target, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(target)
