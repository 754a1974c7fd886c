#!/usr/bin/env python3
"""Build ``neo4j:5.26``- and ``neo4j:4.4``-compatible Docker images from Debian packages and the Maven Central jars.

    python3 scripts/neo4j_image.py build [--version V]   build (or confirm) the image; prints its tags
    python3 scripts/neo4j_image.py hash  [--version V]   print the recipe hash the image is labelled with

``V`` is a Neo4j release (default the portal's 5.26 release; ``4.4.44`` for the 4.4 image the store migration starts
from; ``5.18.1`` for the 5.18 one the upgrade to 5.26 starts from) or a release line (``5.26``, ``4.4``: the portal's release of that line). The tags are ``neo4j:<V>`` and
``neo4j:<major.minor>``.

No registry is reachable from this project's machines, so the official image cannot be pulled. This one is laid out
like it, which is all alchemiscale's compose file and the operations guide rely on:

- ``/var/lib/neo4j`` is ``NEO4J_HOME`` and the working directory; the store is ``/var/lib/neo4j/data``;
- ``neo4j`` and ``neo4j-admin`` are on the ``PATH``; the default command runs ``neo4j console`` in the foreground;
- ``NEO4J_AUTH=user/password`` sets the initial password (``none`` turns authentication off), and every other
  ``NEO4J_<setting>`` variable becomes a setting the way the official image spells them (``_`` is ``.``, ``__`` is
  ``_``), so ``NEO4J_server_bolt_listen__address=127.0.0.1:7687`` binds loopback on host networking;
- it runs as whatever ``user:`` the container is given (``USER_ID:GROUP_ID``): nothing in it needs root.

One recipe for both lines; what differs is in ``LINES``: 5.26 is ``debootstrap --variant=minbase bookworm`` plus
``openjdk-17-jre-headless`` with ``server.*`` settings; 4.4, like the official 4.4 image, is bullseye plus
``openjdk-11-jre-headless`` (4.4 does not run on 17) with 4.4's ``dbms.*`` setting names, and its entry point sets
``NEO4J_AUTH``'s password with 4.4's ``neo4j-admin set-initial-password`` (5.x: ``neo4j-admin dbms ...``). The root
file systems are cached under the project cache; on top come the Neo4j jars fetched by ``devtools/local_neo4j.py``
and the small shell wrappers below; the result is imported with ``docker import``. The image carries the hash of
its recipe as a label, so a second build with the same ingredients only checks that label. Built with
``PORTAL_DEV_FAST_JVM=1`` (``scripts/test.sh``), a 5.x image also carries class-data sharing archives of its server
and neo4j-admin JVMs and maps them (``class_archives``; docs/testing.md "Fast JVM starts"); built without (the benches),
it starts Neo4j as the distribution does. The two builds differ in their recipe hash, so each rebuilds the other's. Needs root (debootstrap, chroot) and the engine of
``scripts/docker_engine.py`` (or ``DOCKER_HOST``). Standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.local_neo4j import (  # noqa: E402
    ADMIN_MAIN,
    ARCHIVE_KINDS,
    CLASS_ARCHIVE_QUERY,
    FAST_JVM_FLAGS,
    JVM_FLAGS,
    NEO4J_44_VERSION,
    NEO4J_VERSION,
    SERVER_MAIN,
    Neo4jError,
    cache_dir,
    fast_jvm,
    fetch,
    free_port,
    http_cypher,
    is_44,
)

SUITE = "bookworm"
JAVA_PACKAGE = "openjdk-17-jre-headless"
MIRROR = os.environ.get("PORTAL_DEBIAN_MIRROR", "http://deb.debian.org/debian")
HASH_LABEL = "org.alchemiscale-portal.recipe"
#: the Debian base with Python that the stand-in images share (the alchemiscale-server stand-in and the deployment
#: check's python/redis base): one package set, so one debootstrap serves both
PYTHON_BASE_PACKAGES = ("python3", "python3-venv", "redis-server")
NEO4J_HOME = "/var/lib/neo4j"
#: the class-data sharing archives of an image built for the suite's fast JVM starts (``fast_jvm``)
ARCHIVES_DIR = f"{NEO4J_HOME}/class-archives"
#: the portal's release of each line, for ``--version 4.4`` / ``--version 5.26``
RELEASES = (NEO4J_VERSION, NEO4J_44_VERSION)

# Settings the wrappers read themselves, never turned into neo4j.conf lines.
ENTRYPOINT = r"""#!/bin/bash
# Like the official image: NEO4J_AUTH, NEO4J_<setting> variables, then `neo4j console` in the foreground.
set -euo pipefail
cmd="${1:-neo4j}"
if [ "$cmd" != neo4j ]; then
  exec "$@"
