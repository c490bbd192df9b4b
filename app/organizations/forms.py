from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, SubmitField
from wtforms.validators import Length, Optional


def url_field(label: str, placeholder: str = "postgresql://user:password@host:5432/org_db") -> StringField:
    """A database URL as typed: never autocompleted or spell-checked (it may hold a password)."""
    return StringField(
        label,
        validators=[Optional(), Length(max=2048)],
        render_kw={"autocomplete": "off", "spellcheck": "false", "placeholder": placeholder},
    )


class DatabaseUrlForm(FlaskForm):
    database_url = url_field("New database URL")
    force = BooleanField("Save even though the test failed")
    test = SubmitField("Test connection")
    save = SubmitField("Save")


class ClearForm(FlaskForm):
    confirm = BooleanField("Yes, return this organization to the shared database")
    submit = SubmitField("Clear, return to shared mode")


class MoveForm(FlaskForm):
    target_url = url_field("Move to the database at")
    to_shared = BooleanField("Back to the shared database")
    start = SubmitField("Start the move")


class ProvisionForm(FlaskForm):
    start = SubmitField("Provision a dedicated database")


class AbortMoveForm(FlaskForm):
    target_url = url_field("Target of the move (to remove its half-copied rows)", placeholder="")
    abort = SubmitField("Abort the move")
