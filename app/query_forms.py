"""Forms read from a query string (GET, no CSRF: they change nothing); bad input is a 400."""

from flask import abort, request
from flask_babel import gettext as _
from flask_wtf.i18n import translations
from wtforms import Form


class QueryForm(Form):
    class Meta:
        def get_translations(self, form):  # WTForms' own messages in the reader's language, as FlaskForm has them
            return translations

    @classmethod
    def from_query_or_400(cls):
        """The form over request.args, or a 400 page naming the first invalid field."""
        if any("\x00" in value for value in request.args.values()):
            # PostgreSQL refuses NUL in text; a CSV export would only meet it after its response started.
            abort(400, description=_("The query string holds a NUL character; remove it and try again."))
        form = cls(request.args)
        if not form.validate():
            name, messages = next(iter(form.errors.items()))
            abort(400, description=f"{form[name].label.text or name}: {messages[0]}")
        return form
