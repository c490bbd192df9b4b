"""Control-plane benchmark: the console's own pages over 10,000 organizations and 10,000,000
audit events, and `flask audit prune` under a steady writer.

    .venv/bin/python -m bench.control_plane [--orgs 10000] [--events 10000000] [--requests 50]

Loads, with COPY, the organizations ("Organization 00001"...) and the events in "createdAt"
order (ids increasing with it): 3 busy organizations that sort first by name hold 60% of
the events (mostly tenant.read, plus thousands of tests, saves, moves, migrations, backups
and exports spread over the year), the next ones a few hundred each, and the last 10% none
at all (the quiet baseline). Half of the events are tenant reads older than 90 days
(expired under AUDIT_READ_RETENTION_DAYS=90), spread over the year before that; the rest
are within the last 89 days. Where "AuditEvent" is partitioned by month, the months of the
loaded history are created first, as the migration does for an existing table.

Serves the app with gunicorn (2 workers x 4 threads, shared mode) and times, from one
signed-in client on a keep-alive connection, N sequential requests of each page after a
short warm-up (at most PAGE_BUDGET seconds per page): the organization list (first page,
with the busy organizations, and a deep page), two searches, a busy and a quiet
organization's page, /audit with and without an organization filter, and the API's
organization list (a bearer token). Reports p50/p95 and the busy/quiet ratios (target <= 2).

Then a writer inserts tenant.read rows at WRITER_RATE/s on its own autocommit connection
(synchronous_commit off, as app/audit.py's record_read): BASELINE_SECONDS alone, then
during `flask --app wsgi audit prune`, timed end to end. Reports the writer's p99 before and
during (and their ratio), its longest insert, and checks afterwards that every row it wrote
is there, that no tenant read older than 90 days is left and that no other event is gone.
"""

import argparse
import hashlib
import math
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from datetime import UTC, date, datetime
from urllib.parse import quote

import psycopg

from bench.common import ROOT, Client, Databases, add_bench_admin, db_url, gunicorn, percentile, stderr_to

BUSY = 3  # organizations 00001..00003: first by name, millions of events each at full size
BUSY_SHARE = 0.6  # of the tenant reads
QUIET_SHARE = 0.1  # the last 10% of the organizations: no event at all
SPECIAL_ACTIONS = (
    "database.test",
    "database.save",
    "tenants.move",
    "tenants.migrate",
    "tenants.backup",
    "donors.export",
)
RETENTION_DAYS = 90
DAY_US = 86_400 * 1_000_000
PAGE_SIZE = 50  # app/organizations/routes.py
WARMUP = 2
MIN_REQUESTS = 5
PAGE_BUDGET = 45.0  # seconds of timed requests per page, at most (MIN_REQUESTS whatever it takes)
WRITER_RATE = 200
BASELINE_SECONDS = 10
PRUNE_TIMEOUT = 1200
ADMIN = "bench@example.org"
COPY_CHUNK = 50_000
EVENT_COLUMNS = '(id, "createdAt", "actorId", "actorEmail", "organizationId", action, outcome, detail, ip)'

STARTED = time.monotonic()


def progress(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:7.1f}s] {message}", flush=True)


def org_id(i: int) -> str:
    return f"org-{i:05d}"


def org_name(i: int) -> str:
    return f"Organization {i:05d}"


class Layout:
    """Which organizations are busy, thin (a few hundred events) and quiet (none)."""

    def __init__(self, orgs: int):
        quiet = max(1, int(orgs * QUIET_SHARE))
        self.orgs = orgs
        self.busy = [org_id(i) for i in range(1, BUSY + 1)]
        self.thin = [org_id(i) for i in range(BUSY + 1, orgs - quiet + 1)]
        self.quiet = [org_id(i) for i in range(orgs - quiet + 1, orgs + 1)]
        self.pages = math.ceil(orgs / PAGE_SIZE)
        self.deep_page = min(150, self.pages)
        # Matches the 100 names of one hundred (org-09900...09999 of 10,000): the last ones, quiet.
        self.search = org_name(max(orgs - 50, 1))[:-2]


def load_organizations(conn: psycopg.Connection, layout: Layout) -> None:
    with conn.cursor().copy('COPY "Organization" (id, name) FROM STDIN') as copy:
        for i in range(1, layout.orgs + 1):
            copy.write_row((org_id(i), org_name(i)))


