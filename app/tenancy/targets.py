"""Where a tenant URL may point: checked when it is saved and again on every new connection.

Always forbidden: the console's own main database (clear the URL instead) and link-local
or cloud-metadata addresses. TENANT_DB_ALLOWED_HOSTS and TENANT_DB_DENIED_NETWORKS let an
operator restrict further. Host names are resolved here, with a deadline, and the
connection is then made to the address that was checked (so DNS cannot change the answer
between the check and the connect).
"""

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import psycopg
from flask_babel import lazy_gettext as _l
from sqlalchemy.engine import URL

from app.tenancy.urls import ForbiddenTarget, connect_params

METADATA_ADDRESSES = {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("169.254.169.254")}
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
SECURE_SSL_MODES = {"require", "verify-ca", "verify-full"}
IS_MAIN = _l("That is the console's own main database; clear the URL to use shared mode.")
_resolver = ThreadPoolExecutor(max_workers=8, thread_name_prefix="dns")


class DnsFailure(Exception):
    code = "dns_failure"


def parse_networks(text: str) -> list[ipaddress._BaseNetwork]:
    return [ipaddress.ip_network(part.strip(), strict=False) for part in (text or "").split(",") if part.strip()]


def parse_hosts(text: str) -> list[str]:
    return [part.strip().lower() for part in (text or "").split(",") if part.strip()]


def resolve(host: str, port: int, timeout: float) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    future = _resolver.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=timeout)
    except FutureTimeout:
        raise DnsFailure(
            _l("The host name %(host)s could not be resolved in %(seconds)g s.", host=host, seconds=timeout)
        ) from None
    except OSError:
        raise DnsFailure(_l("The host name %(host)s could not be resolved.", host=host)) from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise DnsFailure(_l("The host name %(host)s has no address.", host=host))
    return addresses


