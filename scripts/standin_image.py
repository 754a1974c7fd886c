#!/usr/bin/env python3
"""Build the test STAND-IN for the ``alchemiscale-server`` image: ``alchemiscale-server-standin:v0.4.0``.

    python3 scripts/standin_image.py build    build (or confirm) the image; prints its tag
    python3 scripts/standin_image.py build --tag v0.8.0 [--unhealthy]
                                              another release of the stand-in (the release upgrade's tests)
    python3 scripts/standin_image.py hash     print the recipe hash the image is labelled with

The Docker target runs alchemiscale's schema migration the way the operations guide does, ``docker run ...
ghcr.io/openforcefield/alchemiscale-server:v0.4.0 database migrate v03-to-v04``. That image cannot be pulled here (no
registry) and alchemiscale cannot be installed (its ``gufe`` dependency is not on PyPI), so the tests use this
stand-in instead. It is NOT alchemiscale: its entry point is ``devtools/alchemiscale_standin.py``, which
takes the same arguments and ``NEO4J_*`` environment as the real image's ``alchemiscale`` entry point and does to the
graph what alchemiscale 0.4's migration does (see that file). The image says so: its tag names it a stand-in and it
carries the label ``org.alchemiscale-portal.standin``, which the portal reads to say "STAND-IN" on screen and in
the migration record.

Recipe: ``debootstrap --variant=minbase bookworm`` plus Debian's ``python3`` (3.11) in the package set
``PYTHON_BASE_PACKAGES``, which the deployment check's base image shares so one cached root file system serves
both (``scripts/neo4j_image.py``, whose helpers this reuses); the neo4j Python driver and what it requires copied
from the project's virtualenv (pure Python, same Python 3.11); and the stand-in script. It runs as ``nobody``, not
root, like the real image's non-root user. Like the Neo4j image it carries the hash of its recipe as a label and is
rebuilt only when that changes. Needs root (debootstrap) for the first build and the engine of
``scripts/docker_engine.py`` (or ``DOCKER_HOST``). Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from neo4j_image import (  # noqa: E402
    HASH_LABEL,
    PYTHON_BASE_PACKAGES,
    SUITE,
    BuildError,
    base_rootfs,
    command_line,
    existing_hash,
    images_dir,
    import_image,
)

from devtools.alchemiscale_standin import IMAGE_LABEL, IMAGE_TAG, UNHEALTHY_VARIABLE, VERSION_VARIABLE  # noqa: E402

#: the stand-in's repository; ``--tag`` builds another release of it (the release upgrade's tests use two, and one
#: built ``--unhealthy`` whose APIs fail their health check)
REPOSITORY = IMAGE_TAG.rpartition(":")[0]

STANDIN = ROOT / "devtools" / "alchemiscale_standin.py"
PACKAGES = PYTHON_BASE_PACKAGES  # more than the stand-in needs, but the same cached base as the deployment check
#: the Python distribution the stand-in imports; what it requires comes along
DRIVER = "neo4j"
HOME = "/opt/alchemiscale-standin"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

# Run by the project's virtualenv Python: the files of DRIVER and of everything it requires (extras left out).
LIST_FILES = r"""
import json, re, sys
from importlib import metadata
todo, seen, dists, files = [sys.argv[1]], set(), [], []
while todo:
    name = todo.pop()
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key in seen:
        continue
    seen.add(key)
    dist = metadata.distribution(name)
    dists.append(f"{dist.metadata['Name']}=={dist.version}")
    for req in dist.requires or []:
        requirement, _, marker = req.partition(";")
        if "extra" in marker:
            continue
        if marker.strip():
            sys.exit(f"{dist.metadata['Name']} requires {req!r}: a marker this recipe does not evaluate")
        todo.append(re.split(r"[\s<>=!~\[(]", requirement.strip(), maxsplit=1)[0])
    base = dist.locate_file("")
    files += [str(f) for f in dist.files or [] if not str(f).startswith("..") and "__pycache__" not in str(f)]
print(json.dumps({"python": "%d.%d" % sys.version_info[:2], "site": str(base), "dists": sorted(dists),
                  "files": sorted(files)}))
