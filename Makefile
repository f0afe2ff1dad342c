# identitynow.tasks: every command sets itself up. See README.md.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
COLLECTIONS := $(CURDIR)/build/collections
COLL := $(COLLECTIONS)/ansible_collections/identitynow/tasks
WITH_SIM := $(BIN)/python $(CURDIR)/tests/simulator/with_sim.py
PYTEST_ARGS ?=

# Simulator settings (make sim): see docs/simulator.md.
SIM_PORT ?= 8765
SIM_SCENARIO ?= demo
SIM_TASKS ?= 1000
export SIM_PORT SIM_SCENARIO SIM_TASKS
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_NOCOLOR := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venv collection sim demo test sanity lint units integration clean

help:
	@echo "make demo   start the simulated tenant and run the demo playbook against it"
	@echo "make test   sanity, lint, unit and integration tests"
	@echo "make sim    run the simulated tenant in the foreground (SIM_PORT, SIM_SCENARIO, SIM_TASKS)"
	@echo "make clean  remove the virtual environment and build folders"

$(VENV)/.installed: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

venv: $(VENV)/.installed

# The collection laid out as ansible_collections/identitynow/tasks: the files git tracks or
# would track (ignored ones left out). Files gone from the tree are removed from the copy;
# tests/output (ansible-test's results) is kept. The copy is a git work tree of its own, because
# ansible-test lists files through git and the enclosing repository ignores build/.
collection: venv
	mkdir -p $(COLL)
	[ -d $(COLL)/.git ] || git init --quiet $(COLL)
	git ls-files --cached --others --exclude-standard | grep -v '^build/' | sort > build/files.txt
	tar -cf - -T build/files.txt | tar -xf - -C $(COLL)
	cd $(COLL) && find . -type f -not -path './tests/output/*' -not -path './.git/*' | sed 's|^\./||' | sort \
		| comm -23 - $(CURDIR)/build/files.txt | xargs -r rm -f

sim:
	PYTHONPATH=$(CURDIR)/tests/simulator exec $(PYTHON) -m isc_sim

demo: collection
	$(WITH_SIM) --scenario demo -- $(BIN)/ansible-playbook -i localhost, $(COLL)/playbooks/demo.yml

# ansible-test puts pip into its sanity venvs with a get-pip script it downloads from a host
# outside the package index; it also takes a cached copy, which is our offline stand-in.
GET_PIP_CACHE = $(HOME)/.ansible/test/cache/get_pip_$(subst .,_,$(shell $(BIN)/python -c \
	"import re, ansible_test._internal.python_requirements as m; \
	print(re.search(r\"pip='([0-9.]+)'\", open(m.__file__).read()).group(1))" 2>/dev/null)).py

sanity: collection
	mkdir -p $(dir $(GET_PIP_CACHE))
	cp tests/tools/get_pip_offline.py $(GET_PIP_CACHE)
	cd $(COLL) && $(BIN)/ansible-test sanity --venv --python 3.11 --color no

lint: collection
	cd $(COLL) && PATH=$(BIN):$$PATH NO_COLOR=1 $(BIN)/ansible-lint --profile production --offline

units: collection
	cd $(COLL) && $(BIN)/python -m pytest -q -n 2 $(PYTEST_ARGS) tests/unit tests/simulator

integration: collection
	cd $(COLL) && $(WITH_SIM) --scenario empty --config tests/integration/integration_config.yml -- \
		$(BIN)/ansible-test integration --local --python 3.11 --color no

test: sanity lint units integration

clean:
	rm -rf $(VENV) build tests/output
