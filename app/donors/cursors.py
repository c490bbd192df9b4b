"""Page links that carry where a page ended: signed, tied to one sort, refused when tampered with."""

from datetime import date, datetime
from decimal import InvalidOperation

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer


class BadRequest(ValueError):
    """Bad input: shown on a 400 page."""


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def encode_cursor(salt: str, sort: str, direction: str, values) -> str:
    plain = [v.isoformat() if isinstance(v, (date, datetime)) else str(v) for v in values]
    return _serializer(salt).dumps({"s": sort, "d": direction, "k": plain})


def decode_cursor(salt: str, token: str, sort: str, readers) -> tuple[str, tuple]:
    """(direction, key values); BadRequest for anything tampered with or from another sort."""
    try:
        data = _serializer(salt).loads(token)
        if data["s"] != sort or data["d"] not in ("next", "prev") or len(data["k"]) != len(readers):
            raise ValueError
        return data["d"], tuple(read(value) for read, value in zip(readers, data["k"]))
    except (BadSignature, KeyError, TypeError, ValueError, InvalidOperation):
        raise BadRequest(
            _("This page link is not valid (it may come from another search); start again from the first page.")
        ) from None
