# sedsnet for MicroPython: every target installs what it needs into .venv first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.setup-done
BOARD  ?= rp2040
PORT   ?=
CONFIG ?=
ROMFS  ?=
MICROPY_DIR ?=
MP_BOARD ?=

.PHONY: setup test mpy deploy demo bench footprint romfs firmware clean

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
ifeq ($(ROMFS),1)
	$(PY) tools/romfs.py deploy $(BOARD) $(PORT) $(CONFIG)
else
	$(PY) tools/build.py deploy $(BOARD) $(PORT) $(CONFIG)
endif

romfs: setup
	$(PY) tools/romfs.py build $(BOARD)

firmware: setup
	$(PY) tools/firmware.py $(BOARD) "$(MICROPY_DIR)" $(MP_BOARD)

demo: setup
	$(PY) tools/netsim scenarios/default.json

bench: setup
	$(PY) tools/bench.py

footprint: setup
	$(PY) tools/footprint.py

clean:
	rm -rf build .pytest_cache
