"""Where a donor page's time goes: each step of a request, timed in-process.

    .venv/bin/python -m bench.phases --database NAME [--requests 300]

NAME is a database kept by `bench.donors --keep` (its organization bench-org-1 and the
bench admin). The app runs in this process (Flask's test client, no HTTP); each step of
the request is wrapped in a timer, and every page is reported next to /healthz, the
cheapest signed-in request, measured in the same run as the baseline.
"""

import argparse
import functools
import time

import flask
import psycopg

from bench.common import PASSWORD, add_bench_admin, db_url

ORG = "bench-org-1"


def timed(table: dict, label: str, function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            table[label] = table.get(label, 0.0) + time.perf_counter() - started

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    from app import audit, create_app
    from app.donors import routes
    from app.tenancy import hooks
    from config import TestingConfig

    url = db_url(args.database)
    with psycopg.connect(url) as conn:
        add_bench_admin(conn)
        donor_id = conn.execute(
            'SELECT id FROM "Donor" WHERE "organizationId" = %s ORDER BY id LIMIT 1 OFFSET 777', (ORG,)
        ).fetchone()[0]
    app = create_app(TestingConfig, DATABASE_URL=url, SECRET_KEY="bench-secret-key-" + "x" * 40, WTF_CSRF_ENABLED=False)
    steps: dict[str, float] = {}
    hooks.get_organization_or_404 = timed(steps, "organization lookup", hooks.get_organization_or_404)
    audit.record_read = timed(steps, "audit row", audit.record_read)
    flask.templating._render = timed(steps, "rendering", flask.templating._render)
    for name in ("donor_page", "donor_with_gifts", "yearly_totals", "campaign_summaries"):
        setattr(routes, name, timed(steps, f"tenant SQL: {name}", getattr(routes, name)))
    app.login_manager._user_callback = timed(steps, "signed-in admin", app.login_manager._user_callback)

    client = app.test_client()
    client.post("/login", data={"email": "bench@example.org", "password": PASSWORD})
    base = f"/organizations/{ORG}"
    pages = {
        "/healthz (baseline)": "/healthz",
        "first page": f"{base}/donors",
        "donor detail": f"{base}/donors/{donor_id}",
        "campaigns": f"{base}/campaigns",
    }
    baseline = None
    for name, path in pages.items():
        for _ in range(30):
            client.get(path)
        steps.clear()
        started = time.perf_counter()
        for _ in range(args.requests):
            assert client.get(path).status_code == 200
        total = (time.perf_counter() - started) / args.requests
        baseline = baseline or total
        print(f"\n{name}: {total * 1000:.2f} ms a request ({total / baseline:.1f} x /healthz)")
        for step, seconds in sorted(steps.items(), key=lambda item: -item[1]):
            print(f"  {step:<34}{seconds / args.requests * 1000:7.2f} ms")
        accounted = sum(steps.values()) / args.requests
        print(f"  {'Flask, extensions, the rest':<34}{(total - accounted) * 1000:7.2f} ms")
    app.extensions["tenancy"].dispose()


if __name__ == "__main__":
    main()
