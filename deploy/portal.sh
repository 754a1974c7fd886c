#!/bin/sh
# Entry point of the portal's image: `web` (migrate, then gunicorn), `worker` (Celery), `beat` (the scheduler), or any manage.py command.
set -eu
cd /opt/alchemiscale-portal
# Files one process creates in the shared data directory stay writable by the others (group portal, setgid dir).
umask 0002
mkdir -p "$PORTAL_DATA_DIR"
if [ "$(id -u)" = 0 ] && getent group portal > /dev/null; then
  # the root worker: a data volume made before the image had its user is handed over to the group once
  chgrp -R portal "$PORTAL_DATA_DIR" && chmod -R g+rwX "$PORTAL_DATA_DIR" && chmod g+s "$PORTAL_DATA_DIR"
fi
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
