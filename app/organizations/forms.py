from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, SubmitField
from wtforms.validators import Length, Optional


class DatabaseUrlForm(FlaskForm):
    database_url = StringField(
        "New database URL",
        validators=[Optional(), Length(max=2048)],
        render_kw={
            "autocomplete": "off",
            "spellcheck": "false",
            "placeholder": "postgresql://user:password@host:5432/org_db",
        },
    )
    force = BooleanField("Save even though the test failed")
    test = SubmitField("Test connection")
    save = SubmitField("Save")


class ClearForm(FlaskForm):
    confirm = BooleanField("Yes, return this organization to the shared database")
    submit = SubmitField("Clear, return to shared mode")


class MoveForm(FlaskForm):
    target_url = StringField(
        "Move to the database at",
        validators=[Optional(), Length(max=2048)],
        render_kw={
            "autocomplete": "off",
            "spellcheck": "false",
            "placeholder": "postgresql://user:password@host:5432/org_db",
        },
    )
    to_shared = BooleanField("Back to the shared database")
    start = SubmitField("Start the move")


class AbortMoveForm(FlaskForm):
    target_url = StringField(
        "Target of the move (to remove its half-copied rows)",
        validators=[Optional(), Length(max=2048)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    abort = SubmitField("Abort the move")