fi
conf="$NEO4J_HOME/conf/neo4j.conf"
# Neo4j 5 refuses a setting declared twice: a variable replaces the base line of the same name.
declare -A settings=()
order=()
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  key="${line%%=*}"
  [ -n "${settings[$key]+x}" ] || order+=("$key")
  settings[$key]="${line#*=}"
done < /startup/neo4j.conf.base
for name in $(compgen -e); do
  case "$name" in
    NEO4J_AUTH|NEO4J_HOME|NEO4J_CONF|NEO4J_EDITION|NEO4J_VERSION|NEO4J_ACCEPT_LICENSE_AGREEMENT|NEO4J_DEBUG|NEO4J_PLUGINS|NEO4J_ADMIN_HEAP) continue ;;
    NEO4J_*) ;;
    *) continue ;;
  esac
  key=$(printf '%s' "${name#NEO4J_}" | sed -e 's/__/\x01/g' -e 's/_/./g' -e 's/\x01/_/g')
  [ -n "${settings[$key]+x}" ] || order+=("$key")
  settings[$key]="${!name}"
done
auth="${NEO4J_AUTH:-neo4j/neo4j}"
if [ "$auth" = none ]; then
  [ -n "${settings[dbms.security.auth_enabled]+x}" ] || order+=(dbms.security.auth_enabled)
  settings[dbms.security.auth_enabled]=false
fi
: > "$conf"
for key in "${order[@]}"; do
  printf '%s=%s\n' "$key" "${settings[$key]}" >> "$conf"
done
if [ "$auth" != none ] && [ ! -d "$NEO4J_HOME/data/databases/system" ]; then
  user="${auth%%/*}"
  password="${auth#*/}"
  if [ "$user" != neo4j ]; then
    echo "NEO4J_AUTH: the user must be neo4j, got $user" >&2
    exit 1
  fi
  neo4j-admin @SET_INITIAL_PASSWORD@ "$password" >/dev/null
fi
shift || true
exec neo4j console "$@"
"""

NEO4J_WRAPPER = """#!/bin/bash
# `neo4j console` (the only mode a container needs) and `neo4j version`.
set -euo pipefail
home="${{NEO4J_HOME:-{home}}}"
conf_dir="${{NEO4J_CONF:-$home/conf}}"
case "${{1:-console}}" in
  console) ;;
  version|--version) echo "neo4j {version}"; exit 0 ;;
  *) echo "usage: neo4j console|version" >&2; exit 2 ;;
esac
heap=""
for key in {heap_keys}; do
  [ -n "$heap" ] || heap=$(sed -n "s/^${{key//./\\.}}=//p" "$conf_dir/neo4j.conf" | tail -n 1)
