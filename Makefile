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
	@echo "==> Python packages into $(VENV) from requirements.lock (2 to 3 minutes the first time)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check --progress-bar off -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

setup: $(VENV)/.installed

# GOV.UK Frontend and axe-core from the npm registry, pinned by web/package-lock.json.
$(WEB)/node_modules/.installed: $(WEB)/package-lock.json
	@echo "==> GOV.UK Frontend and axe-core from web/package-lock.json"
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
	@echo "==> PostgreSQL and Elasticsearch (installed on first use, then started)"
	$(CP) services up

down: setup
	$(CP) services down

status: setup
	$(CP) services status

migrate: services
	$(CP) db upgrade

$(DEMO_FILE): | setup
	@echo "==> $(DEMO_CHILDREN) demo children into $(DEMO_FILE)"
	mkdir -p var
	$(CP) demo-data --children $(DEMO_CHILDREN) --seed $(DEMO_SEED) --out $@.tmp
	mv $@.tmp $@

demo: migrate $(DEMO_FILE)
	@echo "==> Loading the demo children into PostgreSQL"
	$(CP) load --no-progress $(DEMO_FILE)
	$(CP) postcodes demo

# Plain HTTP on the loopback: the session cookie cannot be Secure there.
run: demo static
	$(CP) demo-users
	@echo "==> Serving; a last line \"ready: N children searchable at URL\" says when the index is built"
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
