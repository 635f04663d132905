# The two commands: `make run` (the whole app locally on the embedded defaults) and `make test`
# (lint, formatting, types, then the suite); `make test-fast` runs the unit tier only.
# Each creates or refreshes .venv from the pinned requirements first, and installs the project
# itself in it (editable), which puts the `localdev` command in .venv/bin.
# `make run PORT=7072 PUBSUB_PORT=8081` serves on other ports. Set on the command line only:
# a PORT some tool exported into the environment does not move the app.
PYTHON ?= python3
PORT = 7071
PUBSUB_PORT = 8080
VENV := .venv
BIN := $(VENV)/bin
# Where Debian's postgresql packages put the server binaries (one directory per major version).
PG_LIB ?= /usr/lib/postgresql
# checkov (tests/test_infra.py scans infra/ with it) lives apart: its pins clash with the app's.
INFRA_VENV := .venv-infra

.PHONY: run test test-fast bench chromium axe-core postgresql infra-tools

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The project is installed after its requirements, without build isolation: setuptools and
# wheel come pinned from requirements-dev.txt, so nothing unpinned is downloaded to build it.
$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	touch $@

run: $(VENV)/.installed
	$(BIN)/localdev serve --port $(PORT) --pubsub-port $(PUBSUB_PORT)

# Lint, formatting and types first (seconds; each prints a one-line verdict), then the suite with
# line and branch coverage of the deployed code (pyproject.toml's [tool.coverage.*]: under 90 % fails).
test: $(VENV)/.installed chromium axe-core postgresql infra-tools
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q --cov

# The unit tier alone, for the edit-test loop: every test outside tests/integration/ (those carry
# the `integration` marker by path, see tests/conftest.py), on all cores, about a minute on
# two. No lint, types or coverage: `make test` remains the whole check.
test-fast: $(VENV)/.installed postgresql infra-tools
	$(BIN)/python -m pytest -q -n auto -m "not integration"

$(INFRA_VENV)/bin/python:
	$(PYTHON) -m venv $(INFRA_VENV)

$(INFRA_VENV)/.installed: requirements-infra.txt constraints-infra.txt | $(INFRA_VENV)/bin/python
	$(INFRA_VENV)/bin/python -m pip install --disable-pip-version-check -q -r requirements-infra.txt
	touch $@

infra-tools: $(INFRA_VENV)/.installed

# $(call apt_install,<Debian packages>,<what happens without them>): install with apt-get (via
# sudo unless root) when apt-get exists; otherwise, or when that fails, say what will skip.
# Skipped real-component tests are listed at the end of the test run and fail it under CI=true.
define apt_install
	if command -v apt-get >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $(1) \
			|| echo "installing $(1) failed: $(2)"; \
	else \
		echo "$(1) missing and apt-get unavailable: $(2)"; \
	fi
endef

# Headless Chromium + chromedriver for the console page test (Debian packages).
chromium:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		$(call apt_install,chromium chromium-driver,the console page test will skip); \
	fi

# axe-core from npm, pinned, for the console page test's accessibility checks: the pin is
# AXE_CORE_VERSION in tests/support/axe.py, which reads node_modules/axe-core/axe.min.js
# (NPM_PREFIX is where node_modules/ goes: this checkout, git-ignored). npm comes from apt-get
# when it is missing.
AXE_CORE_VERSION := $(shell sed -n 's/^AXE_CORE_VERSION = "\(.*\)"$$/\1/p' tests/support/axe.py)
NPM_PREFIX ?= .
axe-core:
	@if ! grep -qs '"version": "$(AXE_CORE_VERSION)"' $(NPM_PREFIX)/node_modules/axe-core/package.json; then \
		command -v npm >/dev/null 2>&1 || { $(call apt_install,npm,the accessibility checks will skip); }; \
		npm install --prefix $(NPM_PREFIX) --no-save --no-package-lock --no-audit --no-fund \
			axe-core@$(AXE_CORE_VERSION) || echo "installing axe-core failed: the accessibility checks will skip"; \
	fi

# The PostgreSQL server the deployed app's database tests start (tests/support/postgres.py looks for
# initdb on PATH, then in $(PG_LIB)/<version>/bin, as here).
postgresql:
	@if ! command -v initdb >/dev/null 2>&1 && ! ls $(PG_LIB)/*/bin/initdb >/dev/null 2>&1; then \
		$(call apt_install,postgresql,the PostgreSQL tests will skip); \
	fi

bench: $(VENV)/.installed
	$(BIN)/python -m bench
