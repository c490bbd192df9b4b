"""Donor browsing benchmark: pages at 1,000,000 donors per organization, against their raw SQL.

    .venv/bin/python -m bench.donors [--donors 1000000] [--orgs 5] [--requests 200] [--keep | --database NAME]

One PostgreSQL database holds ORGS x DONORS donors (about 3 donations each), loaded by
`flask demo-data` (its COPY path), two organizations at a time. The app is served by
gunicorn; one client requests each page REQUESTS times and reports p50/p95. In the same
run, the SQL each page sends (captured from the app itself at the driver, grouped by round
trip) is replayed through raw psycopg, interleaved with the page requests, so the pages
are judged by ratios:
  - each page's p50 <= 3 x its raw SQL p50 + 5 ms, against all the SQL the request sends
    and, stricter, against its tenant queries alone;
  - the page 10,000 pages deep (reached by following rel=next) within 1.5 x the first page;
  - the same deep page the Django-admin way (OFFSET + COUNT(*)), for contrast;
  - a CSV export of one organization's donors with the worker's peak RSS under 150 MB;
  - rare-match searches (a name substring matching about 10 donors, an email prefix
    without "@", a search matching nothing), the worst case a user meets: every page is
    measured after WARM_RUNS requests, past the point where a prepared statement would
    switch to a generic plan; the raw SQL is replayed unprepared (its custom plan);
  - the plan choice itself: each rare search run 25 times on one connection, prepared
    (psycopg's default: PostgreSQL may switch to a generic plan from the 6th run), prepared
    with plan_cache_mode = force_custom_plan, prepared with the generic plan forced (the
    worst case the default can reach), and never prepared (what the console does).
--keep leaves the loaded database for another run with --database NAME.
"""

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import psycopg

from bench.common import PASSWORD, ROOT, Client, Databases, add_bench_admin, admin_sql, db_url, gunicorn, percentile

ORG = "bench-org-{}"
DEEP_PAGES = 10_000
WARM_RUNS = 25


def load(database: str, donors: int, orgs: int) -> None:
    env = dict(os.environ, APP_ENV="testing", DATABASE_URL=db_url(database))

    def one(n: int) -> None:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "flask",
                "--app",
                "wsgi",
                "demo-data",
                "--donors",
                str(donors),
                "--org",
                ORG.format(n),
                "--seed",
                str(n),
            ],
            cwd=ROOT,
            env=env,
            check=True,
        )

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:  # two cores: two loaders at a time
        list(pool.map(one, range(1, orgs + 1)))
    with psycopg.connect(db_url(database), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"loaded {orgs} x {donors:,} donors in {time.monotonic() - started:.0f} s")


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def capture_sql(database: str, secret: str, path: str) -> list[list[tuple[str, dict, str]]]:
    """Every statement the app sends for one request of path (signed-in admin, organization,
    audit row, tenant queries) with the application_name of its connection ("tenant-console"
    for tenant queries), grouped as sent: statements sent in one pipeline form one group.

    Captured at the driver (psycopg's Cursor.execute), where the pipelined statements pass too."""
    from app import create_app
    from config import TestingConfig

    app = create_app(TestingConfig, DATABASE_URL=db_url(database), SECRET_KEY=secret, WTF_CSRF_ENABLED=False)
    groups: list[list[tuple[str, dict, str]]] = []
    pipeline = [None]  # the connection whose pipeline the last group came from
    capturing = threading.Event()
    execute = psycopg.Cursor.execute

    def listen(cursor, query, params=None, **kwargs):
        if capturing.is_set() and not str(query).strip().lower().startswith("select 1"):  # pool pings
            conn = cursor.connection
            entry = (query, params, conn.info.parameter_status("application_name"))
            if conn.pgconn.pipeline_status != psycopg.pq.PipelineStatus.OFF and conn is pipeline[0]:
                groups[-1].append(entry)
            else:
                groups.append([entry])
                pipeline[0] = conn if conn.pgconn.pipeline_status != psycopg.pq.PipelineStatus.OFF else None
        return execute(cursor, query, params, **kwargs)

    psycopg.Cursor.execute = listen
    try:
        client = app.test_client()
        client.post("/login", data={"email": "bench@example.org", "password": PASSWORD})
        client.get(path)  # warm (connections, schema check)
        capturing.set()
        response = client.get(path)
        capturing.clear()
        assert response.status_code == 200, response.status_code
    finally:
        psycopg.Cursor.execute = execute
        app.extensions["tenancy"].dispose()
    return groups


