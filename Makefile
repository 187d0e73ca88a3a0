# The two commands: `make run` and `make test`. Both set up everything they need first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
PORT ?= 8000
export PORT

.PHONY: run test lint setup install services messages migrate seed browser restore-drill

# honcho would load .env over the shell's variables (the settings read the shell first, .env
# second): it loads nothing, so the server, worker and beat use what the set-up above used.
run: setup
	@echo ""
	@echo "  Escort Portal: http://localhost:$(PORT)/"
	@echo "  Health:        http://localhost:$(PORT)/healthz"
	@echo "  Demo logins above; password: $${DEMO_PASSWORD:-escort-demo}"
	@echo ""
	$(BIN)/honcho start -f Procfile -e /dev/null

test: setup lint browser
	$(MANAGE) makemigrations --check --dry-run
	$(BIN)/python -m escort_portal.testsuite

# The browser tests drive Debian's chromium; install it when we may, else they are skipped.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq chromium fonts-noto-core >/dev/null; \
	  else \
	    echo "[browser] chromium is missing; browser tests will be skipped." \
	         "Install it with: sudo apt-get install chromium fonts-noto-core"; \
	  fi; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

setup: install services messages migrate seed

install: $(BIN)/.installed

$(BIN)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

services: install
	$(BIN)/python -m escort_portal.devservices

messages: install
	$(MANAGE) compilemessages --ignore=.venv --verbosity=0

migrate: services
	$(MANAGE) migrate_schemas --verbosity=0

seed: migrate
	$(MANAGE) seed_demo

# Dumps a freshly seeded database with deploy/backup.sh, restores it with deploy/restore.sh and
# checks the portal serves the same pages from both (README, Backups). BUSY_DAYS=90 adds 90 days
# of a busy station.
BUSY_DAYS ?= 0
# The drill reads pages under the production settings, which link the collected static files.
restore-drill: services
	@export STATIC_ROOT=$$(mktemp -d); \
	DJANGO_SETTINGS_MODULE=escort_portal.settings.production SECRET_KEY=restore-drill \
	  ALLOWED_HOSTS=testserver $(MANAGE) collectstatic --noinput --verbosity=0 && \
	$(BIN)/python -m escort_portal.restore_drill --busy-days $(BUSY_DAYS); \
	status=$$?; rm -rf "$$STATIC_ROOT"; exit $$status
