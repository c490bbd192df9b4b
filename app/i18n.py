"""French and English: each request's language, the switch that remembers it, and the
formats of dates, amounts and numbers.

The browser's Accept-Language decides unless the admin picked a language in the navigation
bar (kept in the session, through sign-in and sign-out). Outside a request (commands, the
worker) there is no locale to pick, so Flask-Babel answers in English: CLI output and the
audit rows stay English.
"""

from decimal import Decimal

from babel import numbers
from flask import Flask, has_request_context, request, session
from flask_babel import Babel, force_locale, format_decimal, get_locale, refresh
from flask_babel.speaklater import LazyString

LANGUAGES = {"en": "English", "fr": "Français"}  # each named in its own language, never translated

babel = Babel()


def select_locale() -> str | None:
    if not has_request_context():
        return None
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES, default="en")


def clear_session() -> None:
    """session.clear() (sign-in, sign-out, idle timeout) that keeps the language picked."""
    language = session.get("lang")
    session.clear()
    if language in LANGUAGES:
        session["lang"] = language


def english(text) -> str:
    """text in English whatever the reader's language: for audit rows and logs, which
    every admin reads (a lazy string renders in English here; a plain one is as it is)."""
    with force_locale("en"):
        return str(text)


def money(amount: Decimal | float | int) -> str:
    """1234.5 -> "1,234.50" (English), "1 234,50" (French). A filter: the donor list formats 50."""
    return format_decimal(amount, "#,##0.00")


def percent(ratio: float) -> str:
    """0.1234 -> "12.3%" (English), "12,3 %" (French): one decimal at most, the locale's sign and spacing."""
    return numbers.format_percent(round(ratio, 3), locale=get_locale(), decimal_quantization=False)


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, default_domain="messages")
    # Flask-Babel keeps the locale on the app context, which a test (or a command that
    # serves requests) may hold across requests: each request picks its own.
    app.before_request_funcs.setdefault(None, []).insert(0, refresh)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, current_language=lambda: str(get_locale() or "en"))
    app.jinja_env.filters.update(money=money, percent=percent)
    # Messages made with lazy_gettext (probe results, schema status) reach JSON answers too.
    plain = app.json.default
    app.json.default = lambda value: str(value) if isinstance(value, LazyString) else plain(value)
