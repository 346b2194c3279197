# The README's two commands are `make reproduce` and `make test`; each creates the environment first.
# `make test` lints with ruff first, so an unused import fails CI.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
TEST_WORKERS ?= 2   # pytest-xdist workers of `make test` (one group per study folder, tests/conftest.py)

.PHONY: env reproduce test test-slow bench bench-grokking bench-mha clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

env: $(BIN)/.installed

reproduce: env          ## quick sweep + figures + verification of every study (CPU, minutes)
	$(BIN)/rote reproduce --scale quick

test: env               ## lint (ruff) and the default test suite (slow tests excluded)
	$(BIN)/ruff check .
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadgroup

test-slow: env          ## only the slow tests
	$(BIN)/pytest -q -m slow

bench: bench-grokking bench-mha   ## both side-by-side speed tables (torch rows if installed: pip install torch==2.13.0)

bench-grokking: env     ## grokking step: engine vs JAX loop vs torch + bench_out/grokking.json
	$(BIN)/python benchmarks/bench_grokking.py

bench-mha: env          ## attention model at the official defaults: engine vs JAX loop vs torch + bench_out/mha.json
	$(BIN)/python benchmarks/bench_mha.py

clean:
	rm -rf $(VENV) results bench_out
