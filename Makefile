# Two commands: `make run` starts phonewarden on SQLite in ./var, `make test` runs the test suite.
# Each creates .venv when missing and, when run as root, installs the Debian packages the tests use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The compiled hot path (phonewarden/_accel.py): rebuilt when a compiled module's source changes.
ACCEL := .accel/manifest.json
ACCEL_SOURCES := $(shell $(PYTHON) -c 'import sys; sys.path[:0] = ["src"]; from phonewarden import _accel; \
  print(*_accel.hot_sources())')

.PHONY: run test lint debs rundebs bench captures clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

$(ACCEL): $(STAMP) src/phonewarden/_accel.py scripts/build_accel.py $(ACCEL_SOURCES)
	$(BIN)/python scripts/build_accel.py

debs:
	@scripts/install-debs.sh

rundebs:
	@scripts/install-debs.sh runtime

run: $(STAMP) rundebs $(ACCEL)
	$(BIN)/phonewarden serve

test: $(STAMP) debs $(ACCEL)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: $(STAMP) debs $(ACCEL)
	$(BIN)/python bench/decode_sip.py

captures: debs
	tools/captures/make_captures.sh

clean:
	rm -rf $(VENV) .accel .pytest_cache .mypy_cache .ruff_cache
