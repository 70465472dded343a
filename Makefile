# Ashtech Store — the two commands: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/ashtech
REDIS_HOST ?= 127.0.0.1

.PHONY: run test install services browser lint bench clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
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

# PostgreSQL and Redis for the tests: use them when they answer, start them otherwise.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; pg_isready -h 127.0.0.1 -p 5432
	@psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'ashtech'" | grep -q 1 || createdb -h 127.0.0.1 -U postgres ashtech
	@redis-cli -h $(REDIS_HOST) ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
	@for i in $$(seq 30); do redis-cli -h $(REDIS_HOST) ping >/dev/null 2>&1 && break; sleep 1; done; redis-cli -h $(REDIS_HOST) ping

# Debian's Chromium for the browser tests (Playwright never downloads a browser here),
# and Debian's docker-compose to validate docker-compose.yml (no Docker engine needed).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	@command -v docker-compose >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null || true

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=true DATABASE_URL=$(PG_URL) $(PY) manage.py makemigrations --check --dry-run

test: export DATABASE_URL := $(PG_URL)
test: install services browser lint
	$(PY) -m pytest -m "not faults"
	TEST_CELERY_BROKER_URL=redis://127.0.0.1:6390/0 $(PY) -m pytest -m faults tests/faults

# Opt-in benchmark (QUALITY.md "Performance (P)"): wrk against gunicorn on a
# separate database; prints and writes bench/results/latest.md. BENCH_DURATION=10.
bench: install services
	$(PY) bench/run.py

clean:
	rm -rf var/broker var/celerybeat-schedule* var/test-media
