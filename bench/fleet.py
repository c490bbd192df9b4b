"""Fleet page benchmark: /fleet over 200 tenant databases, 20 of them unreachable.

    .venv/bin/python -m bench.fleet [--reachable 180] [--refused 10] [--silent 10] [--looks 5]

Creates a migrated main database and 180 tenant databases (copies of a migrated template),
one organization on each (10 donors apiece), and 20 organizations whose databases cannot be
reached: 10 on loopback ports where nothing listens (refused at once) and 10 on loopback
sockets that accept and never answer (a connect timeout each), every one of the 20 on its
own port, so no two can share a timeout. The unreachable ones are spread evenly through
the list (every 10th organization by name).

Serves the app with gunicorn (2 workers x 4 threads, ENABLE_MULTI_DATABASE=true,
TENANT_CONNECT_TIMEOUT=2), signs one client in on a keep-alive connection and times,
sequentially: GET /organizations 10 times (the baseline, p50), then GET /fleet N times
(the first look, then looks with rates since the previous one). Target: every /fleet
<= 2 x the connect timeout = 4 s. Checks that the page lists 200 databases, 10 refused
and 10 timed out.
"""

import argparse
import re
import socket
import statistics
import tempfile
import time
from collections import Counter
from contextlib import ExitStack

import psycopg

from bench.common import (
    Client,
    Databases,
    Silent,
    add_bench_admin,
    db_url,
    fill_donors,
    gunicorn,
    percentile,
    stderr_to,
)

CONNECT_TIMEOUT = 2
DONORS_PER_ORG = 10
BASELINE_REQUESTS = 10
ADMIN = "bench@example.org"

STARTED = time.monotonic()


def progress(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:7.1f}s] {message}", flush=True)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def closed_ports(n: int, taken: set[int]) -> list[int]:
    """n distinct loopback ports where nothing listens (bound, noted and closed again)."""
    ports: list[int] = []
    while len(ports) < n:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in taken and port not in ports:
            ports.append(port)
    return ports


def setup(dbs: Databases, reachable: int, refused: list[int], silent: list[Silent]) -> tuple[str, dict]:
    """The main database with one organization per tenant database, and the unreachable ones
    spread through the list by name; returns it and the organizations' expected codes."""
    started = time.perf_counter()
    main = dbs.create("main")
    tenants = [dbs.create(f"t{i:03d}") for i in range(reachable)]
    created = time.perf_counter() - started
    progress(f"created {reachable + 1} databases from the template in {created:.1f} s")
    dead = [("refused", f"postgresql://u:p@127.0.0.1:{port}/dead_refused_{i}") for i, port in enumerate(refused)]
    dead += [("timeout", f"postgresql://u:p@127.0.0.1:{s.port}/dead_silent_{i}") for i, s in enumerate(silent)]
    total = reachable + len(dead)
    slots = {round((k + 1) * total / len(dead)) for k in range(len(dead))} if dead else set()  # every 10th
    expected, live, unreachable = {}, iter(tenants), iter(dead)
    started = time.perf_counter()
    with psycopg.connect(db_url(main)) as conn:
        add_bench_admin(conn)
        for i in range(1, total + 1):
            org = f"org-{i:03d}"
            if i in slots:
                code, url = next(unreachable)
                expected[org] = (code, None)
            else:
                tenant = next(live)
                url = db_url(tenant)
                expected[org] = ("ok", tenant)
            conn.execute(
                """INSERT INTO "Organization" (id, name, "databaseUrl") VALUES (%s, %s, %s)""",
                (org, f"Organization {i:03d}", url),
            )
    for org, (code, tenant) in expected.items():
        if code == "ok":
            with psycopg.connect(db_url(tenant)) as conn:
                fill_donors(conn, org, DONORS_PER_ORG)
    progress(f"{total} organizations and their donors in {time.perf_counter() - started:.1f} s")
    return main, expected


def server_log(path: str) -> tuple[list[str], list[str]]:
    """The server's own /fleet timings (request_log lines) and its error lines."""
    with open(path, errors="replace") as log:
        lines = log.read().splitlines()
    fleet = [line for line in lines if "GET /fleet " in line]
    errors = [line for line in lines if "Traceback" in line or " ERROR " in line or "ERROR in" in line]
    return fleet, errors


