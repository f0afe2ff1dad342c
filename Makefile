# identitynow.tasks: every command sets itself up. `make help` lists the targets; CONTRIBUTING.md explains them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# The collection copy that the tests run in; give each concurrent user their own: make COLLECTIONS=... units
COLLECTIONS ?= $(CURDIR)/build/collections
COLL := $(COLLECTIONS)/ansible_collections/identitynow/tasks
WITH_SIM := $(BIN)/python $(CURDIR)/tests/simulator/with_sim.py
PYTEST_ARGS ?=

# Simulator settings (make sim): see docs/simulator.md.
SIM_PORT ?= 8765
SIM_SCENARIO ?= demo
SIM_TASKS ?= 1000
export SIM_PORT SIM_SCENARIO SIM_TASKS
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help demo sim venv venv-demo collection \
	test sanity sanity-matrix sanity-pythons lint units integration ecosystem reliability eda bench-smoke \
	bench docs changelog changelog-release clean

# `make help` prints the `##@` headings and the `## ` text after each target, in the order of this file. A new
# target goes into .PHONY and ends its rule line with `## <one line of help>` (tests/ecosystem/test_newcomer.py checks).
help: ## list the targets
	@awk 'BEGIN {FS = ":[^#]*## "} /^##@ / {printf "\n%s\n", substr($$0, 5)} \
		/^[a-z][a-z-]*:[^=]*## / {printf "  make %-18s %s\n", $$1, $$2}' $(firstword $(MAKEFILE_LIST))
	@echo

##@ Try it (README.md, docs/getting-started.md)

demo: venv-demo collection ## start a simulated tenant and run playbooks/demo.yml against it (a minute or two)
	@$(WITH_SIM) --scenario demo -- $(BIN)/ansible-playbook -i localhost, $(COLL)/playbooks/demo.yml
	@echo "Shown: a report of the last 24 hours, a gate waiting for aggregations (one fails, as a gate should), aggregations started and waited for, and stuck tasks cleared after a check-mode preview, then left alone on a second run."
	@echo "Next: start 'make sim' and run your own playbook against it, as docs/getting-started.md shows (3. Your own playbook against the simulated tenant)."

sim: ## run the simulated tenant in the foreground (SIM_PORT, SIM_SCENARIO, SIM_TASKS; docs/simulator.md)
	@PYTHONPATH=$(CURDIR)/tests/simulator exec $(PYTHON) -m isc_sim

##@ Set up (CONTRIBUTING.md)

# One virtual environment: the demo's few packages first, the test tool chain on top of them.
$(BIN)/python:
	@echo "Creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-demo: requirements.txt requirements-demo.txt | $(BIN)/python
	@echo "Installing ansible-core, requests and jsonpatch into $(VENV) (requirements-demo.txt)"
	@$(BIN)/pip install --quiet -r requirements-demo.txt
	@touch $@

$(VENV)/.installed: requirements.txt requirements-demo.txt requirements-test.txt | $(BIN)/python
	@echo "Installing the test tool chain into $(VENV) (requirements-test.txt)"
	@$(BIN)/pip install --quiet -r requirements-test.txt
	@touch $@ $(VENV)/.installed-demo

venv-demo: $(VENV)/.installed-demo ## create .venv with only what the demo needs

venv: $(VENV)/.installed ## create .venv with the whole test tool chain

# The collection laid out as ansible_collections/identitynow/tasks: the files git tracks or would track (ignored
# ones left out), listed in $(COLLECTIONS).files.txt. Files gone from the tree are removed from the copy;
# tests/output (ansible-test's results) and the integration config of a running test are kept. The copy is a git
# work tree of its own, because ansible-test lists files through git and the enclosing repository ignores build/.
collection: ## copy the work tree into the collection layout under COLLECTIONS (default build/collections)
	@mkdir -p $(COLL)
	@[ -d $(COLL)/.git ] || git init --quiet $(COLL)
	@git ls-files --cached --others --exclude-standard | grep -v '^build/' | sort > $(COLLECTIONS).files.txt
	@tar -cf - -T $(COLLECTIONS).files.txt | tar -xf - -C $(COLL)
	@cd $(COLL) && find . -type f -not -path './tests/output/*' -not -path './.git/*' \
		-not -path ./tests/integration/integration_config.yml | sed 's|^\./||' | sort \
		| comm -23 - $(COLLECTIONS).files.txt | xargs -r rm -f

##@ Test (CONTRIBUTING.md; CI runs `make test` through .ci/run)

test: sanity sanity-matrix sanity-pythons lint units integration ecosystem reliability eda bench-smoke ## every suite below, in this order

# ansible-test puts pip into its sanity venvs with a get-pip script it downloads from a host outside the package
# index; it also takes a cached copy, which is our offline stand-in. $(call offline_get_pip,PYTHON) puts it
# where the ansible-test of that Python looks.
define offline_get_pip
pip_version=$$($(1) -c "import re, ansible_test._internal.python_requirements as m; \
	print(re.search(r\"pip='([0-9.]+)'\", open(m.__file__).read()).group(1))"); \