done
heap="${{heap:-512m}}"
exec java -Xms"$heap" -Xmx"$heap" {flags} -cp "{classpath}" {server} --home-dir="$home" --config-dir="$conf_dir"
"""

ADMIN_WRAPPER = """#!/bin/bash
set -euo pipefail
home="${{NEO4J_HOME:-{home}}}"
export NEO4J_HOME="$home" NEO4J_CONF="${{NEO4J_CONF:-$home/conf}}"
exec java -Xmx"${{NEO4J_ADMIN_HEAP:-512m}}" {flags} -cp "{classpath}" {admin} "$@"
"""

BASE_CONF = """# Written by the image; the entry point appends the NEO4J_<setting> variables after these lines.
{prefix}.directories.data={home}/data
{prefix}.directories.logs={home}/logs
{prefix}.directories.run={home}/run
{prefix}.directories.import={home}/import
{prefix}.directories.plugins={home}/plugins
{prefix}.default_listen_address=0.0.0.0
{https}.enabled=false
{extra}"""


class Line:
    """What one Neo4j release line needs from the recipe; everything else is shared."""

    def __init__(
        self,
        suite: str,
        java: str,
        setting_prefix: str,
        https: str,
        extra: str,
        heap_keys: tuple[str, ...],
        set_initial_password: str,
    ):
        self.suite, self.java, self.setting_prefix, self.https = suite, java, setting_prefix, https
        self.extra, self.heap_keys, self.set_initial_password = extra, heap_keys, set_initial_password

    def base_conf(self, lib: Path) -> str:
        extra = without_usage_report(self.extra, lib)
        return BASE_CONF.format(home=NEO4J_HOME, prefix=self.setting_prefix, https=self.https, extra=extra)


def without_usage_report(text: str, lib: Path) -> str:
    """``text`` without its usage-report line when the jar set has no usage-report module (5.18.1's, gathered from
    its server module): a 5.x server refuses to start on a setting that no module declares."""
    if list(lib.glob("neo4j-udc-*.jar")):
        return text
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("dbms.usage_report."))


LINES = {
    # The 5.x bootloader reads the heap from the configuration after migrating 4.4's names (a deployment whose
    # compose file still says NEO4J_dbms_memory_heap_max__size keeps its heap); the new name wins over the old.
    "5": Line(
        SUITE,
        JAVA_PACKAGE,
        "server",
        "server.https",
        "dbms.usage_report.enabled=false\n",
        ("server.memory.heap.max_size", "dbms.memory.heap.max_size"),
        "dbms set-initial-password",
    ),
    # 4.4 names the same settings dbms.*; it has no usage report setting; its neo4j-admin has no `dbms` group.
    "4": Line(
        "bullseye",
        "openjdk-11-jre-headless",
        "dbms",
        "dbms.connector.https",
        "",
        ("dbms.memory.heap.max_size",),
        "set-initial-password",
    ),
}


def line_for(version: str) -> Line:
    return LINES["4" if is_44(version) else "5"]


def resolve(version: str) -> str:
    """A release line (``4.4``) means the portal's release of that line; a full release is taken as given."""
    for release in RELEASES:
        if version.count(".") == 1 and release.startswith(version + "."):
            return release
    return version


class BuildError(RuntimeError):
    pass


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return proc


