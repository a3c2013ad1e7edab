# The two Quickstart commands: `make run` (install, then the main job) and `make test`
# (install, then every quality gate). Both install into .venv from constraints.txt.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MAIN_SPEC ?= experiments/phase3.yaml

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install debian run test check clean

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[all,dev]'
	$(PY) -m pip check
	touch $(STAMP)

install: $(STAMP)

# Debian programs the tests drive: Chromium for the dashboard's browser tests (Playwright cannot
# download browsers here), Golly's bgolly, the substrate's oracle, and g++, which builds lifelib
# (Catagolue's apgcode encoder, the oracle of the period search) on first use.
DEBIAN_PROGRAMS := chromium:chromium bgolly:golly g++:g++
debian:
	@missing="$$(for p in $(DEBIAN_PROGRAMS); do command -v $${p%%:*} >/dev/null 2>&1 || \
		echo $${p##*:}; done)"; [ -z "$$missing" ] || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; }

run: install
	$(VENV)/bin/cybermesh run $(MAIN_SPEC)

test: install debian
	CYBERMESH_ALL_EXTRAS=1 $(VENV)/bin/cybermesh gate validate --offline

# The edit-test loop: lint, types and every test not marked slow, on every core (a few minutes).
check: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/mypy cybermesh_cli --strict && \
		$(VENV)/bin/python -m pytest -q -n auto --dist loadscope -m "not slow" --benchmark-disable tests

clean:
	rm -rf $(VENV) logs .mypy_cache .ruff_cache .pytest_cache .benchmarks
