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
# tests/output (ansible-test's results) and the integration config of a running test are kept.
# The copy is a git work tree of its own, because ansible-test lists files through git and the
# enclosing repository ignores build/.
collection: venv
	mkdir -p $(COLL)
	[ -d $(COLL)/.git ] || git init --quiet $(COLL)
	git ls-files --cached --others --exclude-standard | grep -v '^build/' | sort > $(COLLECTIONS).files.txt
	tar -cf - -T $(COLLECTIONS).files.txt | tar -xf - -C $(COLL)
	cd $(COLL) && find . -type f -not -path './tests/output/*' -not -path './.git/*' -not -path ./tests/integration/integration_config.yml | sed 's|^\./||' | sort \
		| comm -23 - $(COLLECTIONS).files.txt | xargs -r rm -f

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
	cd $(COLL) && PATH=$(BIN):$$PATH $(BIN)/ansible-test sanity --venv --python 3.11 --color no

lint: collection
	cd $(COLL) && PATH=$(BIN):$$PATH NO_COLOR=1 $(BIN)/ansible-lint --profile production --offline

units: collection
	cd $(COLL) && $(BIN)/python -m pytest -q -n 2 $(PYTEST_ARGS) tests/unit tests/simulator

integration: collection
	cd $(COLL) && $(WITH_SIM) --scenario empty --config tests/integration/integration_config.yml -- \
		$(BIN)/ansible-test integration --local --python 3.11 --color no

clean:
	rm -rf $(VENV) build tests/output

# --- Ecosystem: execution environment, AWX credential type, docs, changelog, Galaxy, versions ---
.PHONY: ecosystem docs changelog changelog-release sanity-matrix

# One test per promise of docs/awx.md and issue 7 (tests/ecosystem/test_ecosystem.py).
ecosystem: collection
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) tests/ecosystem

# The collection docs site (antsibull-docs + Sphinx) in build/docs/build/html, built offline:
# no intersphinx inventories, and references into docs.ansible.com are not checked.
docs: collection
	rm -rf build/docs && mkdir -p build/docs
	$(BIN)/antsibull-docs sphinx-init --use-current --fail-on-error --dest-dir build/docs identitynow.tasks
	printf '\nintersphinx_mapping = {}\nsuppress_warnings = ["ref.ref"]\n' >> build/docs/conf.py
	cd build/docs && mkdir -p rst && chmod og-w rst \
		&& PATH=$(BIN):$$PATH $(BIN)/antsibull-docs --config-file antsibull-docs.cfg collection --cleanup everything \
			--use-current --fail-on-error --dest-dir rst identitynow.tasks \
		&& $(BIN)/sphinx-build -M html rst build -c . -W --keep-going -q
	@echo "docs: build/docs/build/html/index.html"

# Checks the fragments in changelogs/fragments.
changelog: venv
	$(BIN)/antsibull-changelog lint

# Adds new fragments to the release of galaxy.yml's version and regenerates CHANGELOG.rst.
changelog-release: venv
	PATH=$(BIN):$$PATH $(BIN)/antsibull-changelog release --reload-plugins --update-existing

# Sanity on the older ansible-core releases the collection supports (make sanity runs the one in
# requirements-test.txt). Each gets .venvs/core-X.Y; ansible-test makes its own venvs from there.
# The lowest version here must be the lower bound of requires_ansible in meta/runtime.yml.
SANITY_CORES ?= 2.17.14 2.18.19
VENVS := $(CURDIR)/.venvs

sanity-matrix: collection
	for version in $(SANITY_CORES); do \
		venv=$(VENVS)/core-$${version%.*}; \
		if [ "$$($$venv/bin/python -c 'import ansible.release as r; print(r.__version__)' 2>/dev/null)" != "$$version" ]; then \
			rm -rf $$venv && $(PYTHON) -m venv $$venv && $$venv/bin/pip install --quiet ansible-core==$$version; \
		fi; \
		pip_version=$$($$venv/bin/python -c "import re, ansible_test._internal.python_requirements as m; \
			print(re.search(r\"pip='([0-9.]+)'\", open(m.__file__).read()).group(1))"); \
		mkdir -p $(HOME)/.ansible/test/cache; \
		cp tests/tools/get_pip_offline.py $(HOME)/.ansible/test/cache/get_pip_$${pip_version//./_}.py; \
		echo "== ansible-test sanity with ansible-core $$version"; \
		(cd $(COLL) && PATH=$$PATH:$(BIN) $$venv/bin/ansible-test sanity --venv --python 3.11 --color no); \
	done

# compile and import sanity on the other Pythons the modules support where they run (README: 3.8 and newer), for
# each one this machine has, on PATH or installed by pyenv; one that is missing is said and skipped.
TARGET_PYTHONS ?= 3.8 3.9 3.10 3.12 3.13
PYENV_ROOT ?= $(HOME)/.pyenv
.PHONY: sanity-pythons

sanity-pythons: collection
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

# --- Benchmarks (issue 8): see docs/benchmarks.md ---
.PHONY: bench bench-smoke
BENCH_ARGS ?=

# Every case at full size against the simulated tenant, rate limit on (about 10 minutes on 2 cores).
# Prints the table; writes bench-results/latest.json, latest.md and a dated JSON copy.
bench: collection
	$(BIN)/python tests/bench/bench.py $(BENCH_ARGS)

# The harness at tiny sizes (rate limit on, about 1.5 minutes), as a pytest; part of make test.
bench-smoke: collection
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) tests/bench/test_bench_smoke.py

# --- Everything (CI runs this through .ci/run) ---
test: sanity sanity-matrix sanity-pythons lint units integration ecosystem reliability bench-smoke

# --- Reliability and security (issue 9): see docs/reliability.md ---
.PHONY: reliability

# The fault matrix, the secret scan and the hostile-input tests: real ansible-playbook runs at -vvvv
# against the simulated tenant (about 3 minutes on 2 cores).
reliability: collection
	cd $(COLL) && $(BIN)/python -m pytest -q -n 2 -p no:cacheprovider $(PYTEST_ARGS) tests/reliability