def month_start(moment: datetime) -> date:
    return moment.date().replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def create_month_partitions(conn: psycopg.Connection, oldest: datetime) -> str:
    """Where the table is partitioned by RANGE on "createdAt", the months from the oldest
    loaded event's on (the migration's shape, "<parent>_YYYYMM"); a plain table is left as is."""
    parents = conn.execute(
        """WITH RECURSIVE tree(rel) AS (
               SELECT '"AuditEvent"'::regclass
               UNION ALL SELECT i.inhrelid::regclass FROM pg_inherits i JOIN tree t ON i.inhparent = t.rel)
           SELECT c.relname FROM tree JOIN pg_class c ON c.oid = tree.rel
           WHERE c.relkind = 'p' AND pg_get_partkeydef(c.oid) = 'RANGE ("createdAt")'"""
    ).fetchall()
    if not parents:
        kind = conn.execute("""SELECT relkind FROM pg_class WHERE oid = '"AuditEvent"'::regclass""").fetchone()[0]
        return "plain table" if kind == "r" else f"partitioned (not by month: {kind})"
    created = 0
    for (parent,) in parents:
        month = month_start(oldest)
        while month < add_months(month_start(datetime.now(UTC)), 1):
            name = f"{parent}_{month:%Y%m}"
            if conn.execute("SELECT to_regclass(%s)", (f'"{name}"',)).fetchone()[0] is None:
                conn.execute(
                    f'CREATE TABLE "{name}" PARTITION OF "{parent}" '
                    f"FOR VALUES FROM ('{month.isoformat()} 00:00:00+00') "
                    f"TO ('{add_months(month, 1).isoformat()} 00:00:00+00')"
                )
                created += 1
            month = add_months(month, 1)
    leaves = conn.execute(
        """WITH RECURSIVE tree(rel) AS (
               SELECT '"AuditEvent"'::regclass
               UNION ALL SELECT i.inhrelid::regclass FROM pg_inherits i JOIN tree t ON i.inhparent = t.rel)
           SELECT count(*) FROM tree JOIN pg_class c ON c.oid = tree.rel WHERE c.relkind = 'r'"""
    ).fetchone()[0]
    names = ", ".join(p for (p,) in parents)
    return f"partitioned by month under {names}: {created} month partitions created, {leaves} leaves"


