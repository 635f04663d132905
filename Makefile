# The two commands: `make run` (the whole app locally on the embedded defaults) and `make test`.
# Each creates or refreshes .venv from the pinned requirements first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# checkov (tests/test_infra.py scans infra/ with it) lives apart: its pins clash with the app's.
INFRA_VENV := .venv-infra

.PHONY: run test bench chromium infra-tools

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(BIN)/python -m localdev serve

test: $(VENV)/.installed chromium infra-tools
	$(BIN)/python -m pytest -q

$(INFRA_VENV)/bin/python:
	$(PYTHON) -m venv $(INFRA_VENV)

$(INFRA_VENV)/.installed: requirements-infra.txt constraints-infra.txt | $(INFRA_VENV)/bin/python
	$(INFRA_VENV)/bin/python -m pip install --disable-pip-version-check -q -r requirements-infra.txt
	touch $@

infra-tools: $(INFRA_VENV)/.installed

# Headless Chromium + chromedriver for the console page test (Debian packages). Installed with
# apt-get when missing and apt-get is available; otherwise that test skips itself.
chromium:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		if command -v apt-get >/dev/null 2>&1; then \
			SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
			$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium chromium-driver \
				|| echo "installing chromium failed: the console page test will skip"; \
		else \
			echo "chromium/chromedriver missing and apt-get unavailable: the console page test will skip"; \
		fi; \
	fi

bench: $(VENV)/.installed
	$(BIN)/python -m bench
