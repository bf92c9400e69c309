# Two commands: `make run` (the portal with a demo bank) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install browser run test bench messages

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/honcho start --procfile Procfile

# The browser tests drive Debian's Chromium (nothing is downloaded); install it when missing.
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else \
	    echo "The browser tests need Debian's Chromium: sudo apt-get install chromium fonts-noto-cjk" >&2; exit 1; \
	  fi; }

test: install browser
	$(BIN)/python -m pytest

messages: install
	$(BIN)/python manage.py makemessages --locale zh_Hans --locale en --ignore ".venv/*" --ignore "var/*" --ignore "bench/*"
	$(BIN)/python manage.py compilemessages --ignore ".venv/*"
