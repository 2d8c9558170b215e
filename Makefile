# Juki: every target sets itself up. `make run` and `make test` are the two commands
# a new machine needs (see README.md).

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Lambda runs Python 3.12; use the same locally. pyenv's shim may exist without the
# version being selected, so each candidate is tried for real.
PYTHON312 := $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/bin/python3.12 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info[:2] < (3, 12))' 2>/dev/null && { echo $$p; break; }; done)

# jsii warns on every run that Node 20 is past its end of life (the value lists the major versions
# to keep quiet about); the machines here have Node 20.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 18,20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 18,20
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 18,20

.PHONY: help setup system-packages run test test-unit test-integration test-infra test-e2e synth bench lint format openapi clean

help:
	@echo "make run     start the local system (moto server, API on http://127.0.0.1:8080, demo 静岡市)"
	@echo "make test    run every test (unit, integration, infra, end-to-end)"
	@echo "make synth   synthesize the CDK app (cdk-nag runs on every synth)"
	@echo "make bench   run the benchmarks and write docs/benchmarks.md"
	@echo "make lint    ruff and mypy"
	@echo "make openapi write docs/openapi.json and docs/permissions.md from the handlers"

# Debian packages: the Japanese font embedded in PDFs (IPAex Gothic, shipped in the Lambda layer)
# and poppler-utils, with which the tests read the PDFs back.
SYSTEM_PACKAGES := fonts-ipaexfont-gothic poppler-utils
IPAEX_FONT := /usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON312)" || { echo "Python 3.12 or newer is needed (pyenv install 3.12, or apt-get install python3.12)"; exit 1; }
	@command -v node >/dev/null || { echo "Node.js (18+) is needed by the CDK (jsii)"; exit 1; }
	@test -f $(IPAEX_FONT) && command -v pdffonts >/dev/null || $(MAKE) --no-print-directory system-packages
	test -x $(PY) || $(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

system-packages:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES)

run: $(STAMP)
	$(PY) -m juki_local $(ARGS)

test: $(STAMP)
	$(PY) -m pytest tests

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit

test-integration: $(STAMP)
	$(PY) -m pytest tests/integration

test-infra: $(STAMP)
	$(PY) -m pytest tests/infra

test-e2e: $(STAMP)
	$(PY) -m pytest tests/e2e

synth: $(STAMP)
	$(PY) -m juki_infra.app

bench: $(STAMP)
	$(PY) -m bench

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

openapi: $(STAMP)
	$(PY) -c 'import json; from juki_fn.api import openapi_schema; print(json.dumps(openapi_schema(), ensure_ascii=False, indent=2))' > docs/openapi.json
	$(PY) -m juki_fn.permissions_doc > docs/permissions.md

clean:
	rm -rf $(VENV) cdk.out .build .pytest_cache .mypy_cache .ruff_cache
