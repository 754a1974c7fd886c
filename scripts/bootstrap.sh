#!/usr/bin/env bash
# Install what the portal needs on a fresh Debian machine of this project's kind; quick when already done.
# --python: only the virtualenv (what `make test-unit` needs), no Debian package and no Neo4j.
set -euo pipefail
python_only=$([ "${1:-}" = --python ] && echo 1 || echo 0)
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need_apt+=(maven)
# The Docker target's tests: a private engine (scripts/docker_engine.py) and the image builder (scripts/neo4j_image.py).
command -v dockerd >/dev/null || need_apt+=(docker.io)
command -v debootstrap >/dev/null || need_apt+=(debootstrap)
# Off-site copies of the backups (docs/offsite-copies.md).
command -v rclone >/dev/null || need_apt+=(rclone)
# Backups with no outage where the data directory is a btrfs subvolume, and their tests on a loop-mounted btrfs
# (docs/snapshot-backups.md).
command -v btrfs >/dev/null || need_apt+=(btrfs-progs)
for extra in ${PORTAL_EXTRA_APT:-}; do
  dpkg -s "$extra" >/dev/null 2>&1 || need_apt+=("$extra")
done
[ "$python_only" = 1 ] && need_apt=()
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing ${need_apt[*]}; install them (apt-get install ${need_apt[*]}) or run as root" >&2
    exit 1
  fi
  echo "installing ${need_apt[*]} from Debian's packages" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# The runtime set and the test set (requirements-test.txt includes requirements.txt); the image takes the first only.
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt requirements-test.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-test.txt
  echo "$want" > "$stamp"
fi

[ "$python_only" = 1 ] && exit 0

# Neo4j Community from Maven Central, cached outside the checkout (dev tools: the portal itself never fetches).
python3 -m devtools.local_neo4j fetch >/dev/null
# 5.18, the release alchemiscale's guide migrates 4.4 to: the round trip and the migration are tested on it too.
python3 -m devtools.local_neo4j fetch --version 5.18.1 >/dev/null
# Neo4j 4.4 and its Java 11 (from Debian bullseye): the store-migration tests start 4.4 from a 4.4 dump.
python3 -m devtools.local_neo4j fetch --version 4.4.44 >/dev/null
