# The README's two commands: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DATA := data/demo
DEMO_RUN := runs/demo
# The default recipe (fast, config/recipes.py) for 5 minutes of training, under 10 minutes in all
# on 2 CPU cores: 96-pixel crops, half-width anti-aliased networks that start as the identity,
# behind colour tables that start from the colour transfer between the folders. --precision auto
# (the default) computes in bf16 on CPUs where that is faster.
DEMO_FLAGS := --time-budget 5m --sample-every 250

# The browser tests drive Debian's Chromium (never a downloaded one); installed here when missing
# and this user may (root, or password-less sudo); otherwise those tests are skipped, saying why.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo -n)

.PHONY: demo test lint bench clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/stylecycle make-benchmark $(DEMO_DATA)
	$(BIN)/stylecycle train --data $(DEMO_DATA) --run-dir $(DEMO_RUN) $(DEMO_FLAGS)
	$(BIN)/stylecycle translate --checkpoint $(DEMO_RUN) --input $(DEMO_DATA)/testA --output $(DEMO_RUN)/translated
	$(BIN)/stylecycle evaluate --outputs $(DEMO_RUN)/translated --references $(DEMO_DATA)/testB --inputs $(DEMO_DATA)/testA --report $(DEMO_RUN)/evaluation
	@echo "Open $(DEMO_RUN)/index.html (sample grids and losses); translated test photos: $(DEMO_RUN)/translated/;"
	@echo "scores against the known answer and the comparison sheet: $(DEMO_RUN)/evaluation/"

browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; } \
		|| echo "could not install chromium: the browser tests will be skipped"

# The linter, the formatter's check and the type check run before the tests, so CI enforces them.
lint: $(VENV)/.installed
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/ruff format --check src tests benchmarks docs
	$(BIN)/mypy

test: $(VENV)/.installed browser lint
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/speed.py
	$(BIN)/python benchmarks/inference.py
	$(BIN)/python benchmarks/data.py

clean:
	rm -rf $(VENV) $(DEMO_DATA) runs