def docker_cli() -> str:
    # Debian's docker.io client matches its engine; any other client on the PATH also negotiates the API.
    for candidate in ("/usr/bin/docker", shutil.which("docker")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise BuildError("no docker client found; run scripts/bootstrap.sh (apt-get install docker.io)")


def docker_env() -> dict[str, str]:
    env = dict(os.environ)
    if "DOCKER_HOST" not in env:
        from scripts.docker_engine import docker_host

        env["DOCKER_HOST"] = docker_host()
    return env


def images_dir() -> Path:
    return cache_dir() / "images"


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    """Held while building any of the project's images: suites of several slots may start at once; one builds, the
    others then find the image ready."""
    images_dir().mkdir(parents=True, exist_ok=True)
    with open(images_dir() / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def base_rootfs(suite: str = SUITE, packages: tuple[str, ...] = (JAVA_PACKAGE,)) -> Path:
    """debootstrap + ``packages``, once; the marker records what was installed and how long it took."""
    rootfs = images_dir() / f"rootfs-{suite}-{'-'.join(packages)}"
    marker = rootfs.parent / f"{rootfs.name}.complete"
    if marker.exists():
        return rootfs
    if os.getuid() != 0:
        raise BuildError("building the base file system needs root (debootstrap and chroot)")
    if shutil.which("debootstrap") is None:
        raise BuildError("debootstrap is not installed; run scripts/bootstrap.sh (apt-get install debootstrap)")
    shutil.rmtree(rootfs, ignore_errors=True)
    rootfs.mkdir(parents=True)
    t0 = time.monotonic()
    run(["debootstrap", "--variant=minbase", suite, str(rootfs), MIRROR])
    t1 = time.monotonic()
    proc_dir = rootfs / "proc"
    # Java's package scripts (ca-certificates-java) run java, which wants /proc.
    run(["mount", "-t", "proc", "proc", str(proc_dir)])
    try:
        env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        run(["chroot", str(rootfs), "apt-get", "update", "-qq"], env=env)
        run(["chroot", str(rootfs), "apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], env=env)
        run(["chroot", str(rootfs), "apt-get", "clean"], env=env)
        versions = run(["chroot", str(rootfs), "dpkg-query", "-W", *packages], env=env).stdout.split("\n")
    finally:
        subprocess.run(["umount", str(proc_dir)], check=False)
    shutil.rmtree(rootfs / "var" / "lib" / "apt" / "lists", ignore_errors=True)
    (rootfs / "var" / "lib" / "apt" / "lists" / "partial").mkdir(parents=True)
    marker.write_text(
        json.dumps(
            {
                "packages": [v for v in versions if v],
                "debootstrap_s": round(t1 - t0, 1),
                "packages_s": round(time.monotonic() - t1, 1),
            }
        )
        + "\n"
    )
    return rootfs


def import_image(rootfs: Path, overlay: Path | None, tags: list[str], changes: list[str]) -> None:
    """``docker import`` the base file system plus the overlay's paths the base lacks, then add the other tags."""
    cmd = [docker_cli(), "import"]
    for change in changes:
        cmd += ["--change", change]
    cmd += ["-", tags[0]]
    # One stream: the base system, then the overlay's paths the base lacks (`docker import` refuses duplicates).
    added = [f"./{rel}" for rel in _novel_paths(overlay, rootfs)] if overlay else []
    extra = ["-C", str(overlay), *added] if added else []
    tar = subprocess.Popen(["tar", "--numeric-owner", "-c", "-C", str(rootfs), ".", *extra], stdout=subprocess.PIPE)
    imp = subprocess.run(cmd, stdin=tar.stdout, capture_output=True, text=True, env=docker_env())
    tar.stdout.close()
    if tar.wait() != 0 or imp.returncode != 0:
        raise BuildError(f"docker import failed ({imp.returncode}):\n{imp.stderr[-3000:]}")
    for tag in tags[1:]:
        run([docker_cli(), "tag", tags[0], tag], env=docker_env())


def _script(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


def neo4j_overlay(version: str) -> Path:
    """The files the image adds on top of the base: jars, wrappers, configuration, writable directories."""
    lib = fetch(version)
    line = line_for(version)
    overlay = images_dir() / f"overlay-neo4j-{version}"
    shutil.rmtree(overlay, ignore_errors=True)
    home = overlay / NEO4J_HOME.lstrip("/")
    (home / "lib").mkdir(parents=True)
    for jar in sorted(lib.glob("*.jar")):
        os.link(jar, home / "lib" / jar.name)
    classpath = image_classpath(lib, "$home")
    _script(
        home / "bin" / "neo4j",
        NEO4J_WRAPPER.format(
            home=NEO4J_HOME,
            version=version,
            flags=" ".join(jvm_flags(version, "server")),
            classpath=classpath,
            server=SERVER_MAIN,
            heap_keys=" ".join(line.heap_keys),
        ),
    )
    _script(
        home / "bin" / "neo4j-admin",
        ADMIN_WRAPPER.format(
            home=NEO4J_HOME, flags=" ".join(jvm_flags(version, "admin")), classpath=classpath, admin=ADMIN_MAIN
        ),
    )
    _script(
        overlay / "startup" / "docker-entrypoint.sh",
        ENTRYPOINT.replace("@SET_INITIAL_PASSWORD@", line.set_initial_password),
    )
    (overlay / "startup" / "neo4j.conf.base").write_text(line.base_conf(lib))
    (home / "conf").mkdir()
    (home / "conf" / "neo4j.conf").write_text(line.base_conf(lib))
    for name in ("conf", "data", "logs", "run", "import", "plugins"):
        (home / name).mkdir(exist_ok=True)
        # Any USER_ID:GROUP_ID the deployment picks must be able to write these (data is normally a bind mount).
        (home / name).chmod(0o1777)
    (home / "conf" / "neo4j.conf").chmod(0o666)
    return overlay


def image_classpath(lib: Path, home: str) -> str:
    """The jars one by one in name order, not ``lib/*``: a wildcard takes the directory's order, which differs between
    the file system an archive is made on and the container's, and a class archive only serves the classpath it was
    made with."""
    return ":".join(f"{home}/lib/{jar.name}" for jar in sorted(lib.glob("*.jar")))


def jvm_flags(version: str, kind: str) -> list[str]:
    """The wrappers' JVM flags; ``kind``: ``server`` or ``admin``, which class archive they map. The fast ones only
    for an image built with PORTAL_DEV_FAST_JVM=1 (scripts/test.sh): the benches' image starts Neo4j as an operator's
    does (docs/testing.md "Fast JVM starts")."""
    fast = [*FAST_JVM_FLAGS, f"-XX:SharedArchiveFile={ARCHIVES_DIR}/{kind}.jsa"] if fast_jvm(version) else []
    return [*JVM_FLAGS, *fast]


def class_archives(rootfs: Path, overlay: Path, version: str) -> None:
    """Write the image's class archives into the overlay, made by the image's own Java on the image's own paths: the
    base and the overlay hard-linked into a scratch tree, a server started in it under chroot (loopback ports of this
    machine, authentication off), asked one Cypher query over HTTP and stopped, then one neo4j-admin dump; each JVM
    writes the classes it loaded when it exits (``-XX:ArchiveClassesAtExit``)."""
    tree = images_dir() / "class-archives-tree"
    shutil.rmtree(tree, ignore_errors=True)
    run(["cp", "-al", str(rootfs), str(tree)])
    run(["cp", "-al", f"{overlay}/.", str(tree)])
    home = tree / NEO4J_HOME.lstrip("/")
    (home / "class-archives").mkdir()
    http, bolt = free_port(), free_port()
    conf = f"{NEO4J_HOME}/conf-archives"
    (home / "conf-archives").mkdir()
    (home / "conf-archives" / "neo4j.conf").write_text(
        without_usage_report(
            "".join(
                f"{line}\n"
                for line in (
                    f"server.directories.data={NEO4J_HOME}/data",
                    f"server.directories.logs={NEO4J_HOME}/logs",
                    f"server.directories.run={NEO4J_HOME}/run",
                    "server.default_listen_address=127.0.0.1",
                    f"server.http.listen_address=127.0.0.1:{http}",
                    f"server.bolt.listen_address=127.0.0.1:{bolt}",
                    "server.https.enabled=false",
                    "dbms.security.auth_enabled=false",
                    "dbms.usage_report.enabled=false",
                )
            ),
            home / "lib",
        )
    )
    classpath = image_classpath(home / "lib", NEO4J_HOME)
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "NEO4J_HOME": NEO4J_HOME, "NEO4J_CONF": conf}

    def java(kind: str, heap: str, main: str, *args: str) -> list[str]:
        dump = f"-XX:ArchiveClassesAtExit={ARCHIVES_DIR}/{kind}.jsa"
        return [chroot, str(tree), "java", f"-Xmx{heap}", *JVM_FLAGS, dump, "-cp", classpath, main, *args]

    run(["mount", "-t", "proc", "proc", str(tree / "proc")])
    try:
        with open(images_dir() / "class-archives.log", "wb") as log:
            server = subprocess.Popen(
                java("server", "512m", SERVER_MAIN, f"--home-dir={NEO4J_HOME}", f"--config-dir={conf}"),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                _query_when_up(http, server)
            finally:
                server.terminate()
                server.wait(120)
        run(java("admin", "512m", ADMIN_MAIN, "database", "dump", "neo4j", "--to-path=/tmp"), env=env)
        target = overlay / NEO4J_HOME.lstrip("/") / "class-archives"
        target.mkdir()
        for kind in ARCHIVE_KINDS:
            shutil.copyfile(home / "class-archives" / f"{kind}.jsa", target / f"{kind}.jsa")
            (target / f"{kind}.jsa").chmod(0o444)
    finally:
        subprocess.run(["umount", str(tree / "proc")], check=False)
        shutil.rmtree(tree, ignore_errors=True)


def _query_when_up(port: int, server: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            raise BuildError(f"the server making the class archives exited ({images_dir() / 'class-archives.log'})")
        try:
            http_cypher(port, CLASS_ARCHIVE_QUERY)
            return
        except Neo4jError as exc:
            raise BuildError(f"the class archives' Cypher query failed: {exc}") from None
        except OSError:
            if time.monotonic() > deadline:
                raise BuildError(
                    f"the server making the class archives did not answer within {timeout:.0f} s"
                ) from None
            time.sleep(0.5)


def _novel_paths(overlay: Path, base: Path, rel: Path = Path()) -> list[Path]:
    """The shallowest overlay paths that do not exist in the base (whole subtrees go in as one entry)."""
    found = []
    for child in sorted((overlay / rel).iterdir()):
        sub = rel / child.name
        if not (base / sub).exists() and not (base / sub).is_symlink():
            found.append(sub)
        elif child.is_dir() and not child.is_symlink():
            found += _novel_paths(overlay, base, sub)
        else:
            raise BuildError(f"the image overlay would replace {sub} of the base system")
    return found


def recipe_hash(version: str) -> str:
    """Everything the image is made of: this recipe, the JVM flags, the jar set, the base system."""
    line = line_for(version)
    h = hashlib.sha256()
    h.update(Path(__file__).read_bytes())
    flags = [jvm_flags(version, "server"), jvm_flags(version, "admin")]
    h.update(json.dumps([version, line.suite, line.java, flags, SERVER_MAIN, ADMIN_MAIN]).encode())
    for jar in sorted(fetch(version).glob("*.jar")):
        h.update(f"{jar.name}:{jar.stat().st_size}\n".encode())
    return h.hexdigest()[:16]


def tags_for(version: str) -> list[str]:
    major_minor = ".".join(version.split(".")[:2])
    return [f"neo4j:{version}", f"neo4j:{major_minor}"]


def existing_hash(tag: str) -> str | None:
    proc = subprocess.run(
        [docker_cli(), "image", "inspect", "--format", "{{json .Config.Labels}}", tag],
        capture_output=True,
        text=True,
        env=docker_env(),
    )
    if proc.returncode != 0:
        return None
    return (json.loads(proc.stdout or "null") or {}).get(HASH_LABEL)


def build(version: str = NEO4J_VERSION, force: bool = False) -> list[str]:
    tags = tags_for(version)
    want = recipe_hash(version)
    if not force and all(existing_hash(tag) == want for tag in tags):
        return tags
    line = line_for(version)
    rootfs = base_rootfs(line.suite, (line.java,))
    overlay = neo4j_overlay(version)
    if fast_jvm(version):
        class_archives(rootfs, overlay, version)
    changes = [
        f"ENV NEO4J_HOME={NEO4J_HOME}",
        f"ENV NEO4J_VERSION={version}",
        "ENV NEO4J_EDITION=community",
        f"ENV PATH={NEO4J_HOME}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "ENV LANG=C.UTF-8",
        f"WORKDIR {NEO4J_HOME}",
        "EXPOSE 7474 7473 7687",
        f"LABEL {HASH_LABEL}={want} org.opencontainers.image.version={version}",
        'ENTRYPOINT ["/startup/docker-entrypoint.sh"]',
        'CMD ["neo4j"]',
    ]
    import_image(rootfs, overlay, tags, changes)
    return tags


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["build", "hash"])
    parser.add_argument("--version", default=NEO4J_VERSION)
    parser.add_argument("--force", action="store_true", help="rebuild even when the labelled hash matches")
    args = parser.parse_args(argv)
    args.version = resolve(args.version)
    return command_line(
        args.command,
        hash_of=lambda: recipe_hash(args.version),
        build=lambda: " ".join(build(args.version, force=args.force)),
        what="image",
    )


def command_line(command: str, *, hash_of: Callable[[], str], build: Callable[[], str], what: str) -> int:
    """``hash`` or ``build`` (under the builders' lock, timed) for an image script; errors as one line, exit 1."""
    try:
        if command == "hash":
            print(hash_of())
            return 0
        t0 = time.monotonic()
        with build_lock():
            print(build())
        print(f"# {what} ready in {time.monotonic() - t0:.1f} s", file=sys.stderr)
        return 0
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
