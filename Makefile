# The two commands: `make run` (the portal with everything it needs) and `make test` (the whole suite).
.PHONY: run test bootstrap services-up services-down

PROFILE ?= dev

bootstrap:
	@scripts/bootstrap.sh

run: bootstrap
	@scripts/run.sh

# Only the test command installs what only tests use: Debian's Chromium for the browser tests, docker-compose and
# PyYAML for the deployment check (tests/test_deployment.py), PostgreSQL for the portal database copy's test
# (tests/operations/test_portal_db_copy.py starts a server of its own).
test: export PORTAL_EXTRA_APT += chromium docker-compose python3-yaml postgresql
test: bootstrap
	@scripts/test.sh

services-up: bootstrap
	@python3 scripts/services.py up --profile $(PROFILE)

services-down:
	@python3 scripts/services.py down --profile $(PROFILE)
