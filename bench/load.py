"""Load benchmark: gunicorn 2 workers x 4 threads, 32 clients over 50 organizations for 60 s.

    .venv/bin/python -m bench.load [--seconds 60] [--clients 32]

25 organizations are shared (main database), 25 dedicated over 5 databases, 300 donors
each. The clients request donor lists round-robin over all 50. Reports requests/s,
p50/p95, the status codes (target: zero 5xx) and the peak tenant connections seen in
pg_stat_activity against the bound workers x cache x (pool + overflow). The baseline
in the same run is the same load on the shared organizations only.
"""

import argparse
import json

import psycopg

from bench.common import ConnectionSampler, Databases, add_bench_admin, db_url, fill_donors, gunicorn, run_load

WORKERS, THREADS, CACHE, POOL, OVERFLOW = 2, 4, 32, 2, 2


def setup(dbs: Databases) -> tuple[str, list[str], list[str]]:
    main = dbs.create("main")
    dedicated = [dbs.create(f"d{i}") for i in range(5)]
    shared_orgs = [f"shared-{i:02d}" for i in range(25)]
    dedicated_orgs = [f"dedicated-{i:02d}" for i in range(25)]
    with psycopg.connect(db_url(main)) as conn:
        add_bench_admin(conn)
        for org in shared_orgs:
            conn.execute("""INSERT INTO "Organization" (id, name) VALUES (%s, %s)""", (org, org))
        for i, org in enumerate(dedicated_orgs):
            conn.execute(
                """INSERT INTO "Organization" (id, name, "databaseUrl") VALUES (%s, %s, %s)""",
                (org, org, db_url(dedicated[i % 5])),
            )
    with psycopg.connect(db_url(main)) as conn:
        for org in shared_orgs:
            fill_donors(conn, org, 300)
    for i, database in enumerate(dedicated):
        with psycopg.connect(db_url(database)) as conn:
            for org in dedicated_orgs[i::5]:
                fill_donors(conn, org, 300)
    return main, shared_orgs, dedicated_orgs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    dbs = Databases("load")
    try:
        main_db, shared_orgs, dedicated_orgs = setup(dbs)
        env = {"DATABASE_URL": db_url(main_db), "ENABLE_MULTI_DATABASE": "true", "LOGIN_RATE_LIMIT_IP": "1000/minute"}
        paths = [f"/organizations/{org}/donors" for pair in zip(shared_orgs, dedicated_orgs) for org in pair]
        with gunicorn(env, workers=WORKERS, threads=THREADS) as port:
            run_load(port, "bench@example.org", paths, 4, 3)  # warm
            baseline = run_load(port, "bench@example.org", paths[::2], args.clients, args.seconds / 2)
            with ConnectionSampler(datname_prefix=dbs.prefix) as sampler:
                mixed = run_load(port, "bench@example.org", paths, args.clients, args.seconds)
        bound = WORKERS * CACHE * (POOL + OVERFLOW) + WORKERS * (POOL + OVERFLOW)  # + the shared read-only pools
        print(f"{'case':<34}{'requests':>10}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}  statuses")
        for name, result in (("25 shared orgs (baseline)", baseline), ("50 orgs, shared + dedicated", mixed)):
            print(
                f"{name:<34}{result['requests']:>10}{result['rps']:>9.1f}{result['p50_ms']:>9.1f}"
                f"{result['p95_ms']:>9.1f}  {json.dumps(result['statuses'])}"
            )
        errors = sum(n for code, n in mixed["statuses"].items() if code >= 500)
        print(f"5xx responses: {errors}  {'PASS' if errors == 0 else 'FAIL'}")
        print(f"peak tenant connections: {sampler.peak}  bound {bound}  {'PASS' if sampler.peak <= bound else 'FAIL'}")
        print(f"throughput ratio (mixed / shared only): {mixed['rps'] / baseline['rps']:.2f}")
    finally:
        dbs.drop_all()


if __name__ == "__main__":
    main()
