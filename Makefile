# ContactPoint: `make run` sets up everything and serves the demo; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CP := $(BIN)/contactpoint
DEMO_CHILDREN ?= 20000
DEMO_SEED ?= 1
DEMO_FILE := var/demo-$(DEMO_CHILDREN)-$(DEMO_SEED).jsonl

WEB := web
GOVUK_DIST := $(WEB)/node_modules/govuk-frontend/dist/govuk
STATIC := searchapi/static/govuk

.PHONY: setup static chromium services down status migrate demo run lint test unit

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

setup: $(VENV)/.installed

# GOV.UK Frontend and axe-core from the npm registry, pinned by web/package-lock.json.
$(WEB)/node_modules/.installed: $(WEB)/package-lock.json
	npm ci --prefix $(WEB) --no-audit --no-fund
	touch $@

# The pages' CSS, JS, fonts and images, copied (git-ignored) from GOV.UK Frontend's build.
$(STATIC)/.copied: $(WEB)/node_modules/.installed
	rm -rf $(STATIC)
	mkdir -p $(STATIC)
	cp $(GOVUK_DIST)/govuk-frontend.min.js $(GOVUK_DIST)/govuk-frontend.min.js.map $(STATIC)/
	sed 's#url(/assets/#url(/static/govuk/assets/#g' $(GOVUK_DIST)/govuk-frontend.min.css \
		> $(STATIC)/govuk-frontend.min.css
	cp -R $(GOVUK_DIST)/assets $(STATIC)/assets
	touch $@

static: $(STATIC)/.copied

# The browser tests drive Debian's Chromium (browser downloads are not used).
chromium:
	@test -x /usr/bin/chromium || (DEBIAN_FRONTEND=noninteractive apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

services: setup
	$(CP) services up

down: setup
	$(CP) services down

status: setup
	$(CP) services status

migrate: services
	$(CP) db upgrade

$(DEMO_FILE): | setup
	mkdir -p var
	$(CP) demo-data --children $(DEMO_CHILDREN) --seed $(DEMO_SEED) --out $@.tmp
	mv $@.tmp $@

demo: migrate $(DEMO_FILE)
	$(CP) load --no-progress $(DEMO_FILE)

# Plain HTTP on the loopback: the session cookie cannot be Secure there.
run: demo static
	$(CP) demo-users
	SESSION_COOKIE_SECURE=false $(CP) serve --with-indexer

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The test suite starts its own servers (var/test, other ports) and stops them at the end.
test: lint static chromium
	$(BIN)/pytest -q

unit: setup
	$(BIN)/pytest -q tests/unit
