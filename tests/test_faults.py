"""Faults: a dedicated cluster stopped mid-load, and the main database stopped; both recover."""

import re
import threading
import time

import pytest

from tests import pgserver
from tests.helpers import add_admin, add_donors, add_org, login, migrate_database

DONOR_IDS = re.compile(r'data-donor-id="([^"]+)"')


@pytest.fixture
def cluster():
    cluster = pgserver.TempCluster()
    cluster.start()
    yield cluster
    cluster.destroy()


def test_stopping_a_dedicated_cluster_degrades_only_its_organizations(make_app, databases, cluster):
    urls = {}
    for name in ("ded1", "ded2"):
        urls[name] = pgserver.create_database(cluster.url, name)
        migrate_database(urls[name])
    app = make_app(ENABLE_MULTI_DATABASE=True, TENANT_CONNECT_TIMEOUT=2, TENANT_RETRY_AFTER=1)
    add_admin(app, "owner@example.org")
    expected = {}
    for org, url in (("org-d1", urls["ded1"]), ("org-d2", urls["ded2"])):
        add_org(app, org, database_url=url)
        expected[org] = set(add_donors(url, org, ["Dedicated"]))
    for org in ("org-s1", "org-s2"):
        add_org(app, org)
        expected[org] = set(add_donors(databases["main"], org, ["Shared"]))
    add_org(app, "org-a", database_url=databases["tenant_a"])
    expected["org-a"] = set(add_donors(databases["tenant_a"], "org-a", ["Other"]))

    log, stop = [], threading.Event()

    def client_loop(orgs):
        client = app.test_client()
        login(client, "owner@example.org")
        while not stop.is_set():
            for org in orgs:
                started = time.monotonic()
                with client.get(f"/organizations/{org}/donors") as response:  # closing ends the app context
                    text = response.get_data(as_text=True)
                log.append(
                    (
                        time.monotonic(),
                        org,
                        response.status_code,
                        time.monotonic() - started,
                        'data-testid="fallback-banner"' in text,
                        set(DONOR_IDS.findall(text)),
                    )
                )

    threads = [
        threading.Thread(target=client_loop, args=(orgs,))
        for orgs in (["org-d1", "org-s1"], ["org-d2", "org-a"], ["org-s2", "org-d1"])
    ]

    def recovered():
        recent = [e for e in log if e[0] > restarted_at and e[1] in ("org-d1", "org-d2")]
        return {e[1] for e in recent if not e[4] and e[5] == expected[e[1]]} == {"org-d1", "org-d2"}

    for thread in threads:
        thread.start()
    try:
        served = lambda: {e[1] for e in list(log) if e[2] == 200 and not e[4]} >= {"org-d1", "org-d2"}
        assert pgserver.wait_for(served, timeout=20, step=0.1), "the dedicated organizations were never served"
        stopping_at = time.monotonic()
        cluster.stop()
        stopped_at = time.monotonic()
        time.sleep(4)
        cluster.start()
        restarted_at = time.monotonic()
        assert pgserver.wait_for(recovered, timeout=20, step=0.2), "the dedicated organizations did not come back"
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    assert max(elapsed for *_, elapsed, _, _ in log) < 2 + 1, "within the connect timeout"
    unaffected = [e for e in log if e[1] in ("org-s1", "org-s2", "org-a")]
    assert unaffected and all(
        status == 200 and not banner and ids == expected[org] for _, org, status, _, banner, ids in unaffected
    )
    degraded = [e for e in log if e[1] in ("org-d1", "org-d2") and stopping_at < e[0] < restarted_at]
    # A request caught mid-query by the stop gets the 503 page; every other one the fallback banner.
    assert sum(status == 503 for _, _, status, _, _, _ in degraded) <= len(threads)
    fallbacks = [e for e in degraded if e[2] == 200 and e[0] - e[3] > stopped_at]  # started once it was down
    assert fallbacks and all(banner and not ids for _, _, _, _, banner, ids in fallbacks)
    before = [e for e in log if e[1] in ("org-d1", "org-d2") and e[0] < stopping_at]
    assert before and all(not e[4] and e[5] == expected[e[1]] for e in before)


def test_main_database_down_gives_503_and_recovers(make_app, cluster):
    main = pgserver.create_database(cluster.url, "console_main")
    migrate_database(main)
    app = make_app(DATABASE_URL=main)
    add_admin(app, "owner@example.org")
    add_org(app, "org-x", "Xavier")
    client = app.test_client()
    login(client, "owner@example.org")
    assert client.get("/organizations").status_code == 200
    cluster.stop()
    try:
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 503
        for path in ("/organizations", "/organizations/org-x/donors", "/organizations/org-x"):
            response = client.get(path)
            text = response.get_data(as_text=True)
            assert response.status_code == 503 and "main database is not answering" in text
            assert "Traceback" not in text and "psycopg" not in text
    finally:
        cluster.start()
    assert pgserver.wait_for(lambda: client.get("/readyz").status_code == 200, timeout=15, step=0.3)
    assert "Xavier" in client.get("/organizations").get_data(as_text=True)
