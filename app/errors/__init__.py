"""Error pages and JSON errors, registered app-wide by create_app.

responses.py  the JSON envelope and the error page: the one way any code answers with an error
handlers.py   which exception becomes which status, code and message
"""