def time_get(client: Client, path: str) -> tuple[float, int, str]:
    started = time.perf_counter()
    status, body = client.get(path)
    return time.perf_counter() - started, status, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reachable", type=int, default=180)
    parser.add_argument("--refused", type=int, default=10)
    parser.add_argument("--silent", type=int, default=10)
    parser.add_argument("--looks", type=int, default=5)
    parser.add_argument("--connect-timeout", type=int, default=CONNECT_TIMEOUT, help="TENANT_CONNECT_TIMEOUT, seconds")
    args = parser.parse_args()
    silent: list[Silent] = []
    dbs = Databases("fleet")
    progress(f"migrated template {dbs.template}")
    try:
        silent = [Silent() for _ in range(args.silent)]
        refused = closed_ports(args.refused, {s.port for s in silent})
        main_db, expected = setup(dbs, args.reachable, refused, silent)
        setup_s = time.monotonic() - STARTED
        env = {
            "DATABASE_URL": db_url(main_db),
            "ENABLE_MULTI_DATABASE": "true",
            "TENANT_CONNECT_TIMEOUT": str(args.connect_timeout),
        }
        log = tempfile.NamedTemporaryFile(prefix="bench-fleet-", suffix=".log", delete=False).name
        with ExitStack() as server:
            with stderr_to(log):
                port = server.enter_context(gunicorn(env))
            client = Client(port, ADMIN)
            time_get(client, "/organizations")  # warm-up
            baseline = []
            for _ in range(BASELINE_REQUESTS):
                seconds, status, _ = time_get(client, "/organizations")
                baseline.append(seconds)
            progress(f"GET /organizations x{BASELINE_REQUESTS}: p50 {percentile(baseline, 50) * 1000:.0f} ms")
            looks = []
            for n in range(1, args.looks + 1):
                seconds, status, body = time_get(client, "/fleet")
                rates = len(re.findall(r'data-testid="commits">[0-9.]+<', body))
                looks.append((seconds, status, body, rates))
                progress(f"GET /fleet look {n}: {seconds:.2f} s, status {status}, {rates} rows with commits/s")
        total = len(expected)
        target = 2 * args.connect_timeout
        times = [s for s, *_ in looks]
        print(
            f"\nset-up: {setup_s:.1f} s ({args.reachable} tenant databases, {total} organizations, "
            f"{args.refused} refused and {args.silent} silent ports)"
        )
        print(f"\n{'request':<22}{'seconds':>9}{'status':>8}{'rows':>6}{'refused':>9}{'timeout':>9}{'rates':>7}")
        print(
            f"{'/organizations p50':<22}{percentile(baseline, 50):>9.3f}{'':>8}{'':>6}{'':>9}{'':>9}{'':>7}"
            f"  (of {BASELINE_REQUESTS}; max {max(baseline):.3f})"
        )
        checks = []
        for n, (seconds, status, body, rates) in enumerate(looks, 1):
            rows = body.count("<tr data-target=")
            codes = Counter(re.findall(r'data-testid="code">([a-z_]+)<', body))
            label = "/fleet (first look)" if n == 1 else f"/fleet look {n}"
            print(
                f"{label:<22}{seconds:>9.3f}{status:>8}{rows:>6}{codes.get('refused', 0):>9}"
                f"{codes.get('timeout', 0):>9}{rates:>7}"
            )
            other = {code: k for code, k in codes.items() if code not in ("refused", "timeout")}
            if other:
                print(f"    other codes on that page: {dict(other)}")
            checks.append(
                status == 200
                and rows == total
                and codes.get("refused", 0) == args.refused
                and codes.get("timeout", 0) == args.silent
            )
        print(
            f"\n/fleet: p50 {statistics.median(times):.2f} s, max {max(times):.2f} s, "
            f"{max(times) / percentile(baseline, 50):.0f} x the /organizations p50; "
            f"target max <= 2 x {args.connect_timeout} s = {target} s  {verdict(max(times) <= target)}"
        )
        print(
            f"every look listed {total} databases, {args.refused} refused and {args.silent} timed out  "
            f"{verdict(all(checks))} ({sum(checks)} of {len(checks)} looks)"
        )
        fleet_lines, errors = server_log(log)
        served = [float(m.group(1)) for line in fleet_lines if (m := re.search(r"GET /fleet \d+ ([0-9.]+)ms", line))]
        print(
            f"server log {log}: /fleet as the server timed it: {', '.join(f'{ms:.0f}' for ms in served)} ms; "
            f"{len(errors)} error lines"
        )
        for line in errors[:10]:
            print(f"    ! {line}")
        print(
            "rates (commits/s) need a previous look in the same gunicorn worker: "
            + ", ".join(f"look {n}: {r} rows" for n, (*_, r) in enumerate(looks, 1))
        )
    finally:
        for s in silent:
            s.close()
        dbs.drop_all()
        progress("dropped every database made here")


if __name__ == "__main__":
    main()
