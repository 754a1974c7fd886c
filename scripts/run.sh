#!/usr/bin/env bash
# Start the portal with everything it needs; Ctrl-C (or SIGTERM) stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."

pids=()
cleanup() {
  trap - EXIT INT TERM
  echo "stopping the portal, its worker and services" >&2
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  python3 scripts/services.py down --profile dev || true
}
trap cleanup EXIT
trap 'exit 0' INT TERM

python3 scripts/services.py up --profile dev > /dev/null
set -a
. .run/dev/services.env
set +a
# alchemiscale's CLI cannot be installed here (gufe is not on PyPI): the schema migration runs the project's
# STAND-IN (devtools/alchemiscale_standin.py), and the portal says so, unless PORTAL_ALCHEMISCALE_CLI is set already.
if [ -z "${PORTAL_ALCHEMISCALE_CLI:-}" ]; then
  export PORTAL_ALCHEMISCALE_CLI="$PWD/.venv/bin/python -m devtools.alchemiscale_standin" PORTAL_ALCHEMISCALE_CLI_STANDIN=1
fi
mkdir -p "$PORTAL_BACKUP_DIR"

.venv/bin/python manage.py migrate --noinput -v 0
.venv/bin/python manage.py ensure_staff
.venv/bin/celery -A alchemiscale_portal worker -l info --concurrency 1 -n portal@%h \
  > .run/dev/celery-worker.log 2>&1 &
pids+=($!)
# The scheduler: fires the backup schedules staff edit in the admin (docs/unattended.md).
.venv/bin/celery -A alchemiscale_portal beat -l info > .run/dev/celery-beat.log 2>&1 &
pids+=($!)

port=${PORTAL_PORT:-8000}
echo "The admin is at http://127.0.0.1:${port}/admin/ (logs: .run/dev/celery-worker.log, .run/dev/celery-beat.log). Ctrl-C stops everything."
# In the background so that a signal reaches the trap at once, not after the web server exits.
.venv/bin/python manage.py runserver --noreload "127.0.0.1:${port}" &
pids+=($!)
wait "${pids[-1]}"
