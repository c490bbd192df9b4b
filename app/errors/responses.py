"""The one shape of an error: the JSON envelope for clients that read JSON, the error page for people.

A blueprint whose clients read JSON (the API) says so with answers_in_json(bp); every error
under its URL prefix then gets {"success": false, "error": {"code", "message"}}, whichever
handler made it.
"""

from flask import Blueprint, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.http import HTTP_STATUS_CODES

# The headings a person reads, by status (the JSON codes keep werkzeug's English names).
TITLES = {
    400: _l("Bad Request"),
    401: _l("Unauthorized"),
    403: _l("Forbidden"),
    404: _l("Not Found"),
    405: _l("Method Not Allowed"),
    413: _l("Request Entity Too Large"),
    429: _l("Too Many Requests"),
    500: _l("Internal Server Error"),
    503: _l("Service Unavailable"),
}


def envelope(code: str, message: str) -> dict:
    return {"success": False, "error": {"code": code, "message": str(message)}}


def answers_in_json(bp: Blueprint) -> None:
    bp.record_once(lambda state: state.app.extensions["json_prefixes"].append(bp.url_prefix + "/"))


def wants_json() -> bool:
    """Under a JSON blueprint, or a page's own script asking for JSON (the test button's fetch)."""
    if request.accept_mimetypes.best == "application/json":
        return True
    return any(request.path.startswith(prefix) for prefix in current_app.extensions["json_prefixes"])


def error_response(status: int, message: str, code: str | None = None, hint: str = "", title: str | None = None):
    """code: the JSON envelope's, by default the status's English name ("not_found"); title:
    the page's heading, by default the status's name in the reader's language."""
    if wants_json():
        return envelope(code or HTTP_STATUS_CODES.get(status, "error").lower().replace(" ", "_"), message), status
    heading = title or TITLES.get(status) or HTTP_STATUS_CODES.get(status, "")
    return render_template("errors/error.html", status=status, title=heading, message=message, hint=hint), status
