"""Tenant operations benchmark: a move of a million donors against the raw COPY pipeline,
and `tenants status` over 500 organizations with dead servers among them.

    .venv/bin/python -m bench.move [--database NAME] [--donors 1000000] [--skip-move] [--skip-status]

Move: one organization (1,000,000 donors, about 3,000,000 donations) moves from the shared
database to an empty, migrated one with `flask tenants move` (copy, verify, switch). The
ceiling is pg_restore's order for the same tables, timed in the same run: drop the target's
secondary indexes and foreign keys, then per table
    psql SRC -c 'COPY (SELECT ... WHERE "organizationId" = ...) TO STDOUT' | psql DST -c 'COPY ... FROM STDIN'
then build them again. Target: our rows/s >= 0.7 x the ceiling's, with the capture,
catch-up, verification and switch included. --database reuses a
database loaded by bench.donors --keep (a copy of it, migrated to head; its bench-org-1);
otherwise one is loaded here.

Status: 500 organizations, 200 behind a port where nothing listens, 200 behind a socket
that accepts and never answers, 100 on live databases. Target: wall time <= 2 x the
connect timeout (5 s).
"""

import argparse
import json
import os
import subprocess
import sys
import time

import psycopg

from app.operations import bulk_load
from bench.common import ROOT, Databases, Silent, db_url, free_port
from bench.donors import ORG, load

TABLES = ("Campaign", "Donor", "DonorPreference", "Donation")


def flask(args, database, **env):
    full = {**os.environ, "APP_ENV": "testing", "DATABASE_URL": db_url(database), **env}
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=full, capture_output=True, text=True
    )


def columns(database: str, table: str) -> str:
    with psycopg.connect(db_url(database)) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
            (table,),
        ).fetchall()
    return ", ".join(f'"{r[0]}"' for r in rows)


def raw_pipeline(source: str, target: str, org: str) -> float:
    """The pg_restore order: drop the target's secondary indexes and foreign keys, COPY each
    table through psql, build them again. All of it is timed."""
    started = time.monotonic()
    with psycopg.connect(db_url(target), autocommit=True) as conn:
        indexes = [row[0] for row in conn.execute(bulk_load.INDEXES, (bulk_load.QUOTED_TABLES,))]
        keys = conn.execute(bulk_load.FOREIGN_KEYS, (bulk_load.QUOTED_TABLES,)).fetchall()
        for table, name, _ in keys:
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for definition in indexes:
            conn.execute("DROP INDEX " + definition.split(" INDEX ", 1)[1].split(" ON ", 1)[0])
    for table in TABLES:
        cols = columns(source, table)
        out = f'COPY (SELECT {cols} FROM "{table}" WHERE "organizationId" = \'{org}\') TO STDOUT'
        into = f'COPY "{table}" ({cols}) FROM STDIN'
        pipeline = (
            f"psql -X -q -d {db_url(source)} -c {sh(out)} | "
            f"PGOPTIONS='-c donor_stats.skip=on' psql -X -q -v ON_ERROR_STOP=1 -d {db_url(target)} -c {sh(into)}"
        )
        subprocess.run(["bash", "-o", "pipefail", "-c", pipeline], check=True)
    with psycopg.connect(db_url(target), autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        for definition in indexes:
            conn.execute(definition)
        for table, name, definition in keys:
            conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    return time.monotonic() - started


def sh(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def bench_move(dbs: Databases, source: str, org: str) -> None:
    with psycopg.connect(db_url(source)) as conn:
        counts = {
            t: conn.execute(f'SELECT count(*) FROM "{t}" WHERE "organizationId" = %s', (org,)).fetchone()[0]
            for t in TABLES
        }
    total = sum(counts.values())
    ceiling_target, move_target = dbs.create("ceiling"), dbs.create("moved")
    ceiling = raw_pipeline(source, ceiling_target, org)
    started = time.monotonic()
    done = flask(["tenants", "move", org, "--to", db_url(move_target), "--json"], source)
    ours = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)
    verified = json.loads(done.stdout)["verified"]
    with psycopg.connect(db_url(source)) as conn:  # leave the source as it was, for the next run
        conn.execute("""UPDATE "Organization" SET "databaseUrl" = NULL WHERE id = %s""", (org,))
        conn.execute("""DELETE FROM "TenantFence" WHERE "organizationId" = %s""", (org,))
    print(f"\nmove of {org}: {', '.join(f'{t} {n:,}' for t, n in counts.items())} ({total:,} rows)")
    print(f"{'':<34}{'seconds':>10}{'rows/s':>12}")
    print(f"{'COPY into bare tables + indexes':<34}{ceiling:>10.1f}{total / ceiling:>12,.0f}")
    print(f"{'tenants move (online, all phases)':<34}{ours:>10.1f}{total / ours:>12,.0f}")
    ratio = ceiling / ours
    print(f"ratio: {ratio:.2f} of the ceiling  target >= 0.70  {'PASS' if ratio >= 0.7 else 'FAIL'}")
    assert all(verified[t]["count"] == n for t, n in counts.items())


def bench_status(dbs: Databases) -> None:
    main = dbs.create("status_main")
    live = [dbs.create(f"status_live{i}") for i in range(5)]
    silent, refused = Silent(), free_port()
    with psycopg.connect(db_url(main)) as conn:
        for i in range(500):
            if i < 200:
                url = f"postgresql://u:p@127.0.0.1:{refused}/db{i}"
            elif i < 400:
                url = f"postgresql://u:p@127.0.0.1:{silent.port}/db{i}"
            else:
                url = db_url(live[i % 5])
            conn.execute(
                """INSERT INTO "Organization" (id, name, "databaseUrl") VALUES (%s, %s, %s)""",
                (f"org-{i:03d}", f"Org {i}", url),
            )
    started = time.monotonic()
    done = flask(["tenants", "status", "--json"], main, ENABLE_MULTI_DATABASE="true", TENANT_CONNECT_TIMEOUT="5")
    wall = time.monotonic() - started
    rows = json.loads(done.stdout)
    codes = {}
    for row in rows:
        codes[row["code"]] = codes.get(row["code"], 0) + 1
    print(f"\ntenants status over {len(rows)} organizations: {wall:.1f} s wall (exit {done.returncode}); codes {codes}")
    print(f"target <= 2 x connect timeout = 10 s  {'PASS' if wall <= 10 else 'FAIL'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database")
    parser.add_argument("--donors", type=int, default=1_000_000)
    parser.add_argument("--skip-move", action="store_true")
    parser.add_argument("--skip-status", action="store_true")
    args = parser.parse_args()
    dbs = Databases("move")
    try:
        if not args.skip_move:
            if args.database:  # a copy, brought to head: the kept database is left as it was
                source = dbs.copy_of("source", args.database)
            else:
                source = dbs.create("source")
                load(source, args.donors, 1)
            bench_move(dbs, source, ORG.format(1))
        if not args.skip_status:
            bench_status(dbs)
    finally:
        dbs.drop_all()


if __name__ == "__main__":
    main()
