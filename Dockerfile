# The portal's image: the web admin (gunicorn) and the Celery worker, for an alchemiscale docker-compose deployment.
# See deploy/docker-compose.yml and README "Deploying beside alchemiscale-server with Docker".
# BASE_IMAGE: any Debian-based image with python3 (3.11+), python3-venv and flock (util-linux).
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    PORTAL_DATA_DIR=/var/lib/alchemiscale-portal \
    PORTAL_STATIC_ROOT=/opt/alchemiscale-portal/static \
    PORTAL_OPERATIONS_TARGET=docker

# PORTAL_EXTRA_APT: Debian packages to add: rclone for off-site copies of the backups (deploy/docker-compose.yml
# asks for it; docs/offsite-copies.md), postgresql-client for pg_dump (deploy/docker-compose.postgres.yml).
ARG PORTAL_EXTRA_APT=""
RUN if [ -n "$PORTAL_EXTRA_APT" ]; then apt-get update \
      && apt-get install -y --no-install-recommends $PORTAL_EXTRA_APT && rm -rf /var/lib/apt/lists/*; fi

WORKDIR /opt/alchemiscale-portal
COPY requirements.txt ./requirements.txt
COPY deploy/requirements.txt ./deploy/requirements.txt
RUN python3 -m venv /opt/venv \
 && pip install --no-cache-dir --disable-pip-version-check -r requirements.txt -r deploy/requirements.txt

COPY . .
# Settings insist on a state store; collecting static files never connects to it.
RUN NEO4J_URL=bolt://collectstatic:7687 NEO4J_USER=none NEO4J_PASS=none \
    python manage.py collectstatic --noinput -v 0

EXPOSE 8000
ENTRYPOINT ["deploy/portal.sh"]
CMD ["web"]
