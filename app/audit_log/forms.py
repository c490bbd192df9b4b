from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, StringField
from wtforms.validators import Length, NumberRange, Optional

from app.query_forms import QueryForm


class AuditFilterForm(QueryForm):
    """The /audit query string."""

    organization = StringField(_l("Organization"), validators=[Optional(), Length(max=100)])
    admin = StringField(_l("Admin"), validators=[Optional(), Length(max=320)])
    action = StringField(_l("Action"), validators=[Optional(), Length(max=100)])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])
    before = IntegerField(validators=[Optional(), NumberRange(min=1, max=2**63 - 1)])

    def filters(self) -> dict:
        """The filters as typed, for the page's links (never other query-string keys)."""
        names = ("organization", "admin", "action", "since", "until")
        return {name: self[name].raw_data[0] for name in names if self[name].raw_data and self[name].raw_data[0]}
