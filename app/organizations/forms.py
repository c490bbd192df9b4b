from urllib.parse import quote

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional

SSL_MODES = ["", "disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
PLAIN = {"autocomplete": "off", "spellcheck": "false"}


def url_field(label, placeholder: str = "postgresql://user:password@host:5432/org_db") -> StringField:
    """A database URL as typed: never autocompleted or spell-checked (it may hold a password)."""
    return StringField(
        label,
        validators=[Optional(), Length(max=2048)],
        render_kw={"autocomplete": "off", "spellcheck": "false", "placeholder": placeholder},
    )


class DatabaseUrlForm(FlaskForm):
    database_url = url_field(_l("New database URL"))
    # pgAdmin's way, beside the URL field (which stays for pasting): the password is typed
    # into a password input, never shown; the parts build the same URL.
    host = StringField(_l("Host"), validators=[Optional(), Length(max=255)], render_kw=PLAIN)
    port = IntegerField(_l("Port"), validators=[Optional(), NumberRange(1, 65535)], render_kw={"placeholder": "5432"})
    dbname = StringField(_l("Database"), validators=[Optional(), Length(max=63)], render_kw=PLAIN)
    user = StringField(_l("User"), validators=[Optional(), Length(max=63)], render_kw=PLAIN)
    password = PasswordField(
        _l("Password"), validators=[Optional(), Length(max=1024)], render_kw={"autocomplete": "new-password"}
    )
    sslmode = SelectField(
        "sslmode", choices=[SelectChoice(mode, mode or _l("default")) for mode in SSL_MODES], default=""
    )
    force = BooleanField(_l("Save even though the test failed"))
    test = SubmitField(_l("Test connection"))
    save = SubmitField(_l("Save"))

    def typed_url(self) -> str:
        """The URL as pasted, or the one its parts build (user and password percent-encoded); "" for neither."""
        pasted = (self.database_url.data or "").strip()
        host = (self.host.data or "").strip()
        if pasted or not host:
            return pasted
        login = quote((self.user.data or "").strip(), safe="")
        if self.password.data:
            login += ":" + quote(self.password.data, safe="")
        address = f"[{host}]" if ":" in host else host
        port = f":{self.port.data}" if self.port.data else ""
        query = f"?sslmode={self.sslmode.data}" if self.sslmode.data else ""
        name = quote((self.dbname.data or "").strip(), safe="")
        return f"postgresql://{login + '@' if login else ''}{address}{port}/{name}{query}"

    def problems(self) -> str:
        return "; ".join(f"{self[name].label.text}: {', '.join(errors)}" for name, errors in self.errors.items())


class ClearForm(FlaskForm):
    confirm = BooleanField(_l("Yes, return this organization to the shared database"))
    submit = SubmitField(_l("Clear, return to shared mode"))


class MoveForm(FlaskForm):
    target_url = url_field(_l("Move to the database at"))
    to_shared = BooleanField(_l("Back to the shared database"))
    start = SubmitField(_l("Start the move"))


class ProvisionForm(FlaskForm):
    start = SubmitField(_l("Provision a dedicated database"))


class AbortMoveForm(FlaskForm):
    target_url = url_field(_l("Target of the move (to remove its half-copied rows)"), placeholder="")
    abort = SubmitField(_l("Abort the move"))
