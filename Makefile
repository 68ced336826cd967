# Wafa: `make run` starts the platform, `make test` runs every test. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PACKAGES := shared services/customer services/loyalty services/survey services/analytics services/touch-scheduler
STAMP := $(VENV)/.installed
SERVICE_PACKAGES := $(filter-out %.egg-info,$(wildcard services/*/wafa_*))
PYPROJECTS := $(foreach p,$(PACKAGES),$(p)/pyproject.toml)

.PHONY: install run test test-fast lint typecheck bench bench-bus clean chromium

$(STAMP): $(PYPROJECTS) requirements-dev.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -r requirements-dev.txt $(foreach p,$(PACKAGES),-e $(p))
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/wafa run

test: $(STAMP) chromium
	$(PY) -m pytest -q

# The dashboard's browser test drives Debian's chromium (never `playwright install`).
chromium:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y --no-install-recommends chromium)

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy shared/wafa_shared $(SERVICE_PACKAGES)

bench: $(STAMP)
	$(PY) bench/suite.py

bench-bus: $(STAMP)
	$(PY) bench/bus.py

clean:
	rm -rf $(VENV) .wafa
