# make run: the console on http://127.0.0.1:5000 with demo data (embedded SQLite).
# make test: the whole suite against real PostgreSQL and headless Chromium.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
DEV := APP_ENV=development
# French: the catalogue is kept in git (.po); its compiled form (.mo) is built from it.
CATALOGUE := app/translations/fr/LC_MESSAGES/messages
EXTRACT := $(BIN)/pybabel -q extract -F app/translations/babel.cfg -k _l --no-location --omit-header --sort-output

.PHONY: run test serve bench translations

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

$(CATALOGUE).mo: $(CATALOGUE).po $(VENV)/.installed
	$(BIN)/pybabel -q compile -d app/translations

# After changing strings: extract them, merge them into the French catalogue, then translate
# what is new or marked fuzzy (make test fails until nothing is missing).
translations: $(VENV)/.installed
	$(EXTRACT) -o app/translations/messages.pot .
	$(BIN)/pybabel -q update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching --ignore-obsolete

run: $(VENV)/.installed $(CATALOGUE).mo
	$(DEV) $(FLASK) db upgrade
	$(DEV) $(FLASK) setup-demo
	$(DEV) $(FLASK) run --host 127.0.0.1 --port 5000

test: $(VENV)/.dev-installed $(CATALOGUE).mo
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Production serving: set APP_ENV, SECRET_KEY and DATABASE_URL first (see README).
serve: $(VENV)/.installed $(CATALOGUE).mo
	$(BIN)/gunicorn -c python:app.gunicorn_conf wsgi:app

bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench.routing
	$(BIN)/python -m bench.donors
	$(BIN)/python -m bench.move
	$(BIN)/python -m bench.load
