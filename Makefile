# The two commands of the README. Both create .venv if it is missing and (re)install when
# pyproject.toml changed; everything comes from the package registry.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint docs suite clean

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

# The suite builds the documentation too (tests/test_site.py: the strict build, every tutorial
# executed, then checks over the built site), first, on one of the two workers; `make docs` builds it
# alone. XLA compiles dominate the tests and the executed tutorials on a CPU, and many programs are
# compiled again and again (each train() call builds fresh closures; the docs repeat the tests' shapes):
# JAX's persistent compilation cache, shared by the workers and the docs build, compiles each once.
suite: export JAX_COMPILATION_CACHE_DIR := $(CURDIR)/.cache/jax
suite: export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS := 0
suite: export JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES := 0
suite: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder

test: $(STAMP)
	$(BIN)/ruff check .
	$(MAKE) --no-print-directory suite

clean:
	rm -rf $(VENV) out site .cache
