#!/usr/bin/env bash
# The static checks `make test` runs before the suite (ruff.toml): lint, then the formatter's check.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --check --quiet .
