# Two commands: `make run` starts phonewarden on SQLite in ./var, `make test` runs the test suite.
# Each creates .venv when missing and, when run as root, installs the Debian packages the tests use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint debs bench captures clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

debs:
	@scripts/install-debs.sh

run: $(STAMP)
	@scripts/install-debs.sh runtime
	$(BIN)/phonewarden serve

test: $(STAMP) debs
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: $(STAMP) debs
	$(BIN)/python bench/decode_sip.py

captures: debs
	tools/captures/make_captures.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
