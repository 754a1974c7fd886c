"""The Docker target: the Neo4j service of an alchemiscale docker-compose deployment, driven through the Docker SDK.

What the operations guide does by hand with ``docker stop`` / ``docker run`` / ``docker start``, this target does
through the engine's API:

- the Neo4j container is found by its compose labels (``com.docker.compose.project`` / ``.service``), never by a
  guessed container name, so it is the same container whatever compose called it;
- its data directory is read from the container's own mount of ``/var/lib/neo4j/data`` (the ``NEO4J_DATA_STORE`` of
  the deployment's ``.env``), and the data owner from the ``user:`` it runs as (``USER_ID:GROUP_ID``);
- ``neo4j-admin`` runs in a one-off container of the same image as the Neo4j container (so of the store's Neo4j
  version), with the data directory and the backups directory mounted, as the data owner (so no chown is needed
  afterwards), and with no network at all;
- alchemiscale's own CLI (the schema migration) runs as the guide runs it: a one-off container of the
  alchemiscale-server image (``PORTAL_ALCHEMISCALE_IMAGE``) on the deployment's database network
  (``PORTAL_DOCKER_DB_NETWORK``, default ``<project>_db``) with ``NEO4J_URL=bolt://<service>:7687``. When the Neo4j
  container itself runs with host networking (the project's tests: no bridge networks there), the job does too and
  uses the URL the portal reaches that Neo4j at (``PORTAL_DOCKER_NEO4J_URL``).

Every one-off container carries ``JOB_LABEL`` and is removed when its job ends; ``stop_admin`` sweeps the ones a dead
worker left behind.

Switching Neo4j versions (the 4.4 to 5.x store migration): in a compose deployment the Neo4j version *is* the
container's image, so ``use_neo4j_version`` re-creates the container on the other version's local image
(``neo4j:<major.minor>`` or ``neo4j:<version>``), keeping everything compose gave the old one: name, labels and
environment (minus what the old image supplied), user, host configuration (binds, restart policy, network mode,
ports) and networks with their aliases. It creates the container without starting it (the procedure starts it when
the store is ready). Compose's ``.env`` still names the old image in ``NEO4J_DOCKER_IMAGE``, and a later
``docker-compose up`` would re-create the container on it, on top of the migrated store: with
``PORTAL_COMPOSE_ENV_FILE`` set the switch rewrites that line, otherwise the step output and the migration's record
say which line to set.

Paths: bind-mount sources are *host* paths. When the portal itself runs in a container, the compose file of this
project mounts the data and backups directories at the same paths inside the portal's containers as on the host, so
the portal's view and the host's view agree; ``PORTAL_DOCKER_BACKUP_HOST_DIR`` and ``PORTAL_NEO4J_DATA_DIR`` exist
for deployments that mount them elsewhere.
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import tempfile
import time
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from alchemiscale_portal.masking import mask_url

from ..upgrades.alchemiscale_standin import IMAGE_LABEL as STANDIN_IMAGE_LABEL
from .base import AdminResult, Connection, Target, TargetError

try:  # the SDK is in requirements.txt; the import is guarded so the local target works without it
    import docker
    import docker.errors
    import requests.exceptions
except ImportError:  # pragma: no cover
    docker = None

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
#: where the official image (and ours) keeps the store; the guide mounts the data directory here
CONTAINER_DATA_DIR = "/var/lib/neo4j/data"
#: where the one-off neo4j-admin containers see the backups directory
CONTAINER_BACKUP_DIR = PurePosixPath("/backups")
#: label put on every one-off container this target starts, so they can be found (and cleaned up) by it
JOB_LABEL = "org.alchemiscale-portal.job"
#: the Bolt port alchemiscale's services use on the database network (the guide's bolt://neo4j:7687)
BOLT_PORT = 7687
#: the name a container being replaced by a version switch has until its successor exists (see use_neo4j_version)
REPLACED_SUFFIX = "--replaced-by-portal"
#: the compose variable naming the Neo4j image (alchemiscale's docker-compose.yml: ${NEO4J_DOCKER_IMAGE:-neo4j:5.18})
IMAGE_VARIABLE = "NEO4J_DOCKER_IMAGE"

#: Neo4j 4.4 settings 5.x renamed, among those a compose deployment sets through NEO4J_<setting> variables.
#: Checked against 5.26.12 itself: it accepts each old name, logs "Use of deprecated setting ... It is replaced by"
#: and uses it under the new name, *unless the new name is set too*, and then the old value is silently dropped. The
#: image's own configuration sets server.default_listen_address and server.directories.* (the official image's
#: too), so a 4.4 container's NEO4J_dbms_default__listen__address=127.0.0.1 would quietly become 0.0.0.0 on 5.x.
#: The switch to 5.x therefore renames these variables itself (and back again when returning to 4.4).
RENAMED_IN_5 = {
    "dbms.default_listen_address": "server.default_listen_address",
    "dbms.default_advertised_address": "server.default_advertised_address",
    "dbms.connector.bolt.enabled": "server.bolt.enabled",
    "dbms.connector.bolt.listen_address": "server.bolt.listen_address",
    "dbms.connector.bolt.advertised_address": "server.bolt.advertised_address",
    "dbms.connector.http.enabled": "server.http.enabled",
    "dbms.connector.http.listen_address": "server.http.listen_address",
    "dbms.connector.http.advertised_address": "server.http.advertised_address",
    "dbms.connector.https.enabled": "server.https.enabled",
    "dbms.connector.https.listen_address": "server.https.listen_address",
    "dbms.connector.https.advertised_address": "server.https.advertised_address",
    "dbms.memory.heap.initial_size": "server.memory.heap.initial_size",
    "dbms.memory.heap.max_size": "server.memory.heap.max_size",
    "dbms.memory.pagecache.size": "server.memory.pagecache.size",
    "dbms.directories.data": "server.directories.data",
    "dbms.directories.logs": "server.directories.logs",
    "dbms.directories.import": "server.directories.import",
    "dbms.directories.plugins": "server.directories.plugins",
    "dbms.jvm.additional": "server.jvm.additional",
    "dbms.tx_log.rotation.retention_policy": "db.tx_log.rotation.retention_policy",
    "dbms.memory.transaction.global_max_size": "dbms.memory.transaction.total.max",
}


def setting_of(variable: str) -> str | None:
    """``NEO4J_dbms_memory_heap_max__size`` -> ``dbms.memory.heap.max_size`` (the images' spelling: ``_`` is ``.``,
    ``__`` is ``_``); None for anything not a NEO4J_ variable."""
    if not variable.startswith("NEO4J_"):
        return None
    return variable[len("NEO4J_") :].replace("__", "\0").replace("_", ".").replace("\0", "_")


def variable_of(setting: str) -> str:
    return "NEO4J_" + setting.replace("_", "__").replace(".", "_")


def translate_settings(environment: list[str], to_version: str) -> list[str]:
    """``KEY=value`` entries with the renamed settings spelled as ``to_version`` spells them (``RENAMED_IN_5``)."""
    table = RENAMED_IN_5 if not to_version.startswith("4.") else {new: old for old, new in RENAMED_IN_5.items()}
    out = []
    for entry in environment:
        name, sep, value = entry.partition("=")
        setting = setting_of(name)
        if setting in table:
            name = variable_of(table[setting])
        out.append(f"{name}{sep}{value}")
    return out


def image_version(image) -> str | None:
    """The Neo4j version an image holds: its NEO4J_VERSION, else its version label, else a version-like tag."""
    config = image.attrs.get("Config") or {}
    env = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
    labels = config.get("Labels") or {}
    version = env.get("NEO4J_VERSION") or labels.get("org.opencontainers.image.version")
    if not version:
        tags = [t.rsplit(":", 1)[1] for t in image.tags if ":" in t]
        version = next((t for t in tags if t[:1].isdigit()), None)
    return version


def _replace_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, keeping its mode and owner (a temporary file beside it, renamed)."""
    st = path.stat() if path.exists() else None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if st is not None:
            os.chmod(tmp, st.st_mode & 0o7777)
            if os.getuid() == 0:
                os.chown(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


class DockerTarget(Target):
    name = "docker"

    def __init__(
        self,
        connection: Connection,
        backup_dir: Path,
        start_timeout: float = 180.0,
        *,
        project: str = "alchemiscale-server",
        service: str = "neo4j",
        docker_host: str | None = None,
        admin_image: str | None = None,
        data_dir: Path | None = None,
        host_backup_dir: Path | None = None,
        stop_timeout: float = 120.0,
        alchemiscale_image: str = "ghcr.io/openforcefield/alchemiscale-server:v0.4.0",
        db_network: str | None = None,
        alchemiscale_timeout: float = 3600.0,
        compose_env_file: Path | None = None,
    ):
        super().__init__(connection, backup_dir, start_timeout)
        self.project = project
        self.service = service
        self.docker_host = docker_host
        self.admin_image_override = admin_image or None
        self._data_dir_override = Path(data_dir) if data_dir else None
        self.host_backup_dir = Path(host_backup_dir) if host_backup_dir else self.backup_dir
        # Neo4j takes about ten seconds to stop cleanly; compose's default of 10 s would kill it mid-checkpoint.
        self.stop_timeout = stop_timeout
        self.alchemiscale_image = alchemiscale_image
        self.db_network = db_network or f"{project}_db"
        self.alchemiscale_timeout = alchemiscale_timeout
        self.compose_env_file = Path(compose_env_file) if compose_env_file else None
        self._client = None

    @classmethod
    def from_settings(cls, connection: Connection, backup_dir: Path, start_timeout: float) -> DockerTarget:
        if settings.DOCKER_NEO4J_URL:
            connection = dataclasses.replace(connection, url=settings.DOCKER_NEO4J_URL)
        return cls(
            connection,
            backup_dir,
            start_timeout,
            project=settings.DOCKER_PROJECT,
            service=settings.DOCKER_SERVICE,
            admin_image=settings.NEO4J_ADMIN_IMAGE,
            data_dir=settings.NEO4J_DATA_DIR or None,
            host_backup_dir=settings.DOCKER_BACKUP_HOST_DIR or None,
            stop_timeout=settings.NEO4J_STOP_TIMEOUT,
            alchemiscale_image=settings.ALCHEMISCALE_IMAGE,
            db_network=settings.DOCKER_DB_NETWORK or None,
            alchemiscale_timeout=settings.ALCHEMISCALE_CLI_TIMEOUT,
            compose_env_file=settings.COMPOSE_ENV_FILE or None,
        )

    # -- the engine and the container ---------------------------------------------------------------------
    @property
    def engine(self) -> str:
        return self.docker_host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"

    def client(self):
        """A connected Docker client, or TargetError saying the engine cannot be reached."""
        if docker is None:
            raise TargetError("the Python package 'docker' is not installed; it is in requirements.txt")
        if self._client is None:
            try:
                client = docker.DockerClient(base_url=self.docker_host) if self.docker_host else docker.from_env()
                client.ping()
            except Exception as exc:  # the SDK raises several unrelated types for an unreachable engine
                raise TargetError(
                    f"the Docker engine at {self.engine} cannot be reached: {exc}. Is dockerd "
                    f"running, and is its socket mounted into the portal's containers?"
                ) from None
            self._client = client
        return self._client

    def container(self):
        """The deployment's Neo4j container, found by its compose labels."""
        client = self.client()
        try:
            found = client.containers.list(
                all=True, filters={"label": [f"{PROJECT_LABEL}={self.project}", f"{SERVICE_LABEL}={self.service}"]}
            )
        except docker.errors.APIError as exc:
            raise TargetError(f"listing containers on {self.engine} failed: {exc.explanation or exc}") from None
        if not found:
            raise TargetError(
                f"no container of compose project {self.project!r}, service {self.service!r} exists "
                f"on {self.engine}. Is the deployment created (docker-compose up), and are "
                f"PORTAL_DOCKER_PROJECT / PORTAL_DOCKER_SERVICE right?"
            )
        if len(found) > 1:
            # A version switch killed between creating the successor and removing its predecessor (renamed with
            # REPLACED_SUFFIX, stopped): the successor is the container; use_neo4j_version removes the other.
            current = [c for c in found if not c.name.endswith(REPLACED_SUFFIX)]
            if len(current) == 1:
                return current[0]
            names = ", ".join(c.name for c in found)
            raise TargetError(
                f"{len(found)} containers match compose project {self.project!r}, service "
                f"{self.service!r} ({names}); a state store must be one container"
            )
        return found[0]

    def _mount_source(self, container, destination: str) -> Path:
        for mount in container.attrs.get("Mounts", []):
            if mount.get("Destination") == destination:
                return Path(mount["Source"])
        raise TargetError(
            f"container {container.name} has nothing mounted at {destination}: its store would be "
            f"lost with the container. Mount the data directory there (NEO4J_DATA_STORE)"
        )

    # -- what the procedures use ------------------------------------------------------------------------------
    def describe(self) -> str:
        try:
            c = self.container()
        except TargetError:
            return f"Docker: compose project {self.project!r}, service {self.service!r} on {self.engine}"
        return (
            f"Docker container {c.name} (compose project {self.project!r}, service {self.service!r}), "
            f"image {self._image_name(c)}, on {self.engine}"
        )

    def is_up(self) -> bool:
        c = self.container()
        c.reload()
        return c.status in ("running", "restarting")

    def stop(self) -> None:
        c = self.container()
        try:
            # `docker stop` also keeps a `restart: unless-stopped` container down until it is started again.
            c.stop(timeout=int(self.stop_timeout))
            c.wait(condition="not-running", timeout=self.stop_timeout + 30)
        except docker.errors.APIError as exc:
            raise TargetError(f"stopping container {c.name} failed: {exc.explanation or exc}") from None
        except Exception as exc:  # requests' timeout
            raise TargetError(f"container {c.name} did not stop within {self.stop_timeout:.0f} s: {exc}") from None

    def stop_admin(self) -> list[str]:
        """Remove the one-off containers (neo4j-admin, alchemiscale) a worker killed mid-run left behind: running
        ones hold the store, and exited ones (the job ended after its worker died) would otherwise pile up."""
        done = []
        label = f"{JOB_LABEL}={self.project}/{self.service}"
        for job in self.client().containers.list(all=True, filters={"label": label}):
            state = job.status
            self._remove_job(job)
            done.append(f"removed the orphaned one-off container {job.name} ({state}, {self._job_image(job)})")
        return done

    def start_process(self) -> None:
        c = self.container()
        self.stop_admin()  # Neo4j cannot start on a store an admin job still holds
        try:
            c.start()
        except docker.errors.APIError as exc:
            raise TargetError(f"starting container {c.name} failed: {exc.explanation or exc}") from None

    def wait_for_bolt(self, timeout: float | None = None) -> None:
        """Wait for Bolt, but give up at once, with the container's last words, when it stops running or crashes
        (a restart policy would otherwise bring it back and hide the crash until the time is up)."""
        limit = self.start_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        c = self.container()
        url = urlsplit(self.connection.url)
        restarts = c.attrs.get("RestartCount", 0)
        last = "the port never took connections"

        def last_words() -> str:
            return c.logs(tail=15).decode(errors="replace").strip()

        while True:
            c.reload()
            if c.status not in ("running", "restarting", "created"):
                raise TargetError(
                    f"container {c.name} is {c.status} (exit code {c.attrs['State'].get('ExitCode')})"
                    f" instead of starting Neo4j; its last output:\n{last_words()}"
                )
            if c.attrs.get("RestartCount", 0) > restarts:
                raise TargetError(
                    f"Neo4j in container {c.name} exited (code {c.attrs['State'].get('ExitCode')}) "
                    f"and Docker restarted it; its last output:\n{last_words()}"
                )
            # Only query once the port takes connections: the driver's own retries back off for up to 30 s.
            if _port_open(url.hostname or "127.0.0.1", url.port or 7687):
                try:
                    super().wait_for_bolt(timeout=max(min(10.0, deadline - time.monotonic()), 0.5))
                    return
                except TargetError as exc:
                    last = str(exc)
            if time.monotonic() >= deadline:
                raise TargetError(
                    f"Neo4j in container {c.name} did not answer on {mask_url(self.connection.url)} "
                    f"within {limit:.0f} s ({last}); its last output:\n{last_words()}"
                )
            time.sleep(0.25)

    def neo4j_version(self) -> str:
        c = self.container()
        version = image_version(self._image(c))
        if not version:
            raise TargetError(
                f"cannot tell the Neo4j version of image {self._image_name(c)} (no NEO4J_VERSION, no "
                f"version label, no version tag)"
            )
        return version

    @property
    def data_dir(self) -> Path:
        if self._data_dir_override:
            return Path(self._data_dir_override)
        return self._mount_source(self.container(), CONTAINER_DATA_DIR)

    @property
    def host_data_dir(self) -> Path:
        return self._mount_source(self.container(), CONTAINER_DATA_DIR)

    @property
    def admin_backup_dir(self) -> PurePosixPath:
        return CONTAINER_BACKUP_DIR

    def data_owner(self) -> tuple[int, int]:
        """The ``user:`` the Neo4j container runs as (compose's ``USER_ID:GROUP_ID``), else the data dir's owner."""
        c = self.container()
        user = (c.attrs.get("Config") or {}).get("User") or ""
        uid, _, gid = user.partition(":")
        if uid.isdigit():
            return int(uid), int(gid) if gid.isdigit() else int(uid)
        try:
            st = self.data_dir.stat()
        except OSError as exc:
            raise TargetError(
                f"container {c.name} runs as {user or 'the image default user'} and the data "
                f"directory {self.data_dir} cannot be read to find its owner: {exc}"
            ) from None
        return st.st_uid, st.st_gid

    # -- switching the Neo4j version (operations/upgrades/neo4j_data.py) -----------------------------------------
    def image_for(self, version: str) -> tuple[str, Any]:
        """(name, image) of a local image of Neo4j ``version``: ``<repo>:<major.minor>`` or ``<repo>:<version>``, for
        the repository the container's image comes from and ``neo4j``, holding exactly that version."""
        client = self.client()
        repos = ["neo4j"]
        try:
            current = self._image_name(self.container())
            repo, _, tag = current.rpartition(":")
            if repo and "/" not in tag and repo not in repos:
                repos.insert(0, repo)
        except TargetError:
            pass
        tried = []
        for repo in repos:
            for tag in dict.fromkeys([_major_minor(version), version]):
                name = f"{repo}:{tag}"
                try:
                    image = client.images.get(name)
                except docker.errors.ImageNotFound:
                    tried.append(name)
                    continue
                except docker.errors.APIError as exc:
                    raise TargetError(
                        f"inspecting image {name} on {self.engine} failed: {exc.explanation or exc}"
                    ) from None
                if image_version(image) == version:
                    return name, image
                tried.append(f"{name} (holds Neo4j {image_version(image) or 'of unknown version'})")
        raise TargetError(
            f"no image of Neo4j {version} on {self.engine} (looked for {', '.join(tried)}); pull it "
            f"first: docker pull neo4j:{version}"
        )

    def check_neo4j_version(self, version: str) -> list[str]:
        problems = []
        try:
            self.image_for(version)
        except TargetError as exc:
            problems.append(str(exc))
        if self.admin_image_override:
            problems.append(
                f"PORTAL_NEO4J_ADMIN_IMAGE is set ({self.admin_image_override}): neo4j-admin must come "
                f"from each version's own image while the version changes; unset it for the migration"
            )
        env_file = self.compose_env_file
        if env_file and not (env_file.is_file() and os.access(env_file.parent, os.W_OK)):
            problems.append(
                f"PORTAL_COMPOSE_ENV_FILE names {env_file}, which is not a file in a directory the "
                f"portal can write; the switch must update its {IMAGE_VARIABLE} line"
            )
        return problems

    def switch_description(self, version: str) -> str:
        try:
            name = self.container().name
        except TargetError:
            name = f"the {self.service} container"
        try:
            image = self.image_for(version)[0]
        except TargetError:
            image = f"neo4j:{_major_minor(version)}"
        return (
            f"re-create {name} on image {image} with the same name, labels, environment, user, mounts, restart "
            f"policy and networks (created, not started); {self._env_file_plan(image)}"
        )

    def use_neo4j_version(self, version: str) -> str:
        old = self.container()
        if self.is_up():
            raise TargetError(f"container {old.name} must be stopped before switching it to Neo4j {version}")
        name, image = self.image_for(version)
        done = self._remove_replaced()
        old.reload()
        if (
            old.attrs.get("Image") == image.id
            and self._image_name(old) == name
            and not old.name.endswith(REPLACED_SUFFIX)
        ):
            done.append(f"container {old.name} already runs {name}")
        else:
            before = self._image_name(old)
            new = self._recreate(old, name, version)
            done.append(f"container {new.name} re-created on {name} (was {before}); not started")
        done.append(self._update_env_file(name))
        return "; ".join(done)

    def version_follow_up(self, version: str) -> str:
        if self.compose_env_file:
            return ""
        try:
            image = self._image_name(self.container())
        except TargetError:
            image = f"neo4j:{_major_minor(version)}"
        return self._env_file_plan(image)

    def _env_file_plan(self, image: str) -> str:
        if self.compose_env_file:
            return f"{IMAGE_VARIABLE}={image} written to {self.compose_env_file}"
        return (
            f"set {IMAGE_VARIABLE}={image} in the deployment's .env by hand (PORTAL_COMPOSE_ENV_FILE is not "
            f"set), or the next docker-compose up may re-create the container on another image than {image}"
        )

    def _update_env_file(self, image: str) -> str:
        """Point compose's ``.env`` at ``image``: replace the NEO4J_DOCKER_IMAGE line (or add one), atomically."""
        path = self.compose_env_file
        if path is None:
            return self._env_file_plan(image)
        try:
            text = path.read_text()
        except OSError as exc:
            raise TargetError(f"reading {path} (PORTAL_COMPOSE_ENV_FILE) failed: {exc}") from None
        pattern = re.compile(rf"^(\s*(?:export\s+)?){IMAGE_VARIABLE}\s*=.*$", re.MULTILINE)
        new, count = pattern.subn(lambda m: f"{m.group(1)}{IMAGE_VARIABLE}={image}", text)
        if count == 0:
            new = text + ("" if text.endswith("\n") or not text else "\n") + f"{IMAGE_VARIABLE}={image}\n"
        if new != text:
            try:
                _replace_file(path, new)
            except OSError as exc:
                raise TargetError(f"writing {path} (PORTAL_COMPOSE_ENV_FILE) failed: {exc}") from None
        return self._env_file_plan(image)

    def _remove_replaced(self) -> list[str]:
        """Predecessors a killed switch left behind once their successor existed (see ``container``)."""
        done = []
        label = [f"{PROJECT_LABEL}={self.project}", f"{SERVICE_LABEL}={self.service}"]
        found = self.client().containers.list(all=True, filters={"label": label})
        if len(found) > 1:
            for c in found:
                if c.name.endswith(REPLACED_SUFFIX):
                    c.remove(force=True)
                    done.append(f"removed {c.name}, left by an interrupted switch")
        return done

    def _recreate(self, old, image_name: str, version: str):
        """Replace ``old`` by a container of ``image_name`` made from the same compose settings.

        The old one is renamed first and removed only once its successor exists, so a failure leaves it in place
        (renamed back) and a kill in between leaves both, which ``container()`` and ``_remove_replaced`` sort out.
        """
        client = self.client()
        name = old.name[: -len(REPLACED_SUFFIX)] if old.name.endswith(REPLACED_SUFFIX) else old.name
        config, extra_networks = self._create_config(old, image_name, version)
        try:
            if old.name != name + REPLACED_SUFFIX:
                old.rename(name + REPLACED_SUFFIX)
        except docker.errors.APIError as exc:
            raise TargetError(f"renaming container {old.name} aside failed: {exc.explanation or exc}") from None
        created = None
        try:
            created = client.api.create_container_from_config(config, name=name)["Id"]
            for network, endpoint in extra_networks.items():
                client.api.connect_container_to_network(
                    created,
                    network,
                    aliases=endpoint.get("Aliases"),
                    links=endpoint.get("Links"),
                    ipv4_address=(endpoint.get("IPAMConfig") or {}).get("IPv4Address"),
                    ipv6_address=(endpoint.get("IPAMConfig") or {}).get("IPv6Address"),
                )
        except docker.errors.APIError as exc:
            if created:
                client.api.remove_container(created, force=True)
            old.rename(name)
            raise TargetError(
                f"re-creating container {name} on {image_name} failed (the old container is kept as "
                f"it was): {exc.explanation or exc}"
            ) from None
        try:
            old.remove()
        except docker.errors.APIError:
            pass  # its successor exists and is the container now; the next switch removes it (_remove_replaced)
        return client.containers.get(created)

    def _create_config(self, old, image_name: str, version: str) -> tuple[dict[str, Any], dict[str, dict]]:
        """The engine's create request for ``old``'s successor, and the networks to connect it to afterwards."""
        try:
            old_image = self.client().images.get(old.attrs["Image"]).attrs.get("Config") or {}
        except docker.errors.ImageNotFound:
            raise TargetError(
                f"the image of container {old.name} ({self._image_name(old)}) is gone, so what it "
                f"supplied cannot be told from what compose set; pull it again"
            ) from None
        config = dict(old.attrs.get("Config") or {})
        config["Image"] = image_name
        image_env = set(old_image.get("Env") or [])
        config["Env"] = translate_settings([e for e in config.get("Env") or [] if e not in image_env], version)
        image_labels = old_image.get("Labels") or {}
        config["Labels"] = {k: v for k, v in (config.get("Labels") or {}).items() if image_labels.get(k) != v}
        # What the old image supplied comes from the new image instead.
        for key in (
            "Cmd",
            "Entrypoint",
            "WorkingDir",
            "ExposedPorts",
            "Volumes",
            "Healthcheck",
            "StopSignal",
            "Shell",
            "OnBuild",
        ):
            if key in config and config[key] == old_image.get(key):
                del config[key]
        host = dict(old.attrs.get("HostConfig") or {})
        mode = host.get("NetworkMode") or ""
        # The engine named the old container after its id, or after the host: neither is compose's setting.
        if mode == "host" or mode.startswith("container:") or config.get("Hostname") == old.id[:12]:
            config.pop("Hostname", None)
            config.pop("Domainname", None)
        config["HostConfig"] = host
        endpoints = {}
        for network, endpoint in ((old.attrs.get("NetworkSettings") or {}).get("Networks") or {}).items():
            aliases = [a for a in endpoint.get("Aliases") or [] if a not in (old.id[:12], old.id)]
            endpoints[network] = {
                "Aliases": aliases or None,
                "Links": endpoint.get("Links"),
                "IPAMConfig": endpoint.get("IPAMConfig"),
                "DriverOpts": endpoint.get("DriverOpts"),
            }
        primary = mode if mode in endpoints else None
        if primary:
            config["NetworkingConfig"] = {"EndpointsConfig": {primary: endpoints.pop(primary)}}
        elif mode in ("host", "none"):
            endpoints.pop(mode, None)
        return config, endpoints

    # -- neo4j-admin in a one-off container -------------------------------------------------------------------
    def _image(self, container):
        name = self.admin_image_override
        try:
            return self.client().images.get(name) if name else container.image
        except docker.errors.ImageNotFound:
            if name:
                raise TargetError(
                    f"the image {name} (PORTAL_NEO4J_ADMIN_IMAGE) is not on {self.engine}; pull or build it first"
                ) from None
            raise TargetError(
                f"the image of container {container.name} ({self._image_name(container)}) is no longer "
                f"on {self.engine}; pull it again (NEO4J_DOCKER_IMAGE)"
            ) from None

    def _image_name(self, container) -> str:
        if self.admin_image_override:
            return self.admin_image_override
        return (container.attrs.get("Config") or {}).get("Image") or container.attrs.get("Image", "?")

    def _job_spec(self) -> dict[str, Any]:
        c = self.container()
        uid, gid = self.data_owner()
        return {
            "image": self._image(c).id,
            "image_name": self._image_name(c),
            "user": f"{uid}:{gid}",
            "volumes": {
                str(self.host_data_dir): {"bind": CONTAINER_DATA_DIR, "mode": "rw"},
                str(self.host_backup_dir): {"bind": str(CONTAINER_BACKUP_DIR), "mode": "rw"},
            },
        }

    def admin_command(self, args: list[str], image: str | None = None) -> list[str]:
        """The equivalent ``docker run`` line (what staff would type by hand); placeholders if Docker is away."""
        try:
            spec = self._job_spec()
            user, image = spec["user"], image or spec["image_name"]
            volumes = [f"{src}:{v['bind']}" for src, v in spec["volumes"].items()]
        except TargetError:
            user, image = "USER_ID:GROUP_ID", image or IMAGE_VARIABLE
            volumes = [f"NEO4J_DATA_STORE:{CONTAINER_DATA_DIR}", f"{self.host_backup_dir}:{CONTAINER_BACKUP_DIR}"]
        line = ["docker", "run", "--rm", "--network", "none", "--user", user]
        for v in volumes:
            line += ["-v", v]
        return [*line, "--entrypoint", "neo4j-admin", image, *args]

    def admin_command_for(self, version: str, args: list[str]) -> list[str]:
        """The ``docker run`` line once the container runs ``version`` (its image, or the name to pull)."""
        try:
            image = self.image_for(version)[0]
        except TargetError:
            image = f"neo4j:{_major_minor(version)}"
        return self.admin_command(args, image=image)

    def run_job(self, entrypoint: list[str], args: list[str], *, user: str | None = None) -> AdminResult:
        """Run ``entrypoint ARGS`` in a one-off container of the Neo4j image with no network; output captured."""
        spec = self._job_spec()
        command = ["docker", "run", "--network", "none", "--user", user or spec["user"], *entrypoint, *args]
        returncode, output = self._run_container(
            spec["image"],
            args,
            what="neo4j-admin",
            entrypoint=entrypoint,
            user=user or spec["user"],
            volumes=spec["volumes"],
            network_mode="none",
            working_dir="/var/lib/neo4j",
            # Java's logging looks its own host name up; with no network only localhost resolves.
            hostname="localhost",
        )
        return AdminResult(command=command, returncode=returncode, output=output)

    def _run_container(
        self, image: str, args: list[str], *, what: str, timeout: float | None = None, **create: Any
    ) -> tuple[int, str]:
        """Create, run and remove one labelled one-off container; (exit code, stdout and stderr)."""
        client = self.client()
        try:
            job = client.containers.create(
                image, command=args, labels={JOB_LABEL: f"{self.project}/{self.service}"}, **create
            )
        except docker.errors.APIError as exc:
            raise TargetError(f"creating the {what} container failed: {exc.explanation or exc}") from None
        try:
            job.start()
            try:
                status = job.wait(timeout=timeout)
            except requests.exceptions.RequestException:  # the SDK's read timeout
                job.kill()
                raise TargetError(
                    f"the {what} container did not finish within {timeout:.0f} s and was stopped; "
                    f"its last output:\n{job.logs(tail=15).decode(errors='replace')}"
                ) from None
            output = job.logs(stdout=True, stderr=True).decode(errors="replace")
            return int(status.get("StatusCode", 1)), output
        except docker.errors.APIError as exc:
            raise TargetError(f"running the {what} container failed: {exc.explanation or exc}") from None
        finally:
            self._remove_job(job)

    @staticmethod
    def _remove_job(job, attempts: int = 20) -> None:
        """Remove a finished one-off container. The engine may refuse for a moment (its log copier or a removal
        already in progress), so retry briefly; a container that is already gone is what we want."""
        for _ in range(attempts):
            try:
                job.remove(force=True)
                return
            except docker.errors.NotFound:
                return
            except docker.errors.APIError:
                time.sleep(0.25)  # still there after all attempts: the next stop_admin sweeps it

    def admin(self, args: list[str]) -> AdminResult:
        result = self.run_job(["neo4j-admin"], args)
        return AdminResult(command=self.admin_command(args), returncode=result.returncode, output=result.output)

    def _container_path(self, path: Path) -> str:
        """``path`` (portal view, under the backups or the data directory) as a one-off container sees it."""
        path = Path(path).resolve()
        for portal, inside in (
            (self.backup_dir.resolve(), CONTAINER_BACKUP_DIR),
            (self.data_dir.resolve(), PurePosixPath(CONTAINER_DATA_DIR)),
        ):
            try:
                return str(inside.joinpath(*path.relative_to(portal).parts))
            except ValueError:
                continue
        raise TargetError(f"{path} is neither under the backups directory nor under the data directory")

    def fix_ownership(self, paths: list[Path]) -> str:
        """chown in a one-off root container: the portal itself need not run as root to hand files to Neo4j."""
        existing = [p for p in paths if Path(p).exists()]
        if not existing:
            return "nothing to give back"
        uid, gid = self.data_owner()
        result = self.run_job(
            ["chown"], ["-R", f"{uid}:{gid}", *(self._container_path(p) for p in existing)], user="0:0"
        )
        if not result.ok:
            raise TargetError(
                f"giving {', '.join(map(str, existing))} to uid {uid} gid {gid} failed: {result.output.strip()}"
            )
        return f"{', '.join(map(str, existing))} given to uid {uid} gid {gid} (recursively)"

    # -- the scratch Neo4j a verification loads a dump into (docs/verification.md) -----------------------------
    # One-off containers of the deployment's image with no network, mounting only the scratch directory (as
    # /scratch) and its data/ subdirectory as the data directory: the live store and other backups are not visible.
    SCRATCH_MOUNT = PurePosixPath("/scratch")

    def _scratch_host(self) -> Path:
        return self.host_backup_dir / self.scratch_dir().relative_to(self.backup_dir)

    def _scratch_volumes(self) -> dict[str, dict[str, str]]:
        host = self._scratch_host()
        return {
            str(host): {"bind": str(self.SCRATCH_MOUNT), "mode": "rw"},
            str(host / "data"): {"bind": CONTAINER_DATA_DIR, "mode": "rw"},
        }

    def scratch_path(self, path: Path) -> str:
        return str(self.SCRATCH_MOUNT.joinpath(*Path(path).relative_to(self.scratch_dir()).parts))

    def scratch_admin_command(self, args: list[str]) -> list[str]:
        try:
            user, image = self._job_spec()["user"], self._job_spec()["image_name"]
        except TargetError:
            user, image = "USER_ID:GROUP_ID", IMAGE_VARIABLE
        line = ["docker", "run", "--rm", "--network", "none", "--user", user]
        for src, v in self._scratch_volumes().items():
            line += ["-v", f"{src}:{v['bind']}"]
        return [*line, "--entrypoint", "neo4j-admin", image, *args]

    def _scratch_ready(self) -> dict[str, Any]:
        (self.scratch_dir() / "data").mkdir(parents=True, exist_ok=True)
        self.fix_ownership([self.scratch_dir()])  # the jobs run as the data owner
        return self._job_spec()

    def scratch_admin(self, args: list[str]) -> AdminResult:
        spec = self._scratch_ready()
        returncode, output = self._run_container(
            spec["image"],
            args,
            what="scratch neo4j-admin",
            entrypoint=["neo4j-admin"],
            user=spec["user"],
            volumes=self._scratch_volumes(),
            network_mode="none",
            working_dir="/var/lib/neo4j",
            hostname="localhost",
        )
        return AdminResult(command=self.scratch_admin_command(args), returncode=returncode, output=output)

    # Asked from inside the scratch container over its own loopback (it has no other network, and the image has no
    # Cypher client): bash's /dev/tcp and Neo4j's HTTP API.
    COUNT_SCRIPT = (
        'body=\'{"statements":[{"statement":"MATCH (n) RETURN count(n)"},'
        '{"statement":"MATCH ()-[r]->() RETURN count(r)"}]}\'; '
        'exec 3<>/dev/tcp/127.0.0.1/7474 || exit 7; '
        'printf "POST /db/%s/tx/commit HTTP/1.0\\r\\nHost: localhost\\r\\nContent-Type: application/json\\r\\n'
        'Accept: application/json\\r\\nContent-Length: %d\\r\\n\\r\\n%s" "$1" "${#body}" "$body" >&3; cat <&3'
    )

    def scratch_counts(self) -> tuple[int, int]:
        return self._count_in(self._scratch_ready(), self._scratch_volumes())

    def _count_in(self, spec: dict[str, Any], volumes: dict[str, dict[str, str]]) -> tuple[int, int]:
        """(nodes, relationships) from a Neo4j container of the deployment's image on ``volumes`` (no network),
        removed again before returning."""
        import json

        client = self.client()
        try:
            # Authentication off is safe here: nothing outside the container can reach it (network none).
            job = client.containers.create(
                spec["image"],
                labels={JOB_LABEL: f"{self.project}/{self.service}"},
                user=spec["user"],
                volumes=volumes,
                network_mode="none",
                hostname="localhost",
                environment={"NEO4J_AUTH": "none"},
            )
        except docker.errors.APIError as exc:
            raise TargetError(f"creating the scratch Neo4j container failed: {exc.explanation or exc}") from None
        try:
            job.start()
            deadline = time.monotonic() + self.start_timeout
            last = ""
            while time.monotonic() < deadline:
                job.reload()
                if job.status not in ("created", "running"):
                    raise TargetError(f"the scratch Neo4j exited: {job.logs(tail=15).decode(errors='replace')}")
                code, out = job.exec_run(["bash", "-c", self.COUNT_SCRIPT, "count", self.connection.database])
                text = out.decode(errors="replace")
                body = text.partition("\r\n\r\n")[2]
                if code == 0 and body.startswith("{"):
                    answer = json.loads(body)
                    if not answer.get("errors"):
                        nodes, rels = (r["data"][0]["row"][0] for r in answer["results"])
                        return int(nodes), int(rels)
                    last = str(answer["errors"])
                else:
                    last = text.strip()[-300:]
                time.sleep(1)
            raise TargetError(f"the scratch Neo4j did not answer within {self.start_timeout:.0f} s: {last}")
        except docker.errors.APIError as exc:
            raise TargetError(f"the scratch Neo4j container: {exc.explanation or exc}") from None
        finally:
            self._remove_job(job)

    # -- side stores: the snapshot a backup dumps and the staging a restore loads (docs/outage.md) -------------
    # One-off containers of the deployment's image with no network, mounting the side store's data/ as the data
    # directory and the backups directory where admin jobs always see it: the live store is not visible to them.
    def _side_volumes(self, root: Path) -> dict[str, dict[str, str]]:
        host = self.host_data_dir / Path(root).resolve().relative_to(self.data_dir.resolve()) / "data"
        return {
            str(host): {"bind": CONTAINER_DATA_DIR, "mode": "rw"},
            str(self.host_backup_dir): {"bind": str(CONTAINER_BACKUP_DIR), "mode": "rw"},
        }

    def _side_ready(self, root: Path) -> dict[str, Any]:
        data = Path(root) / "data"
        if not data.exists():
            data.mkdir(parents=True)
            self.fix_ownership([root])  # the jobs run as the data owner
        return self._job_spec()

    def side_admin_command(self, root: Path, args: list[str]) -> list[str]:
        try:
            user, image = self._job_spec()["user"], self._job_spec()["image_name"]
        except TargetError:
            user, image = "USER_ID:GROUP_ID", IMAGE_VARIABLE
        line = ["docker", "run", "--rm", "--network", "none", "--user", user]
        try:
            volumes = self._side_volumes(root)
        except TargetError:
            volumes = {f"NEO4J_DATA_STORE/{Path(root).name}/data": {"bind": CONTAINER_DATA_DIR}}
        for src, v in volumes.items():
            line += ["-v", f"{src}:{v['bind']}"]
        return [*line, "--entrypoint", "neo4j-admin", image, *args]

    def side_admin(self, root: Path, args: list[str]) -> AdminResult:
        spec = self._side_ready(root)
        returncode, output = self._run_container(
            spec["image"],
            args,
            what="neo4j-admin on a side store",
            entrypoint=["neo4j-admin"],
            user=spec["user"],
            volumes=self._side_volumes(root),
            network_mode="none",
            working_dir="/var/lib/neo4j",
            hostname="localhost",
        )
        return AdminResult(command=self.side_admin_command(root, args), returncode=returncode, output=output)

    def side_counts(self, root: Path) -> tuple[int, int]:
        return self._count_in(self._side_ready(root), self._side_volumes(root))

    def stop_side(self, root: Path) -> list[str]:
        # One run at a time holds the target, so every one-off container of it is that run's.
        return self.stop_admin()

    # -- alchemiscale's CLI in a one-off container of its image -----------------------------------------------
    @staticmethod
    def _job_image(job) -> str:
        return (job.attrs.get("Config") or {}).get("Image") or "?"

    def _alchemiscale_image(self):
        try:
            return self.client().images.get(self.alchemiscale_image)
        except docker.errors.ImageNotFound:
            raise TargetError(
                f"the alchemiscale-server image {self.alchemiscale_image} (PORTAL_ALCHEMISCALE_IMAGE) "
                f"is not on {self.engine}; pull it: docker pull {self.alchemiscale_image}"
            ) from None

    def _alchemiscale_network(self) -> tuple[str, str]:
        """(network for the job, NEO4J_URL inside it): the deployment's database network and the service's name,
        or host networking and the portal's own URL when the Neo4j container itself uses host networking."""
        c = self.container()
        if (c.attrs.get("HostConfig") or {}).get("NetworkMode") == "host":
            return "host", self.connection.url
        try:
            self.client().networks.get(self.db_network)
        except docker.errors.NotFound:
            raise TargetError(
                f"the deployment's database network {self.db_network} (PORTAL_DOCKER_DB_NETWORK) does "
                f"not exist on {self.engine}; is the deployment up (docker-compose up neo4j)?"
            ) from None
        attached = sorted((c.attrs.get("NetworkSettings") or {}).get("Networks") or {})
        if self.db_network not in attached:
            raise TargetError(
                f"container {c.name} is not on the network {self.db_network} (it is on: "
                f"{', '.join(attached) or 'none'}); set PORTAL_DOCKER_DB_NETWORK to its database "
                f"network"
            )
        return self.db_network, f"bolt://{self.service}:{BOLT_PORT}"

    def alchemiscale_problems(self) -> list[str]:
        problems = []
        for check in (self._alchemiscale_image, self._alchemiscale_network):
            try:
                check()
            except TargetError as exc:
                problems.append(str(exc))
        return problems

    def alchemiscale_command(self, args: list[str]) -> list[str]:
        """The guide's ``docker run`` line; ``-e NEO4J_PASS`` without a value takes it from the caller's
        environment, so the password is never part of the line. Placeholders where Docker cannot tell."""
        try:
            network, url = self._alchemiscale_network()
        except TargetError:
            network, url = self.db_network, f"bolt://{self.service}:{BOLT_PORT}"
        line = ["docker", "run", "--rm", "--network", network]
        for name, value in self.alchemiscale_env(url).items():
            line += ["-e", name if name == "NEO4J_PASS" else f"{name}={value}"]
        return [*line, self.alchemiscale_image, *args]

    def alchemiscale_is_standin(self) -> bool:
        try:
            image = self.client().images.get(self.alchemiscale_image)
        except (TargetError, docker.errors.APIError):
            return False
        return STANDIN_IMAGE_LABEL in ((image.attrs.get("Config") or {}).get("Labels") or {})

    def run_alchemiscale(self, args: list[str]) -> AdminResult:
        image = self._alchemiscale_image()
        network, url = self._alchemiscale_network()
        # Docker refuses a host name with host networking; the image's own user and working directory apply.
        create: dict[str, Any] = {"network_mode": "host"} if network == "host" else {"network": network}
        returncode, output = self._run_container(
            image.id,
            args,
            what="alchemiscale",
            environment=self.alchemiscale_env(url),
            timeout=self.alchemiscale_timeout,
            **create,
        )
        return AdminResult(
            command=self.alchemiscale_command(args), returncode=returncode, output=self.mask_password(output)
        )
