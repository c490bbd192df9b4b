"""The migration that partitions "AuditEvent": a table of a million rows is converted while
the console keeps writing, every row kept, and the downgrade brings the plain table back."""

import threading
import time

import flask_migrate
import psycopg

from tests.helpers import sql

BEFORE = "b3d5f7a9c1e2"  # the revision before the partitioning one
ROWS = 1_000_000


def table_kind(url):
    return sql(url, """SELECT relkind FROM pg_class WHERE oid = to_regclass('"AuditEvent"')""")[0][0]


def state(url, where="true"):
    return sql(
        url, f'SELECT count(*), sum(hashtext(id || action || detail || "createdAt")) FROM "AuditEvent" WHERE {where}'
    )[0]


def test_partitioning_keeps_every_row_while_the_console_writes_and_downgrades_back(make_app, new_database):
    url = new_database("auditmig", migrated=False)
    app = make_app(DATABASE_URL=url)
    with app.app_context():
        flask_migrate.upgrade(revision=BEFORE)
    sql(
        url,
        """INSERT INTO "AuditEvent" ("createdAt", "organizationId", action, detail)
           SELECT now() - (g %% 400) * interval '1 day' - g * interval '1 ms', 'org-' || (g %% 50),
                  CASE WHEN g %% 7 = 0 THEN 'database.test' ELSE 'tenant.read' END, 'row ' || g
           FROM generate_series(1, %s) g""",
        (ROWS,),
    )
    before = state(url)
    written, stop = [], threading.Event()

    def writer():
        with psycopg.connect(url, autocommit=True) as conn:
            while not stop.is_set():
                action = "tenant.read" if len(written) % 2 else "database.save"
                conn.execute(
                    """INSERT INTO "AuditEvent" ("organizationId", action, detail) VALUES ('org-w', %s, %s)""",
                    (action, f"written {len(written)}"),
                )
                written.append(action)

    def late_committer():
        """A console request that writes its audit row, then works a while before it commits."""
        with psycopg.connect(url) as conn:
            conn.execute(
                """INSERT INTO "AuditEvent" ("organizationId", action, detail) VALUES ('org-w', 'x', 'late')"""
            )
            time.sleep(2)
        written.append("late")

    threads = [threading.Thread(target=writer), threading.Thread(target=late_committer)]
    for thread in threads:
        thread.start()
    try:
        with app.app_context():
            flask_migrate.upgrade()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert table_kind(url) == "p"
    assert state(url, "\"organizationId\" <> 'org-w'") == before
    assert "late" in written and state(url, "\"organizationId\" = 'org-w'")[0] == len(written)
    partitions = sql(url, """SELECT count(*) FROM pg_inherits WHERE inhparent = '"AuditEvent_reads"'::regclass""")
    assert partitions[0][0] >= 14  # a month for each month of history, the months ahead, and the default
    after = state(url)

    with app.app_context():
        flask_migrate.downgrade(revision=BEFORE)
    assert table_kind(url) == "r"
    sql(url, "UPDATE alembic_version SET version_num = 'e8f1a3c5d7b9'")  # as if killed before Alembic wrote it
    with app.app_context():
        flask_migrate.downgrade(revision=BEFORE)  # finds the plain table: nothing to convert
    assert table_kind(url) == "r"
    assert state(url) == after
    new_id = sql(url, """INSERT INTO "AuditEvent" (action) VALUES ('auth.login') RETURNING id""")[0][0]
    assert new_id > sql(url, """SELECT max(id) FROM "AuditEvent" WHERE action <> 'auth.login'""")[0][0]
