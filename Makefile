# Two commands on a fresh machine:  make demo  (set up + run the demo)  and  make test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
ARGS   ?=

.PHONY: setup demo test sample clean-venv

setup: $(VENV)/.installed

# The venv is rebuilt only when requirements.txt changes.
$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

demo: setup
	$(PY) DanceDemo.py $(ARGS)

test: setup
	$(PY) -m pytest -q tests

sample: setup
	$(PY) DanceSample.py

clean-venv:
	rm -rf $(VENV)
