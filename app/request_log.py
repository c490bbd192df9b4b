"""One log line per request: request id, admin, organization, status, duration.

LOG_FORMAT=json writes JSON lines (for a log pipeline); otherwise plain text. Every
record goes through the password mask of app/logging_setup.py first.
"""

import json
import logging
import time
import uuid

from flask import Flask, g, request

logger = logging.getLogger("app.requests")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def init_app(app: Flask) -> None:
    if app.config["LOG_FORMAT"] == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        for name in ("app", "app.requests", app.logger.name):
            target = logging.getLogger(name)
            target.handlers = [handler]
            target.propagate = False
    logger.setLevel(logging.INFO)

    @app.before_request
    def start_timer():
        g.request_started = time.perf_counter()
        # A proxy's id is kept so one request can be followed across systems.
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex

    @app.after_request
    def log_request(response):
        started = g.get("request_started")
        if started is None or request.endpoint in ("static", "bootstrap.static"):
            return response
        org = g.get("org")
        # The admin Flask-Login already loaded, if any: logging must not query a database that may be down.
        admin = g.get("_login_user")
        fields = {
            "request_id": g.request_id,
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "admin": getattr(admin, "email", None),
            "organization": org.id if org is not None else None,
            "database": g.tenant_route.target if g.get("tenant_route") else None,
        }
        logger.info(
            "%s %s %s %.1fms",
            request.method,
            request.path,
            response.status_code,
            fields["duration_ms"],
            extra={"fields": fields},
        )
        response.headers["X-Request-Id"] = g.request_id
        return response
