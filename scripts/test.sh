#!/usr/bin/env bash
# The whole test suite against real Neo4j and Redis that it starts, and stops again whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

# --unit: only the tests marked `unit` (make test-unit), which need no service. Nothing is started: the settings get
# placeholders pointing at closed loopback ports (a unit test that reaches for Neo4j, Redis or Docker fails at once),
# SQLite in memory, Django's in-process cache and a scratch data directory.
if [ "${1:-}" = --unit ]; then
    shift
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    unset DATABASE_URL DOCKER_HOST PORTAL_NEO4J_HOME PORTAL_BACKUP_DIR PORTAL_DOCKER_NEO4J_URL
    export NEO4J_URL=bolt://127.0.0.1:9 NEO4J_USER=neo4j NEO4J_PASS=unit-tier-placeholder \
        REDIS_URL=redis://127.0.0.1:9/0 PORTAL_CACHE_URL=locmem:// PORTAL_DATA_DIR="$scratch" \
        PORTAL_TEST_SQLITE=:memory: DOCKER_HOST=unix://$scratch/no-docker.sock PORTAL_DOCKER_PROJECT=portal-unit
    # A marker expression of the caller's narrows the tier instead of replacing it: -m X becomes -m "unit and (X)".
    marker=unit
    args=()
    while [ $# -gt 0 ]; do
        case "$1" in
            -m) marker="unit and ($2)"; shift 2 ;;
            -m*) marker="unit and (${1#-m})"; shift ;;
            *) args+=("$1"); shift ;;
        esac
    done
    started=$SECONDS
    status=0
    .venv/bin/python -m pytest -m "$marker" ${args[@]+"${args[@]}"} || status=$?
    echo "unit tier: $(( SECONDS - started )) s" >&2
    exit $status
fi

# PORTAL_TEST_SLOT=N runs a second suite beside the first, on other ports and in .run/test-N.
state=.run/test${PORTAL_TEST_SLOT:+-$PORTAL_TEST_SLOT}
[ "${PORTAL_TEST_SLOT:-0}" = 0 ] && state=.run/test
mkdir -p "$state"
trap 'python3 scripts/postgres.py down --profile test || true; python3 scripts/services.py down --profile test || true; python3 scripts/docker_engine.py down --user $$ || true' EXIT
# Every Neo4j JVM the suite starts maps class-data sharing archives (made once per version and Java) and uses the
# client compiler only: about 2 s less per start, 0.5 s less per neo4j-admin call (docs/testing.md "Fast JVM starts").
export PORTAL_DEV_FAST_JVM="${PORTAL_DEV_FAST_JVM:-1}"  # =0: the distribution's flags
# The tests share one backups directory while each resets the catalog: a worker's start-up reconcile would catalog
# earlier tests' dumps as "found" (tests/operations/test_reconcile.py runs the pass itself).
export PORTAL_RECONCILE_ON_WORKER_START=0
python3 -m devtools.local_neo4j class-archives > /dev/null
python3 -m devtools.local_neo4j class-archives --version 5.18.1 > /dev/null
python3 scripts/services.py up --profile test > /dev/null
# The Docker target's tests run against a real, private engine (no bridge) and a locally built Neo4j image.
docker_host=$(python3 scripts/docker_engine.py up --user $$)
export "$docker_host"
python3 scripts/neo4j_image.py build > /dev/null
# ... and a Neo4j 4.4 one, the version the store migration's Docker tests start from.
python3 scripts/neo4j_image.py build --version 4.4 > /dev/null
# ... and a Neo4j 5.18 one (alchemiscale's compose default), the version the upgrade to 5.26 starts from.
python3 scripts/neo4j_image.py build --version 5.18.1 > /dev/null
python3 scripts/standin_image.py build > /dev/null  # the STAND-IN for alchemiscale-server's image (see the script)
set -a
. "$state/services.env"
set +a
# alchemiscale's CLI cannot be installed here (gufe is not on PyPI): the schema migration runs the project's
# STAND-IN (devtools/alchemiscale_standin.py), and the portal says so, unless PORTAL_ALCHEMISCALE_CLI is set already.
if [ -z "${PORTAL_ALCHEMISCALE_CLI:-}" ]; then
    export PORTAL_ALCHEMISCALE_CLI="$PWD/.venv/bin/python -m devtools.alchemiscale_standin" PORTAL_ALCHEMISCALE_CLI_STANDIN=1
fi
# The Docker target's test deployment: its own compose project, its Neo4j on the slot's Bolt port + 50.
export PORTAL_DOCKER_PROJECT="portal-test-${PORTAL_TEST_SLOT:-0}"
export PORTAL_DOCKER_NEO4J_URL="bolt://127.0.0.1:$(( ${NEO4J_URL##*:} + 50 ))"
export PORTAL_TEST_SQLITE="$PWD/$state/test-portal.sqlite3"
# Two passes. The first on SQLite (the default); the second runs the database-sensitive tests (marker `postgres`)
# again on a real PostgreSQL 15 that scripts/postgres.py starts on the slot's port (docs/postgresql.md). The second
# pass runs for the whole suite (no arguments), or when asked: PORTAL_TEST_POSTGRES=1 after the first, =only
# instead of it, =0 never.
pg="${PORTAL_TEST_POSTGRES:-}"
[ -z "$pg" ] && { [ $# = 0 ] && pg=1 || pg=0; }
if [ "$pg" != only ]; then
    .venv/bin/python -m pytest "$@"
fi
if [ "$pg" = 1 ] || [ "$pg" = only ]; then
    started=$SECONDS
    export "$(python3 scripts/postgres.py up --profile test)"
    .venv/bin/python -m pytest -m postgres "$@"
    echo "PostgreSQL pass: $(( SECONDS - started )) s" >&2
fi