class EventPlan:
    """The events in "createdAt" order: expired reads evenly over [365, 91] days ago, recent
    reads over [89 days, 10 minutes] ago, the other actions at random moments of the year."""

    def __init__(self, layout: Layout, events: int, now: datetime, rng: random.Random):
        self.now_us = int(now.timestamp() * 1_000_000)
        self.old = (self.now_us - 365 * DAY_US, self.now_us - 91 * DAY_US)
        self.recent = (self.now_us - 89 * DAY_US, self.now_us - 10 * 60 * 1_000_000)
        self.per_busy = max(10, min(1000, events // 10_000))  # of each action, for each busy organization
        specials = [(org, a) for org in layout.busy for a in SPECIAL_ACTIONS for _ in range(self.per_busy)]
        specials += [(org, "database.test") for org in layout.thin]  # the list shows each one's last test
        specials += [(org, "database.save") for org in layout.thin[::10]]
        self.specials = sorted((self.special_moment(rng), org, action) for org, action in specials)
        self.expired_reads = events // 2
        self.recent_reads = events - self.expired_reads - len(self.specials)
        if self.recent_reads <= 0:
            raise SystemExit(f"--events must be more than {2 * len(self.specials)} for {layout.orgs} organizations")
        self.total = events

    def special_moment(self, rng: random.Random) -> int:
        while True:
            moment = rng.randrange(self.old[0], self.recent[1])
            if not self.old[1] < moment < self.recent[0]:  # none in the 90-day boundary's two days
                return moment

    def oldest(self) -> datetime:
        return datetime.fromtimestamp(min(self.old[0], self.specials[0][0]) / 1_000_000, UTC)


def event_chunks(plan: EventPlan, layout: Layout, admin_id: int, rng: random.Random, busy_counts: dict):
    """COPY text in chunks of COPY_CHUNK rows, ids 1.. in "createdAt" order."""
    hms = [f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}" for s in range(86_400)]
    days: dict[int, str] = {}

    def stamp(us: int) -> str:
        seconds, micro = divmod(us, 1_000_000)
        day, second = divmod(seconds, 86_400)
        text = days.get(day)
        if text is None:
            text = days[day] = datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%d ")
        return f"{text}{hms[second]}.{micro:06d}+00"

    actor = f"{admin_id}\t{ADMIN}"
    busy, thin = layout.busy, layout.thin
    n_busy, n_thin = len(busy), len(thin)
    thin_scale = n_thin / (1 - BUSY_SHARE)
    rnd = rng.random
    specials = plan.specials
    j, next_special = 0, specials[0][0]
    rows: list[str] = []
    event_id = 0
    for count, (start, end) in ((plan.expired_reads, plan.old), (plan.recent_reads, plan.recent)):
        step = (end - start) / count
        for k in range(count):
            us = start + int(k * step)
            while next_special <= us:
                moment, org, action = specials[j]
                event_id += 1
                rows.append(f"{event_id}\t{stamp(moment)}\t{actor}\t{org}\t{action}\tok\tbench: {action}\t127.0.0.1\n")
                j += 1
                next_special = specials[j][0] if j < len(specials) else 1 << 62
            r = rnd()
            if r < BUSY_SHARE:
                org = busy[int(r * n_busy / BUSY_SHARE)]
                busy_counts[org] += 1
            else:
                org = thin[int((r - BUSY_SHARE) * thin_scale)]
            event_id += 1
            rows.append(
                f"{event_id}\t{stamp(us)}\t{actor}\t{org}\ttenant.read\tshared\t"
                f"shared: /organizations/{org}/donors\t127.0.0.1\n"
            )
            if len(rows) >= COPY_CHUNK:
                yield "".join(rows)
                rows = []
    for moment, org, action in specials[j:]:
        event_id += 1
        rows.append(f"{event_id}\t{stamp(moment)}\t{actor}\t{org}\t{action}\tok\tbench: {action}\t127.0.0.1\n")
    if rows:
        yield "".join(rows)


def setup(dbs: Databases, layout: Layout, events: int) -> tuple[str, str, float]:
    main_db = dbs.create("main")
    url = db_url(main_db)
    rng = random.Random(42)
    with psycopg.connect(url) as conn:
        add_bench_admin(conn)
        admin_id = conn.execute('SELECT id FROM "AdminUser" WHERE email = %s', (ADMIN,)).fetchone()[0]
        token = "tdc_" + secrets.token_urlsafe(32)
        conn.execute(
            """INSERT INTO "ApiToken" ("adminId", name, "tokenHash", "expiresAt")
               VALUES (%s, 'bench', %s, now() + interval '1 day')""",
            (admin_id, hashlib.sha256(token.encode()).hexdigest()),
        )
        started = time.perf_counter()
        load_organizations(conn, layout)
    progress(f"loaded {layout.orgs:,} organizations in {time.perf_counter() - started:.1f} s")

    plan = EventPlan(layout, events, datetime.now(UTC), rng)
    with psycopg.connect(url, autocommit=True) as conn:
        progress(f'"AuditEvent": {create_month_partitions(conn, plan.oldest())}')
    busy_counts = dict.fromkeys(layout.busy, 0)
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        # The actor foreign key's triggers are skipped for the load (every actor is the bench admin).
        conn.execute("SET LOCAL session_replication_role = replica")
        with conn.cursor().copy(f'COPY "AuditEvent" {EVENT_COLUMNS} FROM STDIN') as copy:
            written = 0
            for chunk in event_chunks(plan, layout, admin_id, rng, busy_counts):
                copy.write(chunk)
                written += COPY_CHUNK
                if written % 1_000_000 == 0:
                    elapsed = time.perf_counter() - started
                    progress(f"  {written:,} events copied ({written / elapsed:,.0f} rows/s)")
        conn.execute("""SELECT setval(pg_get_serial_sequence('"AuditEvent"', 'id'), %s)""", (plan.total,))
    copied = time.perf_counter() - started
    progress(f"copied {plan.total:,} events in {copied:.1f} s ({plan.total / copied:,.0f} rows/s)")
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        size = conn.execute("""SELECT pg_size_pretty(pg_database_size(current_database()))""").fetchone()[0]
    progress(f"VACUUM (ANALYZE) in {time.perf_counter() - started:.1f} s; database size {size}")
    busy = ", ".join(f"{org} {n + len(SPECIAL_ACTIONS) * plan.per_busy:,}" for org, n in busy_counts.items())
    progress(
        f"events: {plan.expired_reads:,} expired reads, {plan.recent_reads:,} recent reads, "
        f"{len(plan.specials):,} other actions; busy: {busy}; "
        f"{len(layout.thin):,} thin organizations, {len(layout.quiet):,} quiet (none)"
    )
    return main_db, token, copied


def time_page(client: Client, path: str, requests: int, headers: dict | None = None) -> dict:
    for _ in range(WARMUP):
        client.request("GET", path, headers=headers)
    latencies, statuses, body = [], {}, ""
    deadline = time.monotonic() + PAGE_BUDGET
    while len(latencies) < requests and (len(latencies) < MIN_REQUESTS or time.monotonic() < deadline):
        start = time.perf_counter()
        status, body = client.request("GET", path, headers=headers)
        latencies.append(time.perf_counter() - start)
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "path": path,
        "n": len(latencies),
        "p50": percentile(latencies, 50) * 1000,
        "p95": percentile(latencies, 95) * 1000,
        "statuses": statuses,
        "body": body,
    }


def time_pages(port: int, layout: Layout, token: str, requests: int) -> dict[str, dict]:
    client = Client(port, ADMIN)
    busy, quiet = layout.busy[0], layout.quiet[-1]
    bearer = {"Authorization": f"Bearer {token}"}
    pages = {
        "list, first page": ("/organizations", None),
        f"list, page {layout.deep_page}": (f"/organizations?page={layout.deep_page}", None),
        f"search {layout.search!r}": (f"/organizations?q={quote(layout.search)}", None),
        "search 'zzzz-none'": ("/organizations?q=zzzz-none", None),
        "busy organization": (f"/organizations/{busy}", None),
        "quiet organization": (f"/organizations/{quiet}", None),
        "/audit": ("/audit", None),
        "/audit?organization=busy": (f"/audit?organization={busy}", None),
        "/audit?organization=quiet": (f"/audit?organization={quiet}", None),
        "API organization list": ("/api/organizations", bearer),
    }
    results = {}
    for label, (path, headers) in pages.items():
        r = results[label] = time_page(client, path, requests, headers)
        progress(f"  {label:<28} {path:<44} p50 {r['p50']:8.1f} ms ({r['n']} requests)")
    # Light checks that each page showed what it is meant to.
    checks = [
        (busy in results["list, first page"]["body"], f"{busy} on the first list page"),
        (results["API organization list"]["body"].count('"organizationId"') == layout.orgs, "every org in the API"),
        (busy in results["/audit?organization=busy"]["body"], f"{busy}'s events on /audit?organization"),
    ]
    for ok, what in checks:
        if not ok:
            print(f"WARNING: expected {what}")
    return results


class Writer(threading.Thread):
    """Inserts one tenant.read row per iteration at `rate` per second on its own connection."""

    def __init__(self, url: str, org_ids: list[str], rate: float, marker: str):
        super().__init__(daemon=True)
        self.url, self.org_ids, self.interval, self.marker = url, org_ids, 1 / rate, marker
        self.samples: list[tuple[float, float]] = []  # (start, seconds), time.monotonic() clock
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        rng = random.Random(7)
        conn = psycopg.connect(
            self.url, autocommit=True, options="-c synchronous_commit=off", application_name="bench-writer"
        )
        self.ready.set()
        next_at = time.monotonic()
        n = 0
        try:
            while not self.stop.is_set():
                org = rng.choice(self.org_ids)
                n += 1
                start = time.monotonic()
                try:
                    conn.execute(
                        """INSERT INTO "AuditEvent" ("actorEmail", "organizationId", action, outcome, detail, ip)
                           VALUES (%s, %s, 'tenant.read', 'shared', %s, '127.0.0.1')""",
                        (ADMIN, org, f"{self.marker} #{n}"),
                    )
                    self.samples.append((start, time.monotonic() - start))
                except psycopg.Error as exc:
                    self.errors.append(f"{type(exc).__name__}: {exc}".splitlines()[0])
                    if conn.closed:
                        conn = psycopg.connect(self.url, autocommit=True, options="-c synchronous_commit=off")
                next_at = max(next_at + self.interval, time.monotonic() - self.interval)  # no catch-up burst
                self.stop.wait(max(0.0, next_at - time.monotonic()))
        finally:
            conn.close()

    def window(self, start: float, end: float) -> list[float]:
        return [seconds for moment, seconds in self.samples if start <= moment < end]


def census(conn: psycopg.Connection, marker: str) -> dict:
    row = conn.execute(
        f"""SELECT count(*) FILTER (WHERE action = 'tenant.read'
                                      AND "createdAt" < now() - interval '{RETENTION_DAYS} days'),
                   count(*) FILTER (WHERE NOT (action = 'tenant.read'
                                               AND "createdAt" < now() - interval '{RETENTION_DAYS} days')
                                    AND coalesce(detail, '') NOT LIKE %s),
                   count(*) FILTER (WHERE detail LIKE %s),
                   max(id)
            FROM "AuditEvent" """,
        (marker + "%", marker + "%"),
    ).fetchone()
    return {"expired": row[0], "others": row[1], "writer": row[2], "max_id": row[3]}


def prune(url: str, layout: Layout) -> dict:
    marker = f"bench-writer-{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        before = census(conn, marker)
        progress(
            f"before the prune: {before['expired']:,} expired reads, {before['others']:,} other events "
            f"(counted in {time.perf_counter() - started:.1f} s)"
        )
    writer = Writer(url, layout.busy + layout.thin, WRITER_RATE, marker)
    writer.start()
    writer.ready.wait(10)
    baseline_start = time.monotonic()
    time.sleep(BASELINE_SECONDS)
    prune_start = time.monotonic()
    env = dict(os.environ, APP_ENV="testing", DATABASE_URL=url)
    progress("flask --app wsgi audit prune ...")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "audit", "prune"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=PRUNE_TIMEOUT,
        )
        returncode, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        returncode, stdout, stderr = "timeout", exc.stdout or "", f"killed after {PRUNE_TIMEOUT} s"
    prune_end = time.monotonic()
    time.sleep(0.5)  # the writer's last insert of the window
    writer.stop.set()
    writer.join(timeout=30)
    prune_s = prune_end - prune_start
    progress(f"audit prune exited {returncode} after {prune_s:.1f} s; its output:")
    for line in (stdout or "").strip().splitlines():
        print(f"    | {line}")
    if returncode != 0:
        print("  its stderr (last 25 lines):")
        for line in (stderr or "").strip().splitlines()[-25:]:
            print(f"    ! {line}")
    with psycopg.connect(url, autocommit=True) as conn:
        after = census(conn, marker)
        kept = conn.execute(
            f"""SELECT count(*) FROM "AuditEvent" WHERE id <= %s AND coalesce(detail, '') NOT LIKE %s
                AND NOT (action = 'tenant.read' AND "createdAt" < now() - interval '{RETENTION_DAYS} days')""",
            (before["max_id"], marker + "%"),
        ).fetchone()[0]
        new = conn.execute(
            """SELECT action, count(*) FROM "AuditEvent" WHERE id > %s AND coalesce(detail, '') NOT LIKE %s
               GROUP BY action ORDER BY action""",
            (before["max_id"], marker + "%"),
        ).fetchall()
    base = writer.window(baseline_start, prune_start)
    during = writer.window(prune_start, prune_end)
    return {
        "returncode": returncode,
        "seconds": prune_s,
        "before": before,
        "after": after,
        "kept": kept,
        "new": new,
        "inserted": len(writer.samples),
        "errors": writer.errors,
        "base": base,
        "during": during,
        "longest": max((s for _, s in writer.samples), default=float("nan")),
        "longest_during": max(during, default=float("nan")),
    }


