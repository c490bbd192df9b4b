"""Forms read from a query string (GET, no CSRF: they change nothing); bad input is a 400."""
from flask import abort, request
from wtforms import Form


class QueryForm(Form):
    @classmethod
    def from_query_or_400(cls):
        """The form over request.args, or a 400 page naming the first invalid field."""
        form = cls(request.args)
        if not form.validate():
            name, messages = next(iter(form.errors.items()))
            abort(400, description=f"{form[name].label.text or name}: {messages[0]}")
        return form