def canonical(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The address a connection really reaches. IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible
    (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) forms are their IPv4 address (Python's ipaddress
    would call ::ffff:169.254.169.254 neither link-local nor in 169.254.0.0/16); 0.0.0.0 and ::
    reach this host, as loopback does."""
    address = ipaddress.ip_address(text.split("%")[0])
    if address.version == 6:
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif address in NAT64 or (address in IPV4_COMPATIBLE and int(address) > 1):
            address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.is_unspecified:
        address = ipaddress.ip_address("127.0.0.1" if address.version == 4 else "::1")
    return address


def forbidden_reason(text: str, denied_networks: list) -> str | None:
    """Why an address may never be a tenant database's, or None; decided without connecting."""
    address = canonical(text)
    if address.is_link_local or address in METADATA_ADDRESSES:
        return _l("a link-local or cloud-metadata address")
    if any(address in network or ipaddress.ip_address(text.split("%")[0]) in network for network in denied_networks):
        return _l("in TENANT_DB_DENIED_NETWORKS")
    return None


def this_host(text: str) -> str:
    """A key under which every loopback address is the same host."""
    address = canonical(text)
    return "loopback" if address.is_loopback else str(address)


class TargetPolicy:
    def __init__(
        self,
        *,
        main_url: URL,
        allowed_hosts: str = "",
        denied_networks: str = "",
        dns_timeout: float = 5,
        require_ssl: bool = False,
        sslrootcert: str = "",
    ):
        self.main_url = main_url
        self.require_ssl, self.sslrootcert = require_ssl, sslrootcert
        self.allowed_hosts = parse_hosts(allowed_hosts)
        self.denied_networks = parse_networks(denied_networks)
        self.dns_timeout = dns_timeout
        self._main_addresses: list[str] | None = None
        self._main_identity: tuple | None = None

    def check(self, url: URL) -> list[str]:
        """The addresses to connect to; raises ForbiddenTarget or DnsFailure."""
        if url.get_backend_name() == "sqlite":
            if self.main_url.get_backend_name() == "sqlite" and _same_file(url.database, self.main_url.database):
                raise ForbiddenTarget(IS_MAIN)
            return []
        if self.require_ssl and url.query.get("sslmode") not in SECURE_SSL_MODES:
            raise ForbiddenTarget(
                _l("TENANT_DB_REQUIRE_SSL is on: the URL needs ?sslmode=require, verify-ca or verify-full.")
            )
        host = (url.host or "").lower()
        if self.allowed_hosts and not any(_host_matches(host, allowed) for allowed in self.allowed_hosts):
            raise ForbiddenTarget(_l("The host %(host)s is not in TENANT_DB_ALLOWED_HOSTS.", host=host))
        addresses = resolve(host, url.port or 5432, self.dns_timeout)
        for text in addresses:
            reason = forbidden_reason(text, self.denied_networks)
            if reason:
                raise ForbiddenTarget(_l("The host %(host)s is %(reason)s.", host=host, reason=reason))
        if self._is_main(url, addresses):
            raise ForbiddenTarget(IS_MAIN)
        return addresses

    def check_identity(self, conn) -> None:
        """After connecting, before anything else: refuse the console's own main database
        whatever address reached it (a host name, another loopback address, a port forward,
        a pooler). conn: a psycopg connection. Raises ForbiddenTarget."""
        if self.main_url.get_backend_name() != "postgresql":
            return
        if self._main_identity is None:
            try:
                with psycopg.connect(**connect_params(self.main_url, connect_timeout=self.dns_timeout)) as main:
                    self._main_identity = server_identity(main) or ()
            except psycopg.Error:
                return  # unknown for now: the address checks stand, and the next connection asks again
        identity = server_identity(conn)
        if self._main_identity and identity and same_server_database(identity, self._main_identity):
            raise ForbiddenTarget(IS_MAIN)

    def connect_extras(self) -> dict:
        """Connection settings the operator sets for every tenant connection (a CA file for verify-full)."""
        return {"sslrootcert": self.sslrootcert} if self.sslrootcert else {}

    def _is_main(self, url: URL, addresses: list[str]) -> bool:
        main = self.main_url
        if main.get_backend_name() != "postgresql" or url.database != main.database:
            return False
        if (url.port or 5432) != (main.port or 5432):
            return False
        if self._main_addresses is None:
            try:
                self._main_addresses = resolve(main.host or "127.0.0.1", main.port or 5432, self.dns_timeout)
            except DnsFailure:
                self._main_addresses = []
        same = {this_host(a) for a in addresses} & {this_host(a) for a in self._main_addresses}
        return (url.host or "").lower() == (main.host or "").lower() or bool(same)


def server_identity(conn) -> tuple | None:
    """(system identifier or None, server start time, database oid, database name) of a fresh
    psycopg connection's server: the same database, whatever the address reached it. The
    system identifier (pg_control_system) is refused to some roles on managed servers; the
    start time and the oid are readable by every role. The connection is left as it came."""
    try:
        row = conn.execute(IDENTITY).fetchone()
        try:
            with conn.transaction():
                system = conn.execute("SELECT (pg_control_system()).system_identifier::text").fetchone()[0]
        except psycopg.Error:
            system = None
    except psycopg.Error:
        row = None
    if not conn.autocommit:
        conn.rollback()
    return (system, *row) if row else None


def same_server_database(a: tuple, b: tuple) -> bool:
    """Identities from server_identity(): the system identifiers are compared where both sides could read them."""
    return a[1:] == b[1:] and (a[0] is None or b[0] is None or a[0] == b[0])


IDENTITY = (
    "SELECT pg_postmaster_start_time()::text, (SELECT oid FROM pg_database WHERE datname = current_database())::text,"
    " current_database()"
)


def _host_matches(host: str, allowed: str) -> bool:
    if allowed.startswith("*."):
        return host.endswith(allowed[1:])
    return host == allowed


def _same_file(a: str | None, b: str | None) -> bool:
    return bool(a and b) and Path(a).resolve() == Path(b).resolve()
