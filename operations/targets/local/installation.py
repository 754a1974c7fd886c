"""The installation as its files say (``Installation``): its home, the ``neo4j.conf`` in its configuration directory
and the data, logs and run directories that file names, the Neo4j version its jars hold, and who owns its data."""

from __future__ import annotations

import re
from pathlib import Path

from ..base import TargetError

# neo4j.conf keys of the directories (5.x, then 4.4's name) and Neo4j's defaults, relative to the home.
DIRECTORY_KEYS = {
    "data": ("server.directories.data", "dbms.directories.data"),
    "logs": ("server.directories.logs", "dbms.directories.logs"),
    "run": ("server.directories.run", "dbms.directories.run"),
}
KERNEL_JAR = re.compile(r"neo4j-kernel-(\d+\.\d+\.\d+)\.jar")


def read_conf(path: Path) -> dict[str, str]:
    """``key=value`` lines of a neo4j.conf (comments and blank lines skipped; the last value of a key wins)."""
    values: dict[str, str] = {}
    for line in path.read_text(errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip()
    return values


class Installation:
    """The Neo4j installation at ``home`` configured by ``<conf_dir>/neo4j.conf`` (default ``<home>/conf``);
    TargetError at once when either is missing. Its files are read at each call: a version switch changes them."""

    def __init__(self, home: Path, conf_dir: Path | None = None):
        self.home = Path(home)
        self.conf_dir = Path(conf_dir) if conf_dir else self.home / "conf"
        if not self.home.is_dir():
            raise TargetError(f"PORTAL_NEO4J_HOME: {self.home} is not a directory (the Neo4j installation's home)")
        if not self.conf_file.is_file():
            raise TargetError(
                f"{self.conf_file} does not exist: set PORTAL_NEO4J_CONF to the directory of the installation's "
                f"neo4j.conf (default: PORTAL_NEO4J_HOME/conf)"
            )

    @property
    def conf_file(self) -> Path:
        return self.conf_dir / "neo4j.conf"

    def directory(self, which: str, conf: Path | None = None) -> Path:
        """A directory neo4j.conf names (``data``, ``logs``, ``run``), relative ones against the home."""
        values = read_conf(conf or self.conf_file)
        for key in DIRECTORY_KEYS[which]:
            if values.get(key):
                path = Path(values[key])
                return path if path.is_absolute() else self.home / path
        return self.home / which

    @property
    def data_dir(self) -> Path:
        return self.directory("data")

    @property
    def pid_file(self) -> Path:
        return self.directory("run") / "neo4j.pid"

    @property
    def operation_lock_file(self) -> Path:
        return self.directory("run") / "portal-operation.lock"

    def version(self) -> str:
        """From the installation's jars (``lib/neo4j-kernel-<version>.jar``): known without the server running."""
        lib = self.home / "lib"
        found = sorted({m.group(1) for p in lib.glob("neo4j-kernel-*.jar") if (m := KERNEL_JAR.fullmatch(p.name))})
        if len(found) != 1:
            raise TargetError(
                f"cannot tell the Neo4j version of the installation at {self.home} (PORTAL_NEO4J_HOME): expected one "
                f"lib/neo4j-kernel-<version>.jar, found {found or 'none'}"
            )
        return found[0]

    def data_owner(self) -> tuple[int, int]:
        """(uid, gid) owning the data directory; the directory holding it while it is set aside."""
        for path in (self.data_dir, self.data_dir.parent):
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            return st.st_uid, st.st_gid
        raise TargetError(f"neither {self.data_dir} nor its parent exists")
