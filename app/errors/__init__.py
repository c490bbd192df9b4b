"""Error pages and JSON errors (handlers.py); registered app-wide by create_app."""
