# The two commands: `make run` (the portal with everything it needs) and `make test` (the whole suite).
.PHONY: run test test-unit bootstrap services-up services-down

PROFILE ?= dev

bootstrap:
	@scripts/bootstrap.sh

run: bootstrap
	@scripts/run.sh

# Only the test command installs what only tests use: Debian's Chromium for the browser tests, docker-compose and
# PyYAML for the deployment check (tests/test_deployment.py), PostgreSQL for the suite's second pass on PostgreSQL
# (scripts/postgres.py, docs/postgresql.md) and the portal database copy's test, OpenSSH's server as the off-site
# copies' SFTP remote (tests/sftp_server.py; rclone itself is a runtime package, installed by bootstrap).
test: export PORTAL_EXTRA_APT += chromium docker-compose python3-yaml postgresql openssh-server
test: bootstrap
	@scripts/lint.sh
	@scripts/test.sh

# Only the unit tier (tests marked `unit`): no service is started, well under a minute (docs/testing.md).
test-unit:
	@scripts/bootstrap.sh --python
	@scripts/test.sh --unit

# POSTGRES=1: a PostgreSQL server of the profile's own as well (scripts/postgres.py, docs/postgresql.md).
services-up: export PORTAL_EXTRA_APT += $(if $(POSTGRES),postgresql)
services-up: bootstrap
	@python3 scripts/services.py up --profile $(PROFILE)
	@$(if $(POSTGRES),python3 scripts/postgres.py up --profile $(PROFILE))

services-down:
	@python3 scripts/postgres.py down --profile $(PROFILE)
	@python3 scripts/services.py down --profile $(PROFILE)
