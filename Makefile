# The two commands: `make run` (the portal with everything it needs) and `make test` (the whole suite).
.PHONY: run test bootstrap services-up services-down

PROFILE ?= dev

bootstrap:
	@scripts/bootstrap.sh

run: bootstrap
	@scripts/run.sh

# The browser tests drive Debian's Chromium; only the test command installs it.
test: export PORTAL_EXTRA_APT += chromium
test: bootstrap
	@scripts/test.sh

services-up: bootstrap
	@python3 scripts/services.py up --profile $(PROFILE)

services-down:
	@python3 scripts/services.py down --profile $(PROFILE)
