"""Two checkouts of the console side by side: the same pages, requests alternating.

    .venv/bin/python -m bench.ab --database NAME OLD_CHECKOUT NEW_CHECKOUT PATH [PATH ...]

Each checkout (a `git worktree add /tmp/old COMMIT`, say) is served by its own gunicorn
(1 worker x 4 threads) on the same database; one signed-in client per server requests
each PATH, alternating between the two so that this machine's drift touches both alike,
and the p50s are reported with their ratio. This is how a change's effect on a page is
measured before its benchmark is run at full scale. NAME needs the bench admin
(bench.donors adds it), e.g. a database kept by `bench.donors --keep`.
"""

import argparse
import secrets
import time
from contextlib import ExitStack
from pathlib import Path

import psycopg

from bench.common import Client, add_bench_admin, db_url, gunicorn, percentile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    with psycopg.connect(db_url(args.database)) as conn:
        add_bench_admin(conn)
    env = {"DATABASE_URL": db_url(args.database), "SECRET_KEY": secrets.token_urlsafe(48)}
    with ExitStack() as stack:
        ports = [stack.enter_context(gunicorn(env, workers=1, threads=4, root=root)) for root in (args.old, args.new)]
        clients = [Client(port, "bench@example.org") for port in ports]
        print(f"{'path':<60}{'old p50 ms':>11}{'new p50 ms':>11}{'new/old':>9}")
        for path in args.paths:
            latencies = ([], [])
            for _ in range(50):  # warm both: connections, caches, prepared statements
                for client in clients:
                    assert client.get(path)[0] == 200, path
            for n in range(args.requests):
                for side in (0, 1) if n % 2 else (1, 0):  # neither always goes first
                    started = time.perf_counter()
                    clients[side].get(path)
                    latencies[side].append(time.perf_counter() - started)
            old, new = (percentile(values, 50) * 1000 for values in latencies)
            print(f"{path[:60]:<60}{old:>11.2f}{new:>11.2f}{new / old:>9.3f}")


if __name__ == "__main__":
    main()
