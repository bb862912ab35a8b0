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

# The docs build (it executes the tutorials) runs beside the tests: both spend most of their time in
# single-threaded XLA compiles, so together they keep two cores busy; its log is printed after the tests.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mkdocs build --strict --site-dir site > site.log 2>&1 & docs=$$!; \
	$(BIN)/python -m pytest -q -n 2 --dist loadfile; tests=$$?; \
	wait $$docs; built=$$?; cat site.log; rm -f site.log; \
	echo "pytest exit $$tests, mkdocs exit $$built"; test $$tests -eq 0 && test $$built -eq 0

clean:
	rm -rf $(VENV) out site site.log
