"""Routing benchmark: 200 organizations on 20 dedicated databases against one organization.

    .venv/bin/python -m bench.routing [--seconds 30] [--clients 8]

Serves the app with gunicorn (2 workers x 4 threads), signs 8 clients in, and has them
request donor lists for N seconds: first all on one organization (the baseline), then
round-robin over all 200. Reports requests/s (and the ratio, target >= 0.8), p50/p95,
and the peak tenant connections seen in pg_stat_activity (application_name
tenant-console), which must stay within workers x cache size x (pool + overflow).
Then the same 200 organizations through Debian's PgBouncer in transaction mode
(?pgbouncer=true URLs, BOUNCER_POOL server connections per database): requests/s against
the direct case of the same run, and the peak server connections against PgBouncer's pool.
"""

import argparse
import json

import psycopg

from bench.common import SERVER, ConnectionSampler, Databases, add_bench_admin, db_url, fill_donors, gunicorn, run_load

ORGS, DATABASES, DONORS_PER_ORG = 200, 20, 200
WORKERS, THREADS = 2, 4
CACHE, POOL, OVERFLOW = 32, 2, 2
BOUNCER_POOL = 2


def setup(dbs: Databases) -> tuple[str, list[str]]:
    main = dbs.create("main")
    tenants = [dbs.create(f"t{i:02d}") for i in range(DATABASES)]
    org_ids = [f"org-{i:03d}" for i in range(ORGS)]
    with psycopg.connect(db_url(main)) as conn:
        add_bench_admin(conn)
        for i, org in enumerate(org_ids):
            conn.execute(
                """INSERT INTO "Organization" (id, name, "databaseUrl") VALUES (%s, %s, %s)""",
                (org, f"Organization {i}", db_url(tenants[i % DATABASES])),
            )
    for t, tenant in enumerate(tenants):
        with psycopg.connect(db_url(tenant)) as conn:
            for org in org_ids[t::DATABASES]:
                fill_donors(conn, org, DONORS_PER_ORG)
            conn.execute("ANALYZE")
    return main, org_ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    dbs = Databases("routing")
    try:
        main_db, org_ids = setup(dbs)
        env = {
            "DATABASE_URL": db_url(main_db),
            "ENABLE_MULTI_DATABASE": "true",
            "TENANT_ENGINE_CACHE_SIZE": str(CACHE),
            "TENANT_POOL_SIZE": str(POOL),
            "TENANT_MAX_OVERFLOW": str(OVERFLOW),
        }
        paths_all = [f"/organizations/{org}/donors" for org in org_ids]
        with gunicorn(env, workers=WORKERS, threads=THREADS) as port:
            run_load(port, "bench@example.org", paths_all, args.clients, 3)  # warm every engine once
            with ConnectionSampler(datname_prefix=dbs.prefix) as one_sampler:
                one = run_load(port, "bench@example.org", paths_all[:1], args.clients, args.seconds)
            with ConnectionSampler(datname_prefix=dbs.prefix) as all_sampler:
                every = run_load(port, "bench@example.org", paths_all, args.clients, args.seconds)
        pooled, pooled_sampler = through_pgbouncer(main_db, env, paths_all, args, dbs.prefix)
        bound = WORKERS * CACHE * (POOL + OVERFLOW)
        ratio = every["rps"] / one["rps"]
        print(f"{'case':<28}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'peak conns':>12}  statuses")
        for name, result, sampler in (
            ("1 organization", one, one_sampler),
            (f"{ORGS} orgs / {DATABASES} databases", every, all_sampler),
        ):
            print(
                f"{name:<28}{result['requests']:>10}{result['rps']:>10.1f}{result['p50_ms']:>10.1f}"
                f"{result['p95_ms']:>10.1f}{sampler.peak:>12}  {json.dumps(result['statuses'])}"
            )
        print(f"throughput ratio (all / one): {ratio:.2f}  target >= 0.80  {'PASS' if ratio >= 0.8 else 'FAIL'}")
        print(
            f"peak tenant connections: {all_sampler.peak}  bound {bound} "
            f"({WORKERS} workers x {CACHE} engines x ({POOL}+{OVERFLOW}))  "
            f"{'PASS' if all_sampler.peak <= bound else 'FAIL'}"
        )
        bad = sum(n for code, n in every["statuses"].items() if code != 200)
        print(f"non-200 responses: {bad}")
        pooled_bad = sum(n for code, n in pooled["statuses"].items() if code != 200)
        print(
            f"\nthrough PgBouncer (transaction mode): {pooled['rps']:.1f} req/s, p50 {pooled['p50_ms']:.1f} ms, "
            f"p95 {pooled['p95_ms']:.1f} ms; {pooled['rps'] / every['rps']:.2f} x the direct case; "
            f"non-200: {pooled_bad}"
        )
        print(
            f"peak server connections through PgBouncer: {pooled_sampler.peak}  its pool: {DATABASES} databases x "
            f"{BOUNCER_POOL} = {DATABASES * BOUNCER_POOL}  (direct: {all_sampler.peak})  "
            f"{'PASS' if pooled_sampler.peak <= DATABASES * BOUNCER_POOL else 'FAIL'}"
        )
    finally:
        dbs.drop_all()


def through_pgbouncer(main_db: str, env: dict, paths: list[str], args, prefix: str):
    """The 200 organizations again, every tenant URL through one PgBouncer in transaction mode."""
    from tests.pgbouncer import PgBouncer

    bouncer = PgBouncer(SERVER, pool_size=BOUNCER_POOL)
    try:
        with psycopg.connect(db_url(main_db)) as conn:
            conn.execute(
                """UPDATE "Organization" SET "databaseUrl" =
                     %s || split_part("databaseUrl", '/', 4) || '?pgbouncer=true'""",
                (f"postgresql://postgres@127.0.0.1:{bouncer.port}/",),
            )
        with gunicorn(env, workers=WORKERS, threads=THREADS) as port:
            run_load(port, "bench@example.org", paths, args.clients, 3)
            # Every server connection of the tenant databases: PgBouncer's carry the clients' names.
            with ConnectionSampler(application_name="%", datname_prefix=prefix + "_t") as sampler:
                result = run_load(port, "bench@example.org", paths, args.clients, args.seconds)
        return result, sampler
    finally:
        bouncer.stop()


if __name__ == "__main__":
    main()
