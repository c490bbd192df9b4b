"""Logging that never carries a database password, whatever code logs it."""

import logging
import re

# user:password@ inside any URL-looking text; the user part is kept for diagnosis.
_CREDENTIALS = re.compile(r"(://[^:/@\s]*):[^@\s]*@")


def mask_credentials(text: str) -> str:
    return _CREDENTIALS.sub(r"\1:***@", text)


class MaskPasswordsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_credentials(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_credentials(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask_credentials(record.exc_text)
        return True


def init_app(app) -> None:
    mask = MaskPasswordsFilter()
    for handler in logging.getLogger().handlers + app.logger.handlers:
        handler.addFilter(mask)
    # Records that reach handlers added later (pytest's caplog, gunicorn) are masked at the source too.
    for name in ("", app.logger.name, "sqlalchemy", "alembic", "werkzeug", "app"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskPasswordsFilter) for f in logger.filters):
            logger.addFilter(mask)
