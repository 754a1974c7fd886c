"""The Java a local Neo4j installation runs on, and whether it is new enough for a Neo4j release.

Neo4j's own scripts take ``$JAVA_HOME/bin/java`` when ``JAVA_HOME`` is set, else the ``java`` on the ``PATH``; so
does this check, in the worker's environment (the switch command and the service manager must give Neo4j the
same). Neo4j 4.4 runs on Java 11, 5.x on 17 or 21, 2025.x and later on 21 or newer.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

#: where Debian and Adoptium put JDKs: named in the advice when one there is new enough
JVM_DIR = Path("/usr/lib/jvm")
VERSION_LINE = re.compile(r'version "(\d+)(?:\.(\d+))?')


def needed_for(neo4j_version: str) -> int:
    """The oldest Java major version ``neo4j_version`` runs on."""
    major = int(neo4j_version.split(".")[0])
    return 21 if major >= 2025 else 17 if major >= 5 else 11


def java_binary() -> tuple[str | None, str]:
    """(the java Neo4j's scripts would run, where that choice comes from)."""
    home = os.environ.get("JAVA_HOME")
    if home:
        return str(Path(home) / "bin" / "java"), f"JAVA_HOME={home}"
    return shutil.which("java"), "java on the PATH"


def major_of(java: str) -> int | None:
    """The Java's major version (1.8 is 8), None when it does not run: from the ``release`` file of the JDK or JRE
    it belongs to (cheap: the upgrade page asks on every view), else from what ``java -version`` reports."""
    release = Path(os.path.realpath(java)).parent.parent / "release"
    try:
        found = re.search(r'^JAVA_VERSION="(\d+)(?:\.(\d+))?', release.read_text(), re.MULTILINE)
    except OSError:
        found = None
    if found:
        return _major(found)
    try:
        proc = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = VERSION_LINE.search(proc.stderr + proc.stdout)
    if proc.returncode != 0 or not found:
        return None
    return _major(found)


def _major(found: re.Match) -> int:
    first = int(found.group(1))
    return int(found.group(2) or 0) if first == 1 else first


def candidates(at_least: int) -> list[str]:
    """JDKs under /usr/lib/jvm new enough (directory names), for the advice."""
    if not JVM_DIR.is_dir():
        return []
    return sorted(
        str(d)
        for d in JVM_DIR.iterdir()
        if (d / "bin" / "java").exists() and (major_of(str(d / "bin" / "java")) or 0) >= at_least
    )


def problems(neo4j_version: str) -> list[str]:
    """What stops the local installation's Java from running ``neo4j_version`` (empty: nothing)."""
    need = needed_for(neo4j_version)
    java, source = java_binary()
    major = major_of(java) if java else None
    if major is not None and major >= need:
        return []
    found = "no java found" if java is None else f"{java} does not run" if major is None else f"{java} is Java {major}"
    usable = candidates(need)
    advice = (
        f"; set JAVA_HOME to one for the worker and for Neo4j (here: {', '.join(usable)})"
        if usable
        else (f"; install Java {need} or newer and set JAVA_HOME to it for the worker and for Neo4j")
    )
    return [f"Neo4j {neo4j_version} needs Java {need} or newer; {source}: {found}{advice}"]
