# XinQiao: `make run` serves the demo, `make test` runs the whole suite. Both set everything up.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
# Two test workers by default (xdist); each has its own database.
PYTEST_ARGS ?= -n 2
export FLASK_APP := wsgi

.PHONY: run test test-pg bench soak install install-dev translations extract-messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed translations
install-dev: $(VENV)/.installed-dev translations

# Compiled catalogues are build output: made from the .po files every time.
translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d app/translations

extract-messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -w 100 -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching -w 100

run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask demo --if-empty
	@echo "XinQiao is serving on http://127.0.0.1:$(PORT)  (students: http://127.0.0.1:$(PORT)/s)"
	@# The alert escalation sweep (a systemd timer on a server) runs beside the server and stops with it:
	@# without it no overdue alert is escalated and /healthz says "degraded".
	$(BIN)/flask alerts sweep --every 60 & sweeper=$$!; trap 'kill $$sweeper 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/gunicorn -c gunicorn.conf.py --bind 127.0.0.1:$(PORT) --access-logfile - wsgi:app

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The same suite against PostgreSQL (TEST_DATABASE_URL must point at a throwaway database).
test-pg: install-dev
	@test -n "$$TEST_DATABASE_URL" || (echo "set TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/xinqiao_test" && exit 2)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install-dev
	$(BIN)/python -m bench.run

# A whole school's morning with faults on a schedule, on SQLite and PostgreSQL: bench/results/soak.json (bench/README.md).
# Not part of `make test`: a real morning takes 20 minutes per engine. SOAK_ARGS="--minutes 6" for a shorter one.
soak: install-dev
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
