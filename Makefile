# The two commands of the README. Both create .venv if it is missing and (re)install when
# pyproject.toml changed; everything comes from the package registry.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint docs unit clean

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

unit: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# XLA compiles dominate the tests and the executed tutorials on a CPU, and many programs are compiled
# again and again (each train() call builds fresh closures; the docs repeat the tests' shapes): JAX's
# persistent compilation cache, shared by the pytest workers and the docs build, compiles each once.
# The suite and the docs build run side by side: neither keeps both cores busy on its own (measured:
# 1.7 and 1.3 cores on average), so together they finish sooner; each one's output is printed whole
# when it ends.
test: export JAX_COMPILATION_CACHE_DIR := $(CURDIR)/.cache/jax
test: export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS := 0
test: export JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES := 0
test: $(STAMP)
	$(BIN)/ruff check .
	$(MAKE) --no-print-directory --output-sync=target -j2 unit docs

clean:
	rm -rf $(VENV) out site .cache
