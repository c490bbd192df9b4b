"""The platform's reference resolvers (Python and Node) read exactly what the console stored:
plain, env:NAME and enc:v1: values, before and after a key rotation; a wrong key is an error."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from app.tenancy.urls import UnresolvableUrl, resolve
from tests.helpers import add_admin, add_org, csrf_token, login, new_fernet_key, sql, with_login

ROOT = Path(__file__).resolve().parents[2]
NODE_TESTS = ROOT / "clients" / "node" / "test"


def stored(databases, org_id: str) -> str:
    return sql(databases["main"], 'SELECT "databaseUrl" FROM "Organization" WHERE id = %s', (org_id,))[0][0]


def save_through_the_page(app, org_id: str, url: str) -> None:
    client = app.test_client()
    login(client, "owner@example.org")
    token = csrf_token(client.get(f"/organizations/{org_id}").get_data(as_text=True))
    response = client.post(f"/organizations/{org_id}/database", data={"csrf_token": token, "database_url": url})
    assert response.status_code == 302, response.get_data(as_text=True)


def fence_error(databases) -> dict:
    """The message a fenced write really gets from PostgreSQL."""
    with psycopg.connect(databases["tenant_b"], autocommit=True) as conn:
        conn.execute("""INSERT INTO "TenantFence" ("organizationId", "movedTo") VALUES ('org-gone', 'elsewhere')""")
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("""INSERT INTO "Donor" (id, "organizationId", "firstName", "lastName")
                            VALUES ('x', 'org-gone', 'A', 'B')""")
        conn.execute("""DELETE FROM "TenantFence" WHERE "organizationId" = 'org-gone'""")
    return {
        "sqlstate": refused.value.sqlstate,
        "message": refused.value.diag.message_primary,
        "organizationId": "org-gone",
    }


def test_node_and_python_resolvers_read_what_the_console_stored(make_app, databases, tmp_path):
    old_key, new_key, wrong_key = new_fernet_key(), new_fernet_key(), new_fernet_key()
    typed = {  # already in the console's own rendering: percent-encoded user and password
        "org-enc": with_login(databases["tenant_a"], password="Canary p@ss:w/rd é"),
        "org-plain": with_login(databases["tenant_b"], password="Canary-plain") + "?sslmode=prefer",
    }
    encrypting = make_app(TENANT_URL_ENCRYPTION_KEY=old_key)
    add_admin(encrypting, "owner@example.org", "owner")
    for org_id in (*typed, "org-env"):
        add_org(encrypting, org_id)
    save_through_the_page(encrypting, "org-enc", typed["org-enc"])
    save_through_the_page(make_app(), "org-plain", typed["org-plain"])  # no key: stored as typed
    sql(databases["main"], """UPDATE "Organization" SET "databaseUrl" = 'env:TENANT_DB_ORG_ENV' WHERE id = 'org-env'""")
    before_rotation, plain = stored(databases, "org-enc"), stored(databases, "org-plain")
    assert before_rotation.startswith("enc:v1:") and plain == typed["org-plain"]

    rotating = make_app(TENANT_URL_ENCRYPTION_KEY=f"{new_key},{old_key}")
    rotated = rotating.test_cli_runner().invoke(args=["tenants", "encrypt-urls"])  # encrypts the plain one too
    assert rotated.exit_code == 0 and "rotated=1" in rotated.output and "encrypted=1" in rotated.output
    after_rotation = stored(databases, "org-enc")
    assert after_rotation != before_rotation and after_rotation.startswith("enc:v1:")

    env_url = databases["tenant_b"]
    vectors = [
        {
            "label": "encrypted, old key",
            "stored": before_rotation,
            "env": {"TENANT_URL_ENCRYPTION_KEY": old_key},
            "expected": typed["org-enc"],
        },
        {
            "label": "encrypted, rotated, both keys newest first",
            "stored": after_rotation,
            "env": {"TENANT_URL_ENCRYPTION_KEY": f"{new_key},{old_key}"},
            "expected": typed["org-enc"],
        },
        {
            "label": "encrypted, rotated, new key only",
            "stored": after_rotation,
            "env": {"TENANT_URL_ENCRYPTION_KEY": new_key},
            "expected": typed["org-enc"],
        },
        {
            "label": "old token, both keys",
            "stored": before_rotation,
            "env": {"TENANT_URL_ENCRYPTION_KEY": f"{new_key},{old_key}"},
            "expected": typed["org-enc"],
        },
        {"label": "plain", "stored": plain, "env": {}, "expected": typed["org-plain"]},
        {
            "label": "plain, encrypted by encrypt-urls",
            "stored": stored(databases, "org-plain"),
            "env": {"TENANT_URL_ENCRYPTION_KEY": new_key},
            "expected": typed["org-plain"],
        },
        {
            "label": "env:NAME",
            "stored": stored(databases, "org-env"),
            "env": {"TENANT_DB_ORG_ENV": env_url},
            "expected": env_url,
        },
    ]
    for vector in vectors:  # the Python reference resolver: the console's own code
        assert resolve(vector["stored"], vector["env"]) == vector["expected"], vector["label"]
    assert resolve(None, {}) is None
    with pytest.raises(UnresolvableUrl):
        resolve(after_rotation, {"TENANT_URL_ENCRYPTION_KEY": wrong_key})

    node = shutil.which("node")
    assert node, "Node.js is needed for the platform resolver's tests: sudo apt-get install nodejs"
    vectors_file = tmp_path / "vectors.json"
    vectors_file.write_text(
        json.dumps({"vectors": vectors, "wrongKey": wrong_key, "fenceError": fence_error(databases)})
    )
    done = subprocess.run(
        [node, "--test", str(NODE_TESTS)],
        env={**os.environ, "VECTORS_FILE": str(vectors_file)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout and "# pass 4" in done.stdout, done.stdout
