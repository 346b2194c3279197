# The README's two commands are `make reproduce` and `make test`; each creates the environment first.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: env reproduce test test-slow bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

env: $(BIN)/.installed

reproduce: env          ## quick sweep + figures + verification of every study (CPU, minutes)
	$(BIN)/rote reproduce --scale quick

test: env               ## default test suite (slow tests excluded)
	$(BIN)/pytest -q

test-slow: env          ## only the slow tests
	$(BIN)/pytest -q -m slow

bench: env              ## side-by-side speed table + bench_out/grokking.json (engine, loops, torch if installed: pip install torch==2.13.0)
	$(BIN)/python benchmarks/bench_grokking.py

clean:
	rm -rf $(VENV) results bench_out
