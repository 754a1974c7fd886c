#!/usr/bin/env bash
# The static checks `make test` runs before the suite: lint and the formatter's check (ruff.toml), then types in the
# production packages (mypy.ini, with django-stubs; docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --check --quiet .
# The settings module insists on a state store; mypy's Django plugin loads it but never connects.
NEO4J_URL=bolt://127.0.0.1:9 NEO4J_USER=neo4j NEO4J_PASS=unused \
    .venv/bin/mypy --no-error-summary alchemiscale_portal identities compute operations security
