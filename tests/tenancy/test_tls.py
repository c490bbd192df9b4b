"""TLS to tenant databases: verify-full against a local cluster with its own certificate authority."""

import datetime
import ipaddress
import shutil

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.engine import make_url

from app.tenancy.probe import probe
from app.tenancy.targets import TargetPolicy
from app.tenancy.urls import parse_database_url
from tests import pgserver


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory):
    """A cluster serving TLS with a certificate for 127.0.0.1, signed by a CA made here."""
    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tenant console test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cluster = pgserver.TempCluster()
    server_cert, server_key = cluster.dir / "server.crt", cluster.dir / "server.key"
    server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    server_key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server_key.chmod(0o600)
    if cluster.as_user:
        for path in (server_cert, server_key):
            shutil.chown(path, "postgres", "postgres")
    cluster.start(f"-c ssl=on -c ssl_cert_file={server_cert} -c ssl_key_file={server_key}")
    yield cluster, str(folder / "ca.crt")
    cluster.destroy()


def run(url_text, **policy):
    policy = TargetPolicy(main_url=make_url("postgresql+psycopg://postgres@127.0.0.1:5432/console_main"), **policy)
    return probe(parse_database_url(url_text, allow_sqlite=False), policy=policy, connect_timeout=3)


def test_verify_full_with_the_ca_file_connects(tls_cluster):
    cluster, ca = tls_cluster
    url = f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres?sslmode=verify-full"
    result = run(url, require_ssl=True, sslrootcert=ca)
    assert result.code == "schema_missing", result.message  # connected over verified TLS; the database is empty


def test_verify_full_without_the_right_ca_fails_as_ssl_failed(tls_cluster, tmp_path):
    cluster, _ = tls_cluster
    other = tmp_path / "other-ca.crt"
    other.write_bytes(
        open("/etc/ssl/certs/ca-certificates.crt", "rb").read()
        if pgserver.Path("/etc/ssl/certs/ca-certificates.crt").exists()
        else b""
    )
    url = f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres?sslmode=verify-full"
    assert run(url, sslrootcert=str(other)).code == "ssl_failed"


def test_require_ssl_refuses_urls_without_tls(tls_cluster):
    cluster, ca = tls_cluster
    result = run(f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres", require_ssl=True, sslrootcert=ca)
    assert result.code == "forbidden_target" and "sslmode" in result.message
