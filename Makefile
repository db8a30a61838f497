# sedsnet for MicroPython: every target installs what it needs into .venv first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.setup-done
BOARD  ?= rp2040
PORT   ?=
CONFIG ?=

.PHONY: setup test mpy deploy demo bench clean

setup: $(STAMP)

$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements-dev.txt
	$(PY) tools/check_toolchain.py
	touch $(STAMP)

test: setup
	$(PY) -m pytest host_tests

mpy: setup
	$(PY) tools/build.py mpy $(BOARD)

deploy: setup
	$(PY) tools/build.py deploy $(BOARD) $(PORT) $(CONFIG)

demo: setup
	$(PY) tools/demo.py

bench: setup
	$(PY) tools/bench.py

clean:
	rm -rf build .pytest_cache