def server_log_summary(path: str) -> str:
    with open(path, errors="replace") as log:
        lines = log.read().splitlines()
    errors = [line for line in lines if "Traceback" in line or " ERROR " in line or "ERROR in" in line]
    return f"server log {path}: {len(lines):,} lines, {len(errors)} errors"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(results: dict[str, dict], pruned: dict, layout: Layout) -> list[str]:
    print(f"\n{'page':<30}{'requests':>9}{'p50 ms':>10}{'p95 ms':>10}  statuses")
    for label, r in results.items():
        statuses = " ".join(f"{code}x{n}" for code, n in sorted(r["statuses"].items()))
        print(f"{label:<30}{r['n']:>9}{r['p50']:>10.1f}{r['p95']:>10.1f}  {statuses}")
    summary = []
    print(f"\n{'pair (slower / faster, by p50)':<62}{'ratio':>8}{'p95 ratio':>11}  target <= 2")
    pairs = (
        ("busy organization", "quiet organization"),
        ("/audit?organization=busy", "/audit?organization=quiet"),
        ("list, first page", f"list, page {layout.deep_page}"),
    )
    for a, b in pairs:
        ra, rb = results[a], results[b]
        slow, fast = (ra, rb) if ra["p50"] >= rb["p50"] else (rb, ra)
        ratio, ratio95 = slow["p50"] / fast["p50"], max(ra["p95"], rb["p95"]) / min(ra["p95"], rb["p95"])
        name = f"{a} vs {b}"
        print(f"{name:<62}{ratio:>8.2f}{ratio95:>11.2f}  {verdict(ratio <= 2)} (slower: {slow['path']})")
        summary.append(f"{name}: {ra['p50']:.1f} vs {rb['p50']:.1f} ms p50, ratio {ratio:.2f} {verdict(ratio <= 2)}")
    bad = sum(n for r in results.values() for code, n in r["statuses"].items() if code != 200)
    print(f"non-200 responses: {bad}")
    p = pruned
    base99, during99 = percentile(p["base"], 99) * 1000, percentile(p["during"], 99) * 1000
    print(f"\naudit prune: exit {p['returncode']}, {p['seconds']:.1f} s end to end")
    print(
        f"writer ({WRITER_RATE}/s, synchronous_commit off): before p50 {percentile(p['base'], 50) * 1000:.2f} ms "
        f"p99 {base99:.2f} ms ({len(p['base'])} inserts); during p50 {percentile(p['during'], 50) * 1000:.2f} ms "
        f"p99 {during99:.2f} ms ({len(p['during'])} inserts); ratio {during99 / base99:.2f}; longest insert "
        f"{p['longest_during'] * 1000:.1f} ms during the prune ({p['longest'] * 1000:.1f} ms overall); "
        f"errors {len(p['errors'])}"
    )
    for error in p["errors"][:5]:
        print(f"    ! {error}")
    before, after = p["before"], p["after"]
    all_there = after["writer"] == p["inserted"]
    expired_gone = after["expired"] == 0
    others_kept = p["kept"] == before["others"]
    print(f"writer rows present: {after['writer']:,} of {p['inserted']:,}  {verdict(all_there)}")
    print(f"expired reads left: {after['expired']:,} of {before['expired']:,}  {verdict(expired_gone)}")
    print(
        f"other events kept: {p['kept']:,} of {before['others']:,}  {verdict(others_kept)}; "
        f"new events besides the writer's: {', '.join(f'{a} {n}' for a, n in p['new']) or 'none'}"
    )
    summary.append(
        f"audit prune: exit {p['returncode']}, {p['seconds']:.1f} s; writer p99 {base99:.2f} -> {during99:.2f} ms "
        f"(x{during99 / base99:.2f}), longest {p['longest_during'] * 1000:.1f} ms; expired left {after['expired']:,} "
        f"{verdict(expired_gone)}; writer rows {verdict(all_there)}; others kept {verdict(others_kept)}"
    )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    layout = Layout(args.orgs)
    dbs = Databases("control")
    progress(f"migrated template {dbs.template}")
    try:
        main_db, token, load_s = setup(dbs, layout, args.events)
        progress("timing pages through gunicorn (2 workers x 4 threads)")
        log = tempfile.NamedTemporaryFile(prefix="bench-control-plane-", suffix=".log", delete=False).name
        with ExitStack() as server:
            with stderr_to(log):
                port = server.enter_context(gunicorn({"DATABASE_URL": db_url(main_db)}))
            results = time_pages(port, layout, token, args.requests)
        progress(server_log_summary(log))
        pruned = prune(db_url(main_db), layout)
        summary = report(results, pruned, layout)
        print(f"\nsummary ({args.orgs:,} organizations, {args.events:,} events, COPY {load_s:.0f} s):")
        for line in summary:
            print(f"  {line}")
        progress("done")
    finally:
        dbs.drop_all()


if __name__ == "__main__":
    main()
