"""Provisioning benchmark: `flask tenants provision` for 20 organizations of 1,000 donors each.

    .venv/bin/python -m bench.provision [--orgs 20] [--donors 1000] [--donations 2]

Loads a migrated main database with N organizations ("org-01"...) in shared mode, each
with 1,000 donors (and 2 donations per donor), and creates a maintenance role the way an
operator would (LOGIN CREATEDB CREATEROLE, not a superuser). Then, one organization after
the other, runs as a subprocess

    python -m flask --app wsgi tenants provision ORG --server <maintenance URL> --json

(create the role and the database, migrate it, move the organization's rows online,
switch), timed end to end. Target: under 5 s per organization, of which the CREATE
DATABASE (the command's createDatabaseMs) under 0.5 s. The end-to-end time includes a
Python process start (the command migrates the new database in its own process): the same run
times `flask --app wsgi --help` (the start-up alone), a bare `flask db upgrade` of an empty
database and a bare `CREATE DATABASE ... STRATEGY WAL_LOG` (5 times, through psycopg), so
the fixed costs can be read beside the totals.

Afterwards checks each organization: its "databaseUrl" is set, its role has connection
limit 20 and none of superuser, CREATEDB or CREATEROLE, and its database holds its donors.
Every database and role made here is dropped at the end (the tenant_org_* ones too).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid

import psycopg
from psycopg import sql

from app.operations.provision import default_names
from bench.common import ROOT, SERVER, Databases, admin_sql, db_url, fill_donors, percentile, upgrade

MAINTENANCE_ROLE = "bench_provisioner"
TARGET_TOTAL_S = 5.0
TARGET_CREATE_MS = 500.0
CONNECTION_LIMIT = 20  # TENANT_PROVISION_CONNECTION_LIMIT's default
COMMAND_TIMEOUT = 300

STARTED = time.monotonic()


def progress(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:7.1f}s] {message}", flush=True)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def maintenance_url() -> str:
    return SERVER.split("://", 1)[0] + f"://{MAINTENANCE_ROLE}@" + SERVER.split("@", 1)[1]


def flask(args: list[str], main_db: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "DATABASE_URL": db_url(main_db),
        "ENABLE_MULTI_DATABASE": "true",
    }
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )


def setup(dbs: Databases, orgs: list[str], donors: int, donations: int) -> str:
    main = dbs.create("main")
    with psycopg.connect(db_url(main)) as conn:
        for i, org in enumerate(orgs, 1):
            conn.execute("""INSERT INTO "Organization" (id, name) VALUES (%s, %s)""", (org, f"Organization {i:02d}"))
            fill_donors(conn, org, donors)
            if donations:
                conn.execute(
                    """
                    INSERT INTO "Donation" (id, "organizationId", "donorId", amount, date, method)
                    SELECT %(org)s || '-gift-' || g || '-' || k, %(org)s, %(org)s || '-' || g,
                           10 + (g * k) %% 90, DATE '2025-01-01' + ((g + k) %% 300), 'card'
                    FROM generate_series(1, %(n)s) g, generate_series(1, %(k)s) k""",
                    {"org": org, "n": donors, "k": donations},
                )
    with psycopg.connect(db_url(main), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    return main


def leftovers(names: list[str]) -> tuple[list[str], list[str]]:
    """Which of these names exist already as a database or a role on the server."""
    with psycopg.connect(SERVER, autocommit=True) as conn:
        dbs = [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", (names,))]
        roles = [r[0] for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (names,))]
    return dbs, roles


def time_startup(main_db: str) -> float:
    started = time.perf_counter()
    done = flask(["--help"], main_db)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        print(f"flask --help exited {done.returncode}:\n{done.stderr}")
    return seconds


def time_bare_upgrade(dbs: Databases) -> float:
    name = dbs.create("upgrade_probe", template=None)
    started = time.perf_counter()
    upgrade(name)
    return time.perf_counter() - started


def time_create_database(times: int) -> list[float]:
    """CREATE DATABASE ... STRATEGY WAL_LOG from template1, as the command does, then DROP: ms each."""
    results = []
    with psycopg.connect(SERVER, autocommit=True) as conn:
        for _ in range(times):
            name = f"bench_provision_create_{uuid.uuid4().hex[:8]}"
            started = time.perf_counter()
            conn.execute(sql.SQL("CREATE DATABASE {} STRATEGY WAL_LOG").format(sql.Identifier(name)))
            results.append((time.perf_counter() - started) * 1000)
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    return results


def provision_all(main_db: str, orgs: list[str], made: dict) -> list[dict]:
    results = []
    for org in orgs:
        started = time.perf_counter()
        done = flask(["tenants", "provision", org, "--server", maintenance_url(), "--json"], main_db)
        seconds = time.perf_counter() - started
        row = {"org": org, "seconds": seconds, "returncode": done.returncode, "summary": None}
        if done.returncode == 0:
            try:
                row["summary"] = json.loads(done.stdout)
                made[org] = (row["summary"]["database"], row["summary"]["role"])
            except (json.JSONDecodeError, KeyError):
                row["returncode"] = "bad json"
        if row["summary"] is None:
            row["stdout"], row["stderr"] = done.stdout, done.stderr
            progress(f"  {org}: FAILED (exit {row['returncode']}) after {seconds:.2f} s; stderr:")
            for line in (done.stderr or "").rstrip().splitlines():
                print(f"    ! {line}")
            for line in (done.stdout or "").rstrip().splitlines()[-10:]:
                print(f"    | {line}")
        else:
            ms = row["summary"]["createDatabaseMs"]
            progress(f"  {org}: {seconds:.2f} s, CREATE DATABASE {ms} ms")
        results.append(row)
    return results


def verify(main_db: str, orgs: list[str], donors: int, made: dict) -> list[str]:
    """What is wrong with each organization after its provisioning (empty: all right)."""
    problems = []
    with psycopg.connect(db_url(main_db)) as conn:
        urls = dict(conn.execute("""SELECT id, "databaseUrl" FROM "Organization" WHERE id = ANY(%s)""", (orgs,)))
    with psycopg.connect(SERVER, autocommit=True) as conn:
        for org in orgs:
            if org not in made:
                problems.append(f"{org}: not provisioned")
                continue
            database, role = made[org]
            if not urls.get(org):
                problems.append(f'{org}: "databaseUrl" is not set')
            attrs = conn.execute(
                "SELECT rolconnlimit, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = %s", (role,)
            ).fetchone()
            if attrs is None:
                problems.append(f"{org}: role {role} is missing")
            else:
                limit, superuser, createdb, createrole = attrs
                if limit != CONNECTION_LIMIT:
                    problems.append(f"{org}: role {role} has connection limit {limit}, not {CONNECTION_LIMIT}")
                if superuser or createdb or createrole:
                    problems.append(
                        f"{org}: role {role} has super={superuser} createdb={createdb} createrole={createrole}"
                    )
            owner = conn.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (database,)
            ).fetchone()
            if owner is None or owner[0] != role:
                problems.append(f"{org}: database {database} owner {owner[0] if owner else 'missing'}, not {role}")
                continue
            with psycopg.connect(db_url(database)) as tenant:
                count = tenant.execute(
                    """SELECT count(*) FROM "Donor" WHERE "organizationId" = %s""", (org,)
                ).fetchone()[0]
            if count != donors:
                problems.append(f"{org}: {count} donors in {database}, not {donors}")
    return problems


def cleanup(made: dict, orgs: list[str]) -> None:
    """Drop the tenant databases and roles of these organizations (the default names, whether or not
    the command finished), then the maintenance role."""
    names = sorted({default_names(org) for org in orgs} | {n for pair in made.values() for n in pair})
    with psycopg.connect(SERVER, autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        for name in names:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
                conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (MAINTENANCE_ROLE,)).fetchone():
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(MAINTENANCE_ROLE)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(MAINTENANCE_ROLE)))


def report(results, startup_s, upgrade_s, create_ms, problems, donors, donations) -> None:
    print(f"\n{'organization':<14}{'total s':>9}{'create ms':>11}  steps")
    for row in results:
        summary = row["summary"]
        if summary is None:
            print(f"{row['org']:<14}{row['seconds']:>9.2f}{'—':>11}  FAILED (exit {row['returncode']})")
            continue
        ms = summary["createDatabaseMs"]
        steps = "; ".join(s for s in summary["steps"] if not s.startswith("database "))
        print(f"{row['org']:<14}{row['seconds']:>9.2f}{ms if ms is not None else '—':>11}  {steps}")
    done = [r for r in results if r["summary"] is not None]
    totals = [r["seconds"] for r in done]
    creates = [r["summary"]["createDatabaseMs"] for r in done if r["summary"]["createDatabaseMs"] is not None]
    print(
        f"\n{len(done)} of {len(results)} organizations provisioned "
        f"({donors:,} donors and {donors * donations:,} donations each)"
    )
    if totals:
        print(
            f"end to end: p50 {percentile(totals, 50):.2f} s, max {max(totals):.2f} s  "
            f"target < {TARGET_TOTAL_S:g} s each  {verdict(len(done) == len(results) and max(totals) < TARGET_TOTAL_S)}"
        )
    if creates:
        print(
            f"CREATE DATABASE (createDatabaseMs): p50 {percentile(creates, 50):.1f} ms, max {max(creates):.1f} ms  "
            f"target < {TARGET_CREATE_MS:g} ms  "
            f"{verdict(len(creates) == len(results) and max(creates) < TARGET_CREATE_MS)}"
        )
    print(
        f"baselines in this run: `python -m flask --app wsgi --help` {startup_s:.2f} s (a process start and the "
        f"app's import, paid once by the command); "
        f"bare `flask db upgrade` of an empty database {upgrade_s:.2f} s; "
        f"bare CREATE DATABASE ... STRATEGY WAL_LOG median {statistics.median(create_ms):.1f} ms "
        f"({', '.join(f'{ms:.0f}' for ms in create_ms)})"
    )
    if totals:
        print(
            f"  the end-to-end p50 less the start-up ({startup_s:.2f} s): "
            f"{percentile(totals, 50) - startup_s:.2f} s for the role, the database, its migration and the online move"
        )
    if problems:
        print(f"verification: {len(problems)} problems  FAIL")
        for problem in problems:
            print(f"  ! {problem}")
    else:
        print(
            f'verification: every organization has its "databaseUrl" set, a role with connection limit '
            f"{CONNECTION_LIMIT} and no superuser/CREATEDB/CREATEROLE, and {donors:,} donors in its own database  PASS"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=20)
    parser.add_argument("--donors", type=int, default=1000)
    parser.add_argument("--donations", type=int, default=2, help="per donor")
    args = parser.parse_args()
    orgs = [f"org-{i:02d}" for i in range(1, args.orgs + 1)]
    names = [default_names(org) for org in orgs]
    existing_dbs, existing_roles = leftovers(names + [MAINTENANCE_ROLE])
    if existing_dbs or existing_roles:
        raise SystemExit(
            f"already on the server (another run?): databases {existing_dbs}, roles {existing_roles}; nothing was done"
        )
    made: dict[str, tuple[str, str]] = {}
    dbs = Databases("provision")
    progress(f"migrated template {dbs.template}")
    try:
        main_db = setup(dbs, orgs, args.donors, args.donations)
        progress(f"main database {main_db}: {len(orgs)} organizations x {args.donors:,} donors, shared mode")
        admin_sql(f"CREATE ROLE {MAINTENANCE_ROLE} LOGIN CREATEDB CREATEROLE")
        progress(f"maintenance role {MAINTENANCE_ROLE} (LOGIN CREATEDB CREATEROLE, not a superuser)")
        startup_s = time_startup(main_db)
        upgrade_s = time_bare_upgrade(dbs)
        create_ms = time_create_database(5)
        progress(
            f"baselines: flask --help {startup_s:.2f} s, flask db upgrade {upgrade_s:.2f} s, "
            f"CREATE DATABASE median {statistics.median(create_ms):.1f} ms"
        )
        progress(f"provisioning {len(orgs)} organizations one after the other")
        results = provision_all(main_db, orgs, made)
        problems = verify(main_db, orgs, args.donors, made)
        report(results, startup_s, upgrade_s, create_ms, problems, args.donors, args.donations)
    finally:
        cleanup(made, orgs)
        dbs.drop_all()
        progress("dropped every database and role made here")


if __name__ == "__main__":
    main()
