"""A PgBouncer in transaction mode on a free loopback port, in front of the suite's server.

Debian's pgbouncer refuses to run as root: as root it is started as the postgres user.
Any client user name is accepted (auth_type any) and every server connection logs in as
the server URL's user, so the same fixture works whatever TEST_DATABASE_URL carries.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from tests.pgserver import free_port, wait_for

INSTALL_HINT = "PgBouncer is needed for the pooler tests: sudo apt-get install pgbouncer"


class PgBouncer:
    def __init__(self, server_url: str, pool_size: int = 4):
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not Path(binary).exists():
            raise RuntimeError(INSTALL_HINT)
        server = make_url(server_url)
        self.port = free_port()
        self.pool_size = pool_size
        self.dir = Path(tempfile.mkdtemp(prefix="tdc-pgbouncer-"))
        login = f"user={server.username or 'postgres'}" + (f" password={server.password}" if server.password else "")
        (self.dir / "pgbouncer.ini").write_text(
            f"""[databases]
* = host={server.host or "127.0.0.1"} port={server.port or 5432} {login}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 200
server_reset_query =
logfile = {self.dir / "pgbouncer.log"}
pidfile = {self.dir / "pgbouncer.pid"}
"""
        )
        as_root = os.geteuid() == 0
        if as_root:
            shutil.chown(self.dir, "postgres", "postgres")
            for item in self.dir.iterdir():
                shutil.chown(item, "postgres", "postgres")
        args = [binary, "-d", *(["-u", "postgres"] if as_root else []), str(self.dir / "pgbouncer.ini")]
        subprocess.run(args, check=True, capture_output=True, timeout=30)
        if not wait_for(self._answers, timeout=15, step=0.1):
            raise RuntimeError(f"PgBouncer did not start: {self.log()}")

    def url(self, database: str) -> str:
        """A URL of database through this pooler, marked the way Prisma marks pooled URLs."""
        return f"postgresql://tenant@127.0.0.1:{self.port}/{database}?pgbouncer=true"

    def _answers(self) -> bool:
        try:
            with psycopg.connect(host="127.0.0.1", port=self.port, dbname="postgres", user="tenant", connect_timeout=2):
                return True
        except psycopg.Error:
            return False

    def log(self) -> str:
        path = self.dir / "pgbouncer.log"
        return path.read_text()[-2000:] if path.exists() else ""

    def stop(self) -> None:
        pidfile = self.dir / "pgbouncer.pid"
        if pidfile.exists():
            subprocess.run(["kill", pidfile.read_text().strip()], check=False, capture_output=True)
            wait_for(lambda: not pidfile.exists(), timeout=10, step=0.1)
        shutil.rmtree(self.dir, ignore_errors=True)