def replay(conn: psycopg.Connection, groups) -> None:
    """The captured statements through raw psycopg, a pipelined group in one pipeline as the app sent it."""
    for group in groups:
        if len(group) == 1:
            cursors = [conn.execute(*group[0][:2])]
        else:
            with conn.pipeline():
                cursors = [conn.cursor().execute(query, params) for query, params, *_ in group]
        for cursor in cursors:
            if cursor.description:
                cursor.fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--donors", type=int, default=1_000_000)
    parser.add_argument("--orgs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--database")
    args = parser.parse_args()
    dbs = None
    if args.database:
        database = args.database
    else:
        dbs = Databases("donors")
        database = dbs.create("main")
        load(database, args.donors, args.orgs)
    secret = "bench-secret-key-" + "x" * 40
    try:
        with psycopg.connect(db_url(database)) as conn:
            add_bench_admin(conn)
        run(database, args, secret)
    finally:
        if dbs and not args.keep:
            dbs.drop_all()
        elif dbs:
            print(f"kept: --database {database} (drop it with: dropdb -h 127.0.0.1 -U postgres {database})")
            for name in dbs.names:
                if name != database:
                    admin_sql(f'DROP DATABASE IF EXISTS "{name}"')


def run(database: str, args, secret: str) -> None:
    org = ORG.format(1)
    url = db_url(database)
    with psycopg.connect(url) as conn:
        sample = conn.execute(
            """SELECT id, email, "lastName" FROM "Donor" WHERE "organizationId" = %s
                                 ORDER BY id LIMIT 1 OFFSET 777""",
            (org,),
        ).fetchone()
        total = conn.execute('SELECT count(*) FROM "Donor" WHERE "organizationId" = %s', (org,)).fetchone()[0]
        rare_name = rare_substring(conn, org)
    deep_pages = min(DEEP_PAGES, total // 50 - 1)
    donor_id, email, last_name = sample
    prefix, fragment = email[:6], last_name[1:4].lower()
    rare_email = email.split("@")[0]
    base = f"/organizations/{org}"
    env = {"DATABASE_URL": url, "SECRET_KEY": secret, "TENANT_STATEMENT_TIMEOUT": "60"}
    with gunicorn(env, workers=1, threads=4) as port:
        client = Client(port, "bench@example.org")
        started = time.monotonic()
        path, deep = f"{base}/donors", None
        for _ in range(deep_pages):
            status, body = client.get(path)
            assert status == 200, status
            match = re.search(r'rel="next" href="([^"]+)"', body)
            path = match.group(1).replace("&amp;", "&")
        deep = path
        walk = time.monotonic() - started
        pages = {
            "first page": f"{base}/donors",
            "deep page (by cursors)": deep,
            "email prefix search": f"{base}/donors?q={quote(prefix)}",
            "name substring search": f"{base}/donors?q={quote(fragment)}",
            "donor detail": f"{base}/donors/{donor_id}",
            "campaigns": f"{base}/campaigns",
            "rare: name ~10 donors": f"{base}/donors?q={quote(rare_name)}",
            "rare: email prefix no @": f"{base}/donors?q={quote(rare_email)}",
            "rare: matches nothing": f"{base}/donors?q=zzqxj",
        }
        results = {}
        for name, page_path in pages.items():
            groups = capture_sql(database, secret, page_path)
            tenant = [
                [(query, params) for query, params, app_name in group if app_name == "tenant-console"]
                for group in groups
            ]
            tenant = [group for group in tenant if group]
            # Past the 5 runs after which a prepared statement may switch to a generic plan.
            warm = max(timed(lambda p=page_path: client.get(p), WARM_RUNS))
            # A page slower than a second gets fewer requests (reported), so one run stays under an hour.
            n = args.requests if warm < 1 else max(10, args.requests // 20)
            # One connection per replay, idle between its turns as the app's are; synchronous_commit
            # off as on the app's audit-row connections (the audit INSERT is the one write).
            # Never prepared: the raw SQL runs with its custom plan, the baseline the issue names.
            with (
                psycopg.connect(
                    url, autocommit=True, options="-c synchronous_commit=off", prepare_threshold=None
                ) as all_conn,
                psycopg.connect(url, autocommit=True, prepare_threshold=None) as tenant_conn,
            ):
                replay(all_conn, groups)
                replay(tenant_conn, tenant)
                lat, raw_all, raw_tenant = [], [], []
                for _ in range(n):  # interleaved, so the machine's drift touches all three alike
                    lat += timed(lambda p=page_path: client.get(p), 1)
                    raw_all += timed(lambda: replay(all_conn, groups), 1)
                    raw_tenant += timed(lambda: replay(tenant_conn, tenant), 1)
            results[name] = dict(
                p50=percentile(lat, 50),
                p95=percentile(lat, 95),
                n=n,
                raw_all=percentile(raw_all, 50),
                raw_tenant=percentile(raw_tenant, 50),
                statements=(sum(map(len, groups)), len(groups)),
                tenant_statements=(sum(map(len, tenant)), len(tenant)),
            )
        csv_rss = export_rss(port, client, f"{base}/donors.csv")
        plans = plan_modes(
            database, secret, {name: results_path for name, results_path in pages.items() if name.startswith("rare")}
        )
    print(f"{org}: {total:,} donors; deep page = page {deep_pages + 1:,}")
    with psycopg.connect(url, autocommit=True) as conn:
        offset = deep_pages * 50

        def django_way():
            conn.execute('SELECT count(*) FROM "Donor" WHERE "organizationId" = %s', (org,)).fetchone()
            conn.execute(
                """SELECT * FROM "Donor" WHERE "organizationId" = %s ORDER BY "lastName", id
                            LIMIT 50 OFFSET %s""",
                (org, offset),
            ).fetchall()

        django = timed(django_way, max(5, args.requests // 20))
    report(results, walk, deep_pages, django, csv_rss)
    report_plans(plans)


def rare_substring(conn: psycopg.Connection, org: str) -> str:
    """A "first la" name fragment that matches about 10 donors of org (at most 15, at least 3)."""
    for first, last in conn.execute(
        'SELECT "firstName", "lastName" FROM "Donor" WHERE "organizationId" = %s ORDER BY id LIMIT 200', (org,)
    ):
        for length in range(1, len(last) + 1):
            fragment = f"{first} {last[:length]}".lower()
            count = conn.execute(
                """SELECT count(*) FROM "Donor" WHERE "organizationId" = %s
                     AND lower("firstName" || ' ' || "lastName") LIKE %s""",
                (org, f"%{fragment}%"),
            ).fetchone()[0]
            if count <= 15:
                if count >= 3:
                    return fragment
                break
    raise SystemExit("no name fragment matches 3 to 15 donors")


def plan_modes(database: str, secret: str, paths: dict[str, str]) -> dict[str, dict[str, float]]:
    """For each rare search: its tenant statements run 25 times on one connection in three ways;
    the p50 of runs 21 to 25 of each (ms)."""
    url = db_url(database)
    modes = {
        "prepared (psycopg default)": dict(prepare_threshold=5),
        "prepared, force_custom_plan": dict(prepare_threshold=5, options="-c plan_cache_mode=force_custom_plan"),
        # What PostgreSQL may pick by itself after 5 executions (the issue measured it picking it).
        "prepared, generic plan": dict(prepare_threshold=5, options="-c plan_cache_mode=force_generic_plan"),
        "never prepared (console)": dict(prepare_threshold=None),
    }
    out = {}
    for name, path in paths.items():
        groups = capture_sql(database, secret, path)
        tenant = [[(q, p) for q, p, app_name in group if app_name == "tenant-console"] for group in groups]
        tenant = [group for group in tenant if group]
        out[name] = {}
        for mode, kwargs in modes.items():
            with psycopg.connect(url, autocommit=True, **kwargs) as conn:
                runs = timed(lambda c=conn: replay(c, tenant), 25)
            out[name][mode] = percentile(runs[20:], 50) * 1000
    return out


def report_plans(plans: dict[str, dict[str, float]]) -> None:
    if not plans:
        return
    modes = list(next(iter(plans.values())))
    print("\nplan choice: tenant SQL of each rare search, p50 of runs 21-25 on one connection (ms)")
    print(f"{'search':<26}" + "".join(f"{m:>29}" for m in modes))
    for name, by_mode in plans.items():
        print(f"{name:<26}" + "".join(f"{by_mode[m]:>29.2f}" for m in modes))


def export_rss(port: int, client: Client, path: str) -> tuple[int, int, int, float]:
    """(rows, worker RSS before, peak RSS during the export, seconds), sampling VmRSS every 20 ms.

    VmRSS, not the high-water mark: signing in runs argon2, which borrows 64 MiB for a
    moment and gives it back; the export's own footprint is what is measured here."""
    workers = subprocess.run(["pgrep", "-f", f"gunicorn --bind 127.0.0.1:{port}"], capture_output=True, text=True)
    pids = [int(p) for p in workers.stdout.split()]

    def rss() -> int:
        values = []
        for pid in pids:
            try:
                status = open(f"/proc/{pid}/status").read()
                values.append(int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) // 1024)
            except (OSError, AttributeError):
                pass
        return max(values)

    before, peak, done = rss(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.monotonic()
    status, body = client.get(path)
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    assert status == 200
    return body.count("\n") - 1, before, peak[0], seconds


def report(results, walk, deep_pages, django, csv_rss) -> None:
    print(
        "\nlimit = 3 x raw SQL p50 + 5 ms. All SQL: every statement the request sends (signed-in admin, "
        "organization, audit row, tenant queries); tenant SQL: the tenant queries alone (stricter). "
        "stmts/trips: statements and round trips."
    )
    print(
        f"{'page':<26}{'reqs':>5}{'p50 ms':>8}{'p95 ms':>8} | {'all SQL':>7}{'stmts/trips':>12}{'limit':>7}  verdict"
        f" | {'tenant SQL':>10}{'stmts/trips':>12}{'limit':>7}  verdict"
    )
    for name, r in results.items():
        line = f"{name:<26}{r['n']:>5}{r['p50'] * 1000:>8.2f}{r['p95'] * 1000:>8.2f}"
        for raw, (statements, trips), width in (
            (r["raw_all"], r["statements"], 7),
            (r["raw_tenant"], r["tenant_statements"], 10),
        ):
            limit = 3 * raw + 0.005
            line += (
                f" | {raw * 1000:>{width}.2f}{f'{statements}/{trips}':>12}{limit * 1000:>7.2f}  "
                f"{'PASS' if r['p50'] <= limit else 'FAIL'}   "
            )
        print(line.rstrip())
    first_p50, deep = results["first page"]["p50"], results["deep page (by cursors)"]
    print(
        f"\ndeep page / first page: {deep['p50'] / first_p50:.2f}  target <= 1.5  "
        f"{'PASS' if deep['p50'] <= 1.5 * first_p50 else 'FAIL'}"
    )
    print(f"walking {deep_pages:,} pages by rel=next took {walk:.1f} s ({walk / deep_pages * 1000:.2f} ms a page)")
    print(
        f"the Django-admin way (COUNT(*) + OFFSET {deep_pages * 50:,}), raw SQL p50: "
        f"{percentile(django, 50) * 1000:.1f} ms ({percentile(django, 50) / deep['raw_tenant']:.0f}x the keyset SQL)"
    )
    rows, before, after, seconds = csv_rss
    print(
        f"CSV export: {rows:,} rows in {seconds:.1f} s; worker RSS {before} MB before, peak {after} MB during  "
        f"target < 150 MB  {'PASS' if after < 150 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
