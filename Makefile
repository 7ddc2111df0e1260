# Two commands do all set-up on a fresh machine with python3 and make:
#   make run   build the graph and serve it (SPARQL endpoint + linked data)
#   make test  run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run build test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install -q -c requirements.lock -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[test]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/poli-kg serve --host $(HOST) --port $(PORT)

build: $(VENV)/.installed-run
	$(BIN)/poli-kg build

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

$(VENV)/.installed-bench: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[test,bench]'
	touch $@ $(VENV)/.installed-test $(VENV)/.installed-run

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) public .public-*
