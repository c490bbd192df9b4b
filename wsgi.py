"""The WSGI entry point: gunicorn wsgi:app, flask --app wsgi ..."""

import sys

from app import create_app
from config import ConfigError

try:
    app = create_app()
except ConfigError as exc:  # one clear line, not a traceback: the operator fixes a setting
    sys.exit(f"error: {exc}")
