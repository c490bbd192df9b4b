"""The donor list's query string: search, filters, sort and cursor, validated (400 otherwise)."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional

from app.query_forms import QueryForm

SORT_CHOICES = [
    SelectChoice("name", _l("Last name")),
    SelectChoice("created", _l("Newest first")),
    SelectChoice("total", _l("Lifetime total")),
]


class DonorListForm(QueryForm):
    q = StringField(_l("Search"), validators=[Optional(), Length(max=200)])
    campaign = StringField(_l("Campaign"), validators=[Optional(), Length(max=100)])
    since = DateField(_l("Gave since"), validators=[Optional()])
    opted_in = BooleanField(_l("Opted in to email"))
    sort = SelectField(_l("Sort"), choices=SORT_CHOICES, default="name", validate_choice=True)
    cursor = StringField(validators=[Optional(), Length(max=1000)])

    def filters(self) -> dict:
        """The search and filters, without paging: what the links and the CSV export carry."""
        values = {
            "q": self.q.data,
            "campaign": self.campaign.data,
            "since": self.since.data.isoformat() if self.since.data else None,
            "opted_in": "y" if self.opted_in.data else None,
            "sort": self.sort.data,
        }
        return {key: value for key, value in values.items() if value}