mkdir -p $(HOME)/.ansible/test/cache; \
cp $(CURDIR)/tests/tools/get_pip_offline.py $(HOME)/.ansible/test/cache/get_pip_$${pip_version//./_}.py
endef

sanity: venv collection ## ansible-test sanity on the pinned ansible-core, no ignore entries
	$(call offline_get_pip,$(BIN)/python)
	cd $(COLL) && PATH=$(BIN):$$PATH $(BIN)/ansible-test sanity --venv --python 3.11 --color no

# Each ansible-core of SANITY_CORES gets .venvs/core-X.Y; ansible-test makes its own venvs from there.
# The lowest version here must be the lower bound of requires_ansible in meta/runtime.yml.
SANITY_CORES ?= 2.17.14 2.18.19
VENVS := $(CURDIR)/.venvs

sanity-matrix: venv collection ## ansible-test sanity on the older ansible-core releases supported (SANITY_CORES)
	for version in $(SANITY_CORES); do \
		venv=$(VENVS)/core-$${version%.*}; \
		if [ "$$($$venv/bin/python -c 'import ansible.release as r; print(r.__version__)' 2>/dev/null)" != "$$version" ]; then \
			rm -rf $$venv && $(PYTHON) -m venv $$venv && $$venv/bin/pip install --quiet ansible-core==$$version; \
		fi; \
		$(call offline_get_pip,$$venv/bin/python); \
		echo "== ansible-test sanity with ansible-core $$version"; \
		(cd $(COLL) && PATH=$$PATH:$(BIN) $$venv/bin/ansible-test sanity --venv --python 3.11 --color no); \
	done

# The other Pythons the modules support where they run (README: 3.8 and newer), each one this machine has, on PATH
# or installed by pyenv; one that is missing is said and skipped.
TARGET_PYTHONS ?= 3.8 3.9 3.10 3.12 3.13
PYENV_ROOT ?= $(HOME)/.pyenv

sanity-pythons: venv collection ## compile and import sanity on the other Pythons found (TARGET_PYTHONS)
	$(call offline_get_pip,$(BIN)/python)
	for version in $(TARGET_PYTHONS); do \
		dir=$$(ls -d $(PYENV_ROOT)/versions/$$version.*/bin 2>/dev/null | tail -n 1 || true); \
		path=$${dir:+$$dir:}$$PATH; \
		if ! PATH=$$path python$$version -c '' 2>/dev/null; then \
			echo "== python$$version not found: compile and import sanity on it skipped"; continue; \
		fi; \
		echo "== ansible-test sanity (compile, import) on python$$version"; \
		(cd $(COLL) && PATH=$(BIN):$$path $(BIN)/ansible-test sanity --test compile --test import --venv \
			--python $$version --color no); \
	done

lint: venv collection ## ansible-lint, production profile
	cd $(COLL) && PATH=$(BIN):$$PATH NO_COLOR=1 $(BIN)/ansible-lint --profile production --offline

# The suites below read Ansible's output, so they get it without colours; everything else leaves colours to the terminal.
units integration ecosystem reliability eda bench-smoke bench: export ANSIBLE_NOCOLOR := 1

units: venv collection ## unit tests of plugins and simulator (pytest, PYTEST_ARGS)
	cd $(COLL) && $(BIN)/python -m pytest -q -n 2 $(PYTEST_ARGS) tests/unit tests/simulator

integration: venv collection ## ansible-test integration against a fresh simulated tenant
	cd $(COLL) && $(WITH_SIM) --scenario empty --config tests/integration/integration_config.yml -- \
		$(BIN)/ansible-test integration --local --python 3.11 --color no

ecosystem: venv collection ## artifact, Galaxy import, execution environment, AWX credential type, docs, newcomer path
	cd $(COLL) && $(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) tests/ecosystem

reliability: venv collection ## fault matrix, secret scan, hostile input: real runs at -vvvv (docs/reliability.md)
	cd $(COLL) && $(BIN)/python -m pytest -q -n 2 -p no:cacheprovider $(PYTEST_ARGS) tests/reliability

eda: venv collection ## the EDA event source, with the real ansible-rulebook (Java 17; docs/eda.md)
	cd $(COLL) && $(BIN)/python -m pytest -q -n 2 --dist loadfile -p no:cacheprovider $(PYTEST_ARGS) tests/eda

bench-smoke: venv collection ## the benchmark harness at tiny sizes, as a pytest (docs/benchmarks.md)
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) tests/bench/test_bench_smoke.py

##@ Measure and publish

BENCH_ARGS ?=

bench: venv collection ## every benchmark at full size, about 10 minutes; writes bench-results/ (docs/benchmarks.md)
	$(BIN)/python tests/bench/bench.py $(BENCH_ARGS)

# Built offline: no intersphinx inventories, and references into docs.ansible.com are not checked.
docs: venv collection ## the collection's docs site (antsibull-docs, Sphinx) in build/docs/build/html
	rm -rf build/docs && mkdir -p build/docs
	$(BIN)/antsibull-docs sphinx-init --use-current --fail-on-error --dest-dir build/docs identitynow.tasks
	printf '\nintersphinx_mapping = {}\nsuppress_warnings = ["ref.ref"]\n' >> build/docs/conf.py
	cd build/docs && mkdir -p rst && chmod og-w rst \
		&& PATH=$(BIN):$$PATH $(BIN)/antsibull-docs --config-file antsibull-docs.cfg collection --cleanup everything \
			--use-current --fail-on-error --dest-dir rst identitynow.tasks \
		&& $(BIN)/sphinx-build -M html rst build -c . -W --keep-going -q
	@echo "docs: build/docs/build/html/index.html"

changelog: venv ## lint the fragments in changelogs/fragments
	$(BIN)/antsibull-changelog lint

changelog-release: venv ## add the fragments to the release of galaxy.yml's version and regenerate CHANGELOG.rst
	PATH=$(BIN):$$PATH $(BIN)/antsibull-changelog release --reload-plugins --update-existing

##@ Clean up

clean: ## remove .venv, build/ and tests/output (.venvs of sanity-matrix stays)
	rm -rf $(VENV) build tests/output
