# Developer entry point. Every target runs tools/devtool.py, which checks its
# prerequisites (ODOO_PATH, PostgreSQL, Chromium) and says what is missing.
PYTHON ?= python3
DEVTOOL = $(PYTHON) tools/devtool.py

.PHONY: help setup run test test-ha lint bench check

help:
	@echo "make setup   - virtual environment with Odoo's and the project's dependencies"
	@echo "make run     - demo database with the addons (and CRM), served on http://localhost:8069"
	@echo "make test    - lint, then every test on a fresh database (pytest-odoo, browser tests included)"
	@echo "make test-ha - two Odoo servers on a PostgreSQL primary and its streaming standby: the HA tests"
	@echo "make lint    - ruff and pylint-odoo's mandatory checks"
	@echo "make bench BENCH=name [ARGS=...] - run one benchmark (make bench BENCH=list lists them)"
	@echo "make check   - check the prerequisites only"

setup:
	@$(DEVTOOL) setup

run:
	@$(DEVTOOL) run $(ARGS)

test:
	@$(DEVTOOL) test $(ARGS)

test-ha:
	@$(DEVTOOL) test-ha $(ARGS)

lint:
	@$(DEVTOOL) lint

bench:
	@$(DEVTOOL) bench $(BENCH) $(ARGS)

check:
	@$(DEVTOOL) check
