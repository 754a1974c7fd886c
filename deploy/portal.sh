#!/bin/sh
# Entry point of the portal's image: `web` (migrate, then gunicorn), `worker` (Celery), `beat` (the scheduler), or any manage.py command.
set -eu
cd /opt/alchemiscale-portal
mkdir -p "$PORTAL_DATA_DIR"
migrate() {
  # web and worker start together and share the SQLite file: one migrates, the other waits for it.
  flock "$PORTAL_DATA_DIR/migrate.lock" python manage.py migrate --noinput -v 0
}
case "${1:-web}" in
  web)
    migrate
    exec gunicorn deploy.wsgi:application --bind "${PORTAL_BIND:-0.0.0.0:8000}" --workers "${PORTAL_WEB_WORKERS:-2}" \
      --access-logfile - --forwarded-allow-ips "${PORTAL_FORWARDED_ALLOW_IPS:-127.0.0.1}"
    ;;
  worker)
    migrate
    exec celery -A alchemiscale_portal worker -l info --concurrency 1 -n "portal@%h" -Q "${PORTAL_OPERATIONS_QUEUE:-celery}"
    ;;
  beat)
    # The scheduler: fires the backup schedules staff edit in the admin (docs/unattended.md). Run exactly one.
    migrate
    exec celery -A alchemiscale_portal beat -l info
    ;;
  *)
    exec python manage.py "$@"
    ;;
esac
