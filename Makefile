# Everything a newcomer needs: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint pytest screenshots bench lock clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/vrm demo

test: lint pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

# The pictures in docs/screenshots/ (the README shows them), taken by the browser tests.
screenshots: $(STAMP)
	VRM_SCREENSHOTS=1 $(BIN)/python -m pytest -m browser

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_protocol.py
	$(BIN)/python benchmarks/bench_terms.py
	$(BIN)/python benchmarks/bench_delivery.py
	$(BIN)/python benchmarks/bench_fanout.py
	$(BIN)/python benchmarks/bench_vendor_fanout.py
	$(BIN)/python benchmarks/bench_exchange.py
	$(BIN)/python benchmarks/bench_exchange_http.py
	$(BIN)/python benchmarks/bench_pages.py
	$(BIN)/python benchmarks/bench_records.py

# Re-pin every dependency (run after changing pyproject.toml).
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	{ echo '# Exact versions of every dependency, used as pip constraints; regenerate with make lock.'; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^-e'; } > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
