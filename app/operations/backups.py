"""`tenants backup` and `tenants restore`: one organization's rows, self-contained and verified.

The archive is a tar file holding manifest.json (organization, schema revision, per-table
counts and checksums) and the data: pg_dump's custom format when the organization has a
dedicated database of its own and pg_dump is installed, otherwise one COPY file a table.
A restore checks the target, loads the data, and compares counts and checksums with the
manifest before it reports success.
"""

import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from psycopg import sql
from sqlalchemy.engine import URL

from app.models.tenant import SKIP_GIVING_STATS_OPTION, skip_giving_stats
from app.operations.transfer import (
    TABLES,
    TableState,
    TransferError,
    WritableDatabase,
    column_list,
    org_states,
    other_organizations,
)
from app.tenancy.schema import head_revision

FORMAT_VERSION = 1


def _pg_env(url: URL, extra_options: str = "") -> dict:
    """libpq environment for pg_dump/pg_restore: the password never goes on a command line."""
    env = {
        **os.environ,
        "PGHOST": url.host or "",
        "PGPORT": str(url.port or 5432),
        "PGDATABASE": url.database or "",
        "PGUSER": url.username or "",
        "PGCONNECT_TIMEOUT": "10",
    }
    if url.password:
        env["PGPASSWORD"] = url.password
    if url.query.get("sslmode"):
        env["PGSSLMODE"] = url.query["sslmode"]
    if extra_options:
        env["PGOPTIONS"] = extra_options
    return env


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def backup(source: WritableDatabase, org_id: str, org_name: str, out: Path, *, dedicated: bool) -> dict:
    with source.connect() as conn:
        states = org_states(conn, org_id)
        sole = dedicated and not other_organizations(conn, org_id)
    use_pg_dump = sole and shutil.which("pg_dump") is not None
    manifest = {
        "format": FORMAT_VERSION,
        "organizationId": org_id,
        "organizationName": org_name,
        "schemaRevision": head_revision(),
        "createdAt": datetime.now(UTC).isoformat(),
        "source": source.label,
        "data": "pg_dump" if use_pg_dump else "copy",
        "tables": {t: {"count": s.count, "checksum": s.checksum} for t, s in states.items()},
    }
    partial = out.with_name(out.name + ".partial")  # never a half-written file under the final name
    with tarfile.open(partial, "w") as tar:
        _add(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
        if use_pg_dump:
            with tempfile.TemporaryDirectory() as tmp:
                dump = Path(tmp) / "data.dump"
                args = ["pg_dump", "--data-only", "--format=custom", f"--file={dump}"]
                args += [f'--table="{t}"' for t in TABLES]
                done = subprocess.run(args, env=_pg_env(source.url), capture_output=True, text=True, timeout=3600)
                if done.returncode != 0:
                    partial.unlink(missing_ok=True)
                    raise TransferError(
                        f"pg_dump failed: {done.stderr.strip().splitlines()[-1] if done.stderr else ''}"
                    )
                tar.add(dump, "data.dump")
        else:
            with source.connect() as conn, tempfile.TemporaryDirectory() as tmp:
                for table in TABLES:  # through a file, so memory stays flat however many rows
                    part = Path(tmp) / f"{table}.copy"
                    with (
                        part.open("wb") as handle,
                        conn.cursor().copy(
                            sql.SQL(
                                'COPY (SELECT {c} FROM {t} WHERE "organizationId" = %s ORDER BY id) TO STDOUT'
                            ).format(c=column_list(table), t=sql.Identifier(table)),
                            (org_id,),
                        ) as copy,
                    ):
                        for block in copy:
                            handle.write(block)
                    tar.add(part, f"{table}.copy")
    partial.replace(out)
    return manifest


def read_manifest(path: Path) -> dict:
    try:
        with tarfile.open(path, "r") as tar:
            manifest = json.load(tar.extractfile("manifest.json"))
    except (OSError, tarfile.TarError, KeyError, ValueError):
        raise TransferError(f"{path} is not a backup made by `tenants backup`.") from None
    if manifest.get("format") != FORMAT_VERSION:
        raise TransferError(f"{path} has backup format {manifest.get('format')}, this console reads {FORMAT_VERSION}.")
    return manifest


def restore(target: WritableDatabase, org_id: str, path: Path) -> dict[str, TableState]:
    manifest = read_manifest(path)
    if manifest["organizationId"] != org_id:
        raise TransferError(f"{path} holds {manifest['organizationId']}, not {org_id}.")
    if manifest["schemaRevision"] != head_revision():
        raise TransferError(
            f"{path} was made at schema {manifest['schemaRevision']}; this console is at "
            f"{head_revision()}. Restore it with the matching console version."
        )
    with target.connect() as conn:
        present = {t: s.count for t, s in org_states(conn, org_id).items() if s.count}
        if present:
            raise TransferError(
                f"{target.label} already holds rows of {org_id} ({present}); restore into an "
                "empty place, or move them away first."
            )
        conn.rollback()
        with tarfile.open(path, "r") as tar:
            if manifest["data"] == "pg_dump":
                _pg_restore(target, tar)
            else:
                with conn.transaction():  # all tables or none
                    skip_giving_stats(conn)  # donors carry their stats
                    for table in TABLES:
                        member = tar.extractfile(f"{table}.copy")
                        with conn.cursor().copy(
                            sql.SQL("COPY {t} ({c}) FROM STDIN").format(t=sql.Identifier(table), c=column_list(table))
                        ) as copy:
                            while chunk := member.read(1 << 20):
                                copy.write(chunk)
        states = org_states(conn, org_id)
    expected = {t: TableState(v["count"], v["checksum"]) for t, v in manifest["tables"].items()}
    if states != expected:
        raise TransferError(f"the restored rows differ from the backup's manifest: {states} vs {expected}")
    return states


def _pg_restore(target: WritableDatabase, tar: tarfile.TarFile) -> None:
    if shutil.which("pg_restore") is None:
        raise TransferError("this backup was made with pg_dump; restoring it needs pg_restore (postgresql-client).")
    with tempfile.TemporaryDirectory() as tmp:
        tar.extract("data.dump", tmp, filter="data")
        done = subprocess.run(
            [
                "pg_restore",
                "--data-only",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={target.url.database}",
                str(Path(tmp) / "data.dump"),
            ],
            env=_pg_env(target.url, SKIP_GIVING_STATS_OPTION),
            capture_output=True,
            text=True,
            timeout=3600,
        )
    if done.returncode != 0:
        raise TransferError(f"pg_restore failed: {done.stderr.strip().splitlines()[-1] if done.stderr else ''}")
