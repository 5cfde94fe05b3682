# ProSync: `make demo` runs the main job locally, `make test` runs the whole suite.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help deps venv test test-fast demo up synth bench openapi lock clean

help:
	@echo "make demo   - set up everything and run a 3-segment job through the local stack"
	@echo "make test   - set up everything and run the whole test suite"
	@echo "make test-fast - the suite without the browser and layer-bundling tests"
	@echo "make synth  - synthesize the CDK stack offline into cdk.out/"
	@echo "make bench  - run the benchmarks in bench/"

deps:
	@scripts/ensure-system-deps.sh

$(STAMP): requirements.lock layers/prosync/pyproject.toml pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e layers/prosync -e .
	@touch $(STAMP)

venv: $(STAMP)

# pytest exits 5 when it collected no test: treat that as a failure, never as a pass.
test: deps venv
	@scripts/ensure-system-deps.sh --browser
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

# The quick loop while coding: no browser and no arm64 layer build.
test-fast: deps venv
	$(PY) -m pytest -m "not browser and not bundling" $(PYTEST_ARGS)

demo: deps venv
	$(VENV)/bin/prosync demo

up: deps venv
	$(VENV)/bin/prosync up

synth: deps venv
	$(PY) app.py

bench: deps venv
	$(PY) -m bench

openapi: venv
	$(PY) -m devstack.openapi > docs/openapi.json

lock:
	python3 -m venv /tmp/prosync-lock && /tmp/prosync-lock/bin/pip install -q -r requirements.in
	( echo "# Generated from requirements.in with: make lock  (pip install -r requirements.in; pip freeze)"; \
	  /tmp/prosync-lock/bin/pip freeze ) > requirements.lock

clean:
	rm -rf $(VENV) cdk.out .pytest_cache
