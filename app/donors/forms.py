"""The donor list's query string: search, filters, sort and cursor, validated (400 otherwise)."""

from wtforms import BooleanField, DateField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional

from app.query_forms import QueryForm

SORT_CHOICES = [
    SelectChoice("name", "Last name"),
    SelectChoice("created", "Newest first"),
    SelectChoice("total", "Lifetime total"),
]


class DonorListForm(QueryForm):
    q = StringField("Search", validators=[Optional(), Length(max=200)])
    campaign = StringField("Campaign", validators=[Optional(), Length(max=100)])
    since = DateField("Gave since", validators=[Optional()])
    opted_in = BooleanField("Opted in to email")
    sort = SelectField("Sort", choices=SORT_CHOICES, default="name", validate_choice=True)
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
