"""gunicorn settings from the environment: `gunicorn -c python:app.gunicorn_conf wsgi:app` (make serve)."""

import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
# A worker stuck longer than this is replaced; tenant statements stop at TENANT_STATEMENT_TIMEOUT first.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# The proxy that ends TLS; its X-Forwarded-Proto then tells the app a request was HTTPS.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = None  # the app logs each request itself, with admin and organization (app/request_log.py)
errorlog = "-"
