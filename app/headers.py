"""Security headers on every response, and HTTPS only when the operator asks for it.

TLS usually ends at a proxy in front of the console, so redirecting plain HTTP (and
sending HSTS) happens only with FORCE_HTTPS=true; otherwise a health check over plain
HTTP from the proxy would be redirected too.
"""

from flask import Flask, redirect, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.sansio.utils import host_is_trusted

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
HSTS = "max-age=31536000; includeSubDomains"
HEALTH_ENDPOINTS = ("system.healthz", "system.readyz")


def init_app(app: Flask) -> None:
    force_https = app.config["FORCE_HTTPS"]
    if proxies := app.config["TRUSTED_PROXIES"]:
        # Only then are X-Forwarded-For/-Proto believed: the client address that rate limits,
        # sign-in locks and audit rows use, and whether the request came over HTTPS.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    hosts = app.config["TRUSTED_HOST_NAMES"]

    @app.before_request
    def trusted_host_then_https():
        if request.endpoint in HEALTH_ENDPOINTS:  # probes come by IP address, over plain HTTP
            return None
        if hosts and not host_is_trusted(request.host, hosts):
            return "400 Bad Request: this host name is not served here", 400, {"Content-Type": "text/plain"}
        if force_https and not request.is_secure:
            # The host is a trusted one (TRUSTED_HOSTS is required in production with FORCE_HTTPS).
            return redirect(request.url.replace("http://", "https://", 1), code=301)
        return None

    @app.after_request
    def add_headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.endpoint and not request.endpoint.endswith("static") and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"  # donor data must not linger in shared caches
        if force_https and request.is_secure:
            response.headers["Strict-Transport-Security"] = HSTS
        return response
