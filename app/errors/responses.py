"""The one shape of an error: the JSON envelope for clients that read JSON, the error page for people.

A blueprint whose clients read JSON (the API) says so with answers_in_json(bp); every error
under its URL prefix then gets {"success": false, "error": {"code", "message"}}, whichever
handler made it.
"""

from flask import Blueprint, current_app, render_template, request


def envelope(code: str, message: str) -> dict:
    return {"success": False, "error": {"code": code, "message": message}}


def answers_in_json(bp: Blueprint) -> None:
    bp.record_once(lambda state: state.app.extensions["json_prefixes"].append(bp.url_prefix + "/"))


def wants_json() -> bool:
    """Under a JSON blueprint, or a page's own script asking for JSON (the test button's fetch)."""
    if request.accept_mimetypes.best == "application/json":
        return True
    return any(request.path.startswith(prefix) for prefix in current_app.extensions["json_prefixes"])


def error_response(status: int, title: str, message: str, code: str | None = None, hint: str = ""):
    if wants_json():
        return envelope(code or title.lower().replace(" ", "_"), message), status
    return render_template("errors/error.html", status=status, title=title, message=message, hint=hint), status
