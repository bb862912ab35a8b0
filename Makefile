# The two commands of the README. Both create .venv if it is missing and (re)install when
# pyproject.toml changed; everything comes from the package registry.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint docs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/jamscope jamming --out out

lint: $(STAMP)
	$(BIN)/ruff check .

docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir site

# XLA compiles dominate the tests and the executed tutorials on a CPU, and many programs are compiled
# again and again (each train() call builds fresh closures; the docs repeat the tests' shapes): JAX's
# persistent compilation cache, shared by the pytest workers and the docs build, compiles each once.
test: export JAX_COMPILATION_CACHE_DIR := $(CURDIR)/.cache/jax
test: export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS := 0
test: export JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES := 0
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 2 --dist loadfile
	$(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) out site .cache
