"""How the console writes a command for an operator to run: from a `make run` checkout as it
runs there (the development settings and the virtualenv's flask), elsewhere as a deployment
runs it. Every hint on a page, in a message or in an error goes through flask_command()."""

from flask import current_app, has_app_context


def flask_command(args: str) -> str:
    development = has_app_context() and current_app.config["APP_ENV"] == "development"
    prefix = "APP_ENV=development .venv/bin/flask --app wsgi" if development else "flask --app wsgi"
    return f"{prefix} {args}"
