"""DEV TOOL: a Java 11 runtime for Neo4j 4.4, which does not run on the Java 17 of Debian bookworm.

Debian bullseye still ships ``openjdk-11-jre-headless`` and bookworm's archive keyring still verifies bullseye.
Rather than a whole bullseye root file system (debootstrap, ~500 MB, a chroot and a mounted /proc for the
package's post-install scripts), apt downloads just that one package with a private state directory (the
machine's own apt configuration is left alone) and ``dpkg-deb -x`` unpacks it under the cache. Its JVM links
only against libc, libstdc++ and zlib, which bookworm provides, so it runs in place. The package points its
configuration files at absolute ``/etc/java-11-openjdk`` paths, so those links are re-pointed into the
unpacked tree, which then depends on nothing outside itself.

Standard library only, like ``local_neo4j`` (which imports it): ``scripts/bootstrap.sh`` runs it before the
virtualenv exists.

    python3 -m devtools.java11     prints the path of the java binary, fetching it first when needed
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from devtools.neo4j_cache import Neo4jError, cache_dir

SUITE = "bullseye"
PACKAGE = "openjdk-11-jre-headless"
MIRROR = os.environ.get("PORTAL_DEBIAN_MIRROR", "http://deb.debian.org/debian")
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
JVM_DIR = Path("usr/lib/jvm/java-11-openjdk-amd64")


def root() -> Path:
    return cache_dir() / f"{PACKAGE}-{SUITE}"


def java_binary() -> Path:
    return root() / "rootfs" / JVM_DIR / "bin" / "java"


def _run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise Neo4jError(
            f"{' '.join(cmd[:2])} ... failed ({proc.returncode}) while fetching Java 11 for "
            f"Neo4j 4.4:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )


def _relocate_links(rootfs: Path) -> None:
    """Re-point absolute symlinks (``conf/security/java.security -> /etc/...``) into ``rootfs``."""
    for dirpath, dirnames, filenames in os.walk(rootfs):
        for name in dirnames + filenames:
            link = Path(dirpath) / name
            if not link.is_symlink():
                continue
            target = os.readlink(link)
            if os.path.isabs(target):
                link.unlink()
                link.symlink_to(rootfs / target.lstrip("/"))


def ensure() -> Path:
    """The java binary of a Java 11 runtime; fetched from Debian bullseye on first use (a few seconds)."""
    java = java_binary()
    marker = root() / "complete"
    if marker.exists() and java.exists():
        return java
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise Neo4jError(f"{tool} is needed to fetch Java 11 for Neo4j 4.4 (this works on Debian only)")
    if not Path(KEYRING).exists():
        raise Neo4jError(f"{KEYRING} is missing; install debian-archive-keyring")
    work = root()
    shutil.rmtree(work, ignore_errors=True)
    apt = work / "apt"
    for sub in ("state/lists/partial", "cache/archives/partial", "etc", "download"):
        (apt / sub).mkdir(parents=True, exist_ok=True)
    (apt / "etc" / "sources.list").write_text(f"deb [signed-by={KEYRING}] {MIRROR} {SUITE} main\n")
    options = [
        "-o",
        f"Dir::State={apt / 'state'}",
        "-o",
        f"Dir::Cache={apt / 'cache'}",
        "-o",
        f"Dir::Etc::SourceList={apt / 'etc' / 'sources.list'}",
        "-o",
        "Dir::Etc::SourceParts=/nonexistent",
        # A private state directory needs no lock on the machine's own; apt's sandbox user cannot write here.
        "-o",
        "Debug::NoLocking=1",
        "-o",
        "APT::Sandbox::User=root",
        "-qq",
    ]
    _run(["apt-get", *options, "update"], cwd=apt)
    _run(["apt-get", *options, "download", PACKAGE], cwd=apt / "download")
    debs = sorted((apt / "download").glob(f"{PACKAGE}_*.deb"))
    if not debs:
        raise Neo4jError(f"apt-get download {PACKAGE} finished without a .deb in {apt / 'download'}")
    rootfs = work / "rootfs"
    _run(["dpkg-deb", "-x", str(debs[-1]), str(rootfs)], cwd=work)
    _relocate_links(rootfs)
    # Only the unpacked runtime is worth keeping: the package lists and the .deb are ~60 MB.
    shutil.rmtree(apt, ignore_errors=True)
    proc = subprocess.run([str(java), "-version"], capture_output=True, text=True)
    if proc.returncode != 0 or '"11.' not in proc.stderr:
        raise Neo4jError(f"the unpacked Java 11 does not run here:\n{proc.stdout}{proc.stderr}")
    marker.write_text(proc.stderr.splitlines()[0] + "\n")
    return java


if __name__ == "__main__":
    try:
        print(ensure())
    except Neo4jError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
