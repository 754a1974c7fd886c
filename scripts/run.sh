#!/usr/bin/env bash
# Start the portal with everything it needs; Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."

worker_pid=""
cleanup() {
  trap - EXIT INT TERM
  [ -n "$worker_pid" ] && kill "$worker_pid" 2>/dev/null && wait "$worker_pid" 2>/dev/null || true
  python3 scripts/services.py down --profile dev || true
}
trap cleanup EXIT INT TERM

python3 scripts/services.py up --profile dev > /dev/null
set -a
. .run/dev/services.env
set +a
mkdir -p "$PORTAL_BACKUP_DIR"

.venv/bin/python manage.py migrate --noinput -v 0
.venv/bin/python manage.py ensure_staff
.venv/bin/celery -A alchemiscale_portal worker -l info --concurrency 1 -n portal@%h > .run/dev/celery-worker.log 2>&1 &
worker_pid=$!

port=${PORTAL_PORT:-8000}
echo "The admin is at http://127.0.0.1:${port}/admin/ (Celery worker log: .run/dev/celery-worker.log). Ctrl-C stops everything."
.venv/bin/python manage.py runserver --noreload "127.0.0.1:${port}"
