"""One-off job containers: neo4j-admin (and chown) beside the stopped Neo4j container, and sweeping up orphans.

``neo4j-admin`` runs in a one-off container of the same image as the Neo4j container (so of the store's Neo4j
version), with the data directory and the backups directory mounted, as the data owner (so no chown is needed
afterwards), and with no network at all. Every one-off container this package starts (neo4j-admin, chown, the
scratch Neo4j of a verification, alchemiscale's CLI) carries ``JOB_LABEL`` and is removed when its job ends;
:meth:`Jobs.sweep` removes the ones a dead worker left behind.

Paths: the mounts' sources are *host* paths; ``PORTAL_DOCKER_BACKUP_HOST_DIR`` (``host_backup_dir``) exists for
deployments that mount the backups directory into the portal's containers elsewhere than on the host.
"""

from __future__ import annotations

import os
import time
from pathlib import Path, PurePosixPath
from typing import Any

from ..base import AdminResult, TargetError, not_owned_by
from .compose_env import IMAGE_VARIABLE
from .discovery import CONTAINER_DATA_DIR, Discovery
from .sdk import docker, requests

#: where the one-off neo4j-admin containers see the backups directory
CONTAINER_BACKUP_DIR = PurePosixPath("/backups")
#: label put on every one-off container this target starts, so they can be found (and cleaned up) by it
JOB_LABEL = "org.alchemiscale-portal.job"


def chown_here() -> bool:
    """Whether this process may chown itself (root) rather than in a container."""
    return os.geteuid() == 0


def job_image(job) -> str:
    """The image a job container was created from, for messages."""
    return (job.attrs.get("Config") or {}).get("Image") or "?"


def remove_job(job, attempts: int = 20) -> None:
    """Remove a finished one-off container. The engine may refuse for a moment (its log copier or a removal already
    in progress), so retry briefly; a container that is already gone is what we want."""
    for _ in range(attempts):
        try:
            job.remove(force=True)
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError:
            time.sleep(0.25)  # still there after all attempts: the next sweep removes it


class Jobs:
    """One-off containers for the deployment ``discovery`` finds; ``backup_dir`` is the portal's view of the
    backups directory, ``host_backup_dir`` the engine's."""

    def __init__(self, discovery: Discovery, backup_dir: Path, host_backup_dir: Path):
        self.discovery = discovery
        self.backup_dir = Path(backup_dir)
        self.host_backup_dir = Path(host_backup_dir)

    @property
    def label(self) -> str:
        """``JOB_LABEL``'s value on this deployment's jobs."""
        return f"{self.discovery.project}/{self.discovery.service}"

    def run_container(
        self, image: str, args: list[str], *, what: str, timeout: float | None = None, **create: Any
    ) -> tuple[int, str]:
        """Create, run and remove one labelled one-off container; (exit code, stdout and stderr)."""
        client = self.discovery.client()
        try:
            job = client.containers.create(image, command=args, labels={JOB_LABEL: self.label}, **create)
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
            remove_job(job)

    def sweep(self) -> list[str]:
        """Remove the one-off containers (neo4j-admin, alchemiscale) a worker killed mid-run left behind: running
        ones hold the store, and exited ones (the job ended after its worker died) would otherwise pile up."""
        done = []
        label = f"{JOB_LABEL}={self.label}"
        for job in self.discovery.client().containers.list(all=True, filters={"label": label}):
            state = job.status
            remove_job(job)
            done.append(f"removed the orphaned one-off container {job.name} ({state}, {job_image(job)})")
        return done

    # -- neo4j-admin beside the store ----------------------------------------------------------------------------
    def spec(self) -> dict[str, Any]:
        """Image, user and mounts of a neo4j-admin job."""
        d = self.discovery
        c = d.container()
        uid, gid = d.data_owner()
        return {
            "image": d.image(c).id,
            "image_name": d.image_name(c),
            "user": f"{uid}:{gid}",
            "volumes": {
                str(d.host_data_dir): {"bind": CONTAINER_DATA_DIR, "mode": "rw"},
                str(self.host_backup_dir): {"bind": str(CONTAINER_BACKUP_DIR), "mode": "rw"},
            },
        }

    def admin_command(self, args: list[str], image: str | None = None) -> list[str]:
        """The equivalent ``docker run`` line (what staff would type by hand); placeholders if Docker is away."""
        try:
            spec = self.spec()
            user, image = spec["user"], image or spec["image_name"]
            volumes = [f"{src}:{v['bind']}" for src, v in spec["volumes"].items()]
        except TargetError:
            user, image = "USER_ID:GROUP_ID", image or IMAGE_VARIABLE
            volumes = [f"NEO4J_DATA_STORE:{CONTAINER_DATA_DIR}", f"{self.host_backup_dir}:{CONTAINER_BACKUP_DIR}"]
        line = ["docker", "run", "--rm", "--network", "none", "--user", user]
        for v in volumes:
            line += ["-v", v]
        return [*line, "--entrypoint", "neo4j-admin", image, *args]

    def run_job(self, entrypoint: list[str], args: list[str], *, user: str | None = None) -> AdminResult:
        """Run ``entrypoint ARGS`` in a one-off container of the Neo4j image with no network; output captured."""
        spec = self.spec()
        command = ["docker", "run", "--network", "none", "--user", user or spec["user"], *entrypoint, *args]
        returncode, output = self.run_container(
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

    def admin(self, args: list[str]) -> AdminResult:
        result = self.run_job(["neo4j-admin"], args)
        return AdminResult(command=self.admin_command(args), returncode=result.returncode, output=result.output)

    def container_path(self, path: Path) -> str:
        """``path`` (portal view, under the backups or the data directory) as a one-off container sees it."""
        path = Path(path).resolve()
        for portal, inside in (
            (self.backup_dir.resolve(), CONTAINER_BACKUP_DIR),
            (self.discovery.data_dir.resolve(), PurePosixPath(CONTAINER_DATA_DIR)),
        ):
            try:
                return str(inside.joinpath(*path.relative_to(portal).parts))
            except ValueError:
                continue
        raise TargetError(f"{path} is neither under the backups directory nor under the data directory")

    def fix_ownership(self, paths: list[Path]) -> str:
        """Give ``paths`` to the data owner: nothing to do when every file is its already (``cp -a`` as root keeps
        owners); a chown here when this process is root (the compose deployment's worker is); otherwise a chown in
        a one-off root container, so the portal need not run as root to hand files to Neo4j. A container costs about
        a second, and some of these calls fall inside an outage (the short-outage backup's copy)."""
        existing = [p for p in paths if Path(p).exists()]
        if not existing:
            return "nothing to give back"
        uid, gid = self.discovery.data_owner()
        names = ", ".join(map(str, existing))
        try:
            wrong: list[str] | None = not_owned_by(existing, uid, gid)
        except OSError:  # a directory this process may not read: the container can
            wrong = None
        if wrong == []:
            return f"{names} already owned by uid {uid} gid {gid}"
        if wrong is not None and chown_here():
            for name in wrong:
                os.lchown(name, uid, gid)
            return f"{names} given to uid {uid} gid {gid} ({len(wrong)} file(s), here)"
        result = self.run_job(
            ["chown"], ["-R", f"{uid}:{gid}", *(self.container_path(p) for p in existing)], user="0:0"
        )
        if not result.ok:
            raise TargetError(f"giving {names} to uid {uid} gid {gid} failed: {result.output.strip()}")
        return f"{names} given to uid {uid} gid {gid} (recursively, in a one-off container)"
