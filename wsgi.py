"""The WSGI entry point: gunicorn wsgi:app, flask --app wsgi ..."""

import sys

from app import create_app
from config import ConfigError

try:
    app = create_app()
except ConfigError as exc:  # one clear line, not a traceback: the operator fixes a setting
    print(f"error: {exc}", file=sys.stderr)
    # 3 is gunicorn's "worker failed to boot": it stops, instead of booting the worker again forever.
    sys.exit(3)
