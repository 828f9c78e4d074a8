# Two commands set everything up on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-all bench bench-record clean env golden

env: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev,fast]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/hiddenvictims run scenarios/netherlands-baseline.toml --force

test: $(STAMP)
	$(PY) -m pytest -q

test-all: $(STAMP)
	$(PY) -m pytest -q -m "slow or not slow"

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

# Rewrites the committed benchmarks/results/ (make bench writes the untracked results/bench/).
bench-record: $(STAMP)
	$(PY) benchmarks/run_all.py --record

clean:
	rm -rf $(VENV) results .pytest_cache

# Regenerate tests/golden/*/baseline.json (reduced draws) after a change meant to move estimates.
golden: $(STAMP)
	$(PY) tests/golden/regenerate.py
