# matcher: `make help` lists the targets.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
TENDER ?= data/sample/tenders/bridge-reconstruction.yaml
# torch is pinned to a CPU build (see README: "Other platforms"); an unpinned torch pulls a CUDA build of several GB.
TORCH  ?= torch==2.13.0

.PHONY: help install dev run test lint clean browser serve messages

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; run make PYTHON=python3"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed ## create .venv and install matcher with its test tools

run: install ## build the sample cluster's index and suggest members for a sample tender
	$(BIN)/matcher index build --sample
	$(BIN)/matcher suggest $(TENDER) --top-k 5

test: install browser ## run the test suite (uses the real bundled model; no network)
	$(BIN)/python -m pytest -q

# The web test drives Debian's chromium through Playwright; no browser is ever downloaded.
browser: ## install Debian's chromium for the browser test, when it is missing
	@command -v chromium >/dev/null 2>&1 || { \
	  if ! command -v apt-get >/dev/null 2>&1; then \
	    echo "chromium not found and no apt-get here: install chromium, or the browser test is skipped"; \
	  else \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends chromium; } \
	      || echo "could not install chromium: the browser test will be skipped (and say so)"; \
	  fi; }

serve: install ## serve the sample cluster's page and API on http://127.0.0.1:8000
	$(BIN)/matcher serve --sample

lint: install ## ruff, mypy, and the layer contracts (import-linter)
	$(BIN)/ruff check matcher tests scripts
	$(BIN)/mypy matcher
	$(BIN)/lint-imports

# Babel: the marked strings (tr, ntr, N_ in Python; _ in templates) into the .pot, merged into
# each language's .po (translate the new entries there), compiled to the .mo that gettext reads.
LOCALE := matcher/locale
messages: install ## extract the strings to translate, update the .po files, compile them
	$(BIN)/pybabel extract -F babel.cfg -k tr -k ntr:1,2 -k N_ --no-location --sort-output \
	  --project matcher -o $(LOCALE)/matcher.pot .
	$(BIN)/pybabel update -i $(LOCALE)/matcher.pot -d $(LOCALE) -D matcher --width 120 --ignore-obsolete --no-fuzzy-matching
	$(BIN)/pybabel compile -d $(LOCALE) -D matcher --statistics

clean: ## remove .venv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
