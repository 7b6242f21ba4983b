# FaceConsent: `make run` serves the demo, `make test` runs the suite. Nothing else is needed.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements/*.txt | sha1sum | cut -c1-12)
BIND ?= 127.0.0.1:8000
# seed_demo and serve both see it: the demo's instructions, mails and receipts link to where it listens.
run: export BIND := $(BIND)

# Without Redis, `make run` gives its worker a broker made of files under var/.
ifeq ($(strip $(REDIS_URL)$(CELERY_BROKER_URL)),)
run: export CELERY_BROKER_URL = filesystem://
endif

.PHONY: install run test test-fast lint format messages browser fonts schema fuzz requirements clean

$(STAMP):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "Python 3.11 or newer is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The face stack: prebuilt dlib (dlib-bin) is in base.txt; face_recognition itself goes in
	# without its dependency list, which would build dlib from source for ten minutes.
	$(BIN)/pip install --quiet -r requirements/base.txt -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps -r requirements/face-nodeps.txt
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP) messages

messages: $(STAMP)
	$(BIN)/python manage.py compilemessages --ignore=.venv --verbosity=0

run: install fonts
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity=0
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py serve --bind $(BIND)

# Browser tests drive Debian's Chromium, with a font for the Chinese pages (without one they draw
# boxes); install what is missing when we may.
BROWSER_PACKAGES := chromium fonts-wqy-zenhei
browser:
	@{ test -x /usr/bin/chromium && fc-list :lang=zh-cn 2>/dev/null | grep -q .; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null 2>&1 || \
	      (apt-get update -qq && apt-get install -y -qq $(BROWSER_PACKAGES))) >/dev/null; \
	  else echo "Browser tests need Debian's chromium and a Chinese font: sudo apt-get install $(BROWSER_PACKAGES)"; exit 1; fi; }

# The documents' PDFs need a Chinese font too (WeasyPrint draws boxes without one): installed when we may,
# else said once; the rest of the demo runs without it.
fonts:
	@fc-list :lang=zh-cn 2>/dev/null | grep -q . || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y -qq fonts-wqy-zenhei >/dev/null 2>&1 || \
	      (apt-get update -qq && apt-get install -y -qq fonts-wqy-zenhei)) >/dev/null; \
	  else echo "Chinese PDFs need a Chinese font: sudo apt-get install fonts-wqy-zenhei"; fi; }

test: install browser
	$(BIN)/pytest

# Schemathesis against the API's own schema, in-process, as an anonymous client, a shopper and a
# signed device (docs/decisions/0011-fuzzing-the-api.md). It runs the app as the environment sets it
# up (DEBUG and all); FUZZ_MAX_EXAMPLES and FUZZ_SEED widen or replay a run.
fuzz: install
	$(BIN)/pytest tests/fuzz -o django_debug_mode=keep

# Each row of docs/requirements.md with the tests that show it; fails while a row has none. It only
# collects (no test runs), the fuzz tests included (docs/decisions/0038-requirement-rows.md).
requirements: $(STAMP)
	$(BIN)/python -m pytest -p tests.requirements_table --collect-only -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schema: $(STAMP)
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file var/openapi.yaml

clean:
	rm -rf $(VENV) var staticfiles