"""


def driver_files() -> dict:
    """The driver's distribution files in the project's virtualenv (``site``-relative), and the Python version."""
    if not VENV_PYTHON.exists():
        raise BuildError(f"{VENV_PYTHON} is missing; run scripts/bootstrap.sh first")
    proc = subprocess.run([str(VENV_PYTHON), "-c", LIST_FILES, DRIVER], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"listing {DRIVER}'s files in {VENV_PYTHON} failed: {proc.stderr.strip()}")
    found = json.loads(proc.stdout)
    compiled = [f for f in found["files"] if f.endswith((".so", ".pyd"))]
    if compiled:
        raise BuildError(
            f"{DRIVER} brings compiled files ({', '.join(compiled[:3])}); only pure Python can be "
            f"copied into the stand-in image"
        )
    return found


def overlay(found: dict) -> Path:
    """The files the image adds to the base system: the stand-in script and the driver's site-packages."""
    out = images_dir() / "overlay-alchemiscale-standin"
    shutil.rmtree(out, ignore_errors=True)
    home = out / HOME.lstrip("/")
    site = home / "site-packages"
    site.mkdir(parents=True)
    for rel in found["files"]:
        target = site / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(found["site"]) / rel, target)
    shutil.copy2(STANDIN, home / STANDIN.name)
    return out


def recipe_hash(found: dict) -> str:
    """This recipe, the stand-in script, the base system's packages and the driver's exact files."""
    h = hashlib.sha256()
    h.update(Path(__file__).read_bytes())
    h.update(STANDIN.read_bytes())
    h.update(json.dumps([SUITE, PACKAGES, found["python"], found["dists"]]).encode())
    for rel in found["files"]:
        h.update(f"{rel}:{(Path(found['site']) / rel).stat().st_size}\n".encode())
    return h.hexdigest()[:16]


def build(force: bool = False, tag: str = IMAGE_TAG.rpartition(":")[2], unhealthy: bool = False) -> str:
    image = f"{REPOSITORY}:{tag}"
    found = driver_files()
    want = recipe_hash(found) + ("-unhealthy" if unhealthy else "")
    if not force and existing_hash(image) == want:
        return image
    rootfs = base_rootfs(SUITE, PACKAGES)
    # The driver is copied as files, not installed: the image's Python must be the virtualenv's version.
    if not (rootfs / "usr" / "bin" / f"python{found['python']}").exists():
        raise BuildError(
            f"the base system has no python{found['python']} (the virtualenv's version); the copied "
            f"driver would not match"
        )
    changes = [
        f"ENV PYTHONPATH={HOME}/site-packages",
        "ENV PYTHONDONTWRITEBYTECODE=1",
        "ENV PYTHONUNBUFFERED=1",
        "ENV LANG=C.UTF-8",
        f"WORKDIR {HOME}",
        "USER 65534:65534",
        f"ENV {VERSION_VARIABLE}={tag}",
        *([f"ENV {UNHEALTHY_VARIABLE}=1"] if unhealthy else []),
        f"LABEL {HASH_LABEL}={want} {IMAGE_LABEL}=devtools/alchemiscale_standin.py "
        f"org.opencontainers.image.version={tag.lstrip('v')}-standin",
        f'ENTRYPOINT ["python3", "{HOME}/{STANDIN.name}"]',
        'CMD ["--help"]',
    ]
    import_image(rootfs, overlay(found), [image], changes)
    return image


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["build", "hash"])
    parser.add_argument("--force", action="store_true", help="rebuild even when the labelled hash matches")
    parser.add_argument(
        "--tag", default=IMAGE_TAG.rpartition(":")[2], help=f"the release it plays (default: {IMAGE_TAG})"
    )
    parser.add_argument("--unhealthy", action="store_true", help="its APIs answer /ping with 503 (a broken release)")
    args = parser.parse_args(argv)
    return command_line(
        args.command,
        hash_of=lambda: recipe_hash(driver_files()),
        build=lambda: build(force=args.force, tag=args.tag, unhealthy=args.unhealthy),
        what="stand-in image",
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
