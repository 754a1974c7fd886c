"""The scratch Neo4j a verification loads a dump into (docs/verification.md), in one-off containers.

One-off containers of the deployment's image with no network, mounting only the scratch directory (as ``/scratch``)
and its ``data/`` subdirectory as the data directory: the live store and other backups are not visible. The counts
are asked from inside the scratch container over its own loopback (it has no other network, and the image has no
Cypher client): bash's ``/dev/tcp`` and Neo4j's HTTP API.
"""

from __future__ import annotations

import json
import time
from pathlib import Path, PurePosixPath
from typing import Any

from ..base import COUNT_STATEMENTS, AdminResult, TargetError, counted
from .compose_env import IMAGE_VARIABLE
from .discovery import CONTAINER_DATA_DIR
from .jobs import JOB_LABEL, Jobs, remove_job
from .sdk import docker

SCRATCH_MOUNT = PurePosixPath("/scratch")

# Inside the scratch container (no network, no curl): POST the JSON body $2 to the HTTP API's transaction endpoint
# of database $1 with bash's /dev/tcp, print the answer. ${#body} counts characters: the body is kept ASCII.
READ_SCRIPT = (
    'body="$2"; '
    'exec 3<>/dev/tcp/127.0.0.1/7474 || exit 7; '
    'printf "POST /db/%s/tx/commit HTTP/1.0\\r\\nHost: localhost\\r\\nContent-Type: application/json\\r\\n'
    'Accept: application/json\\r\\nContent-Length: %d\\r\\n\\r\\n%s" "$1" "${#body}" "$body" >&3; cat <&3'
)


class Scratch:
    """The scratch store in ``scratch_dir`` (portal view, under the backups directory), run by ``jobs``."""

    def __init__(self, jobs: Jobs, scratch_dir: Path):
        self.jobs = jobs
        self.scratch_dir = Path(scratch_dir)

    def host_dir(self) -> Path:
        return self.jobs.host_backup_dir / self.scratch_dir.relative_to(self.jobs.backup_dir)

    def volumes(self) -> dict[str, dict[str, str]]:
        host = self.host_dir()
        return {
            str(host): {"bind": str(SCRATCH_MOUNT), "mode": "rw"},
            str(host / "data"): {"bind": CONTAINER_DATA_DIR, "mode": "rw"},
        }

    def path(self, path: Path) -> str:
        return str(SCRATCH_MOUNT.joinpath(*Path(path).relative_to(self.scratch_dir).parts))

    def admin_command(self, args: list[str]) -> list[str]:
        try:
            spec = self.jobs.spec()
            user, image = spec["user"], spec["image_name"]
        except TargetError:
            user, image = "USER_ID:GROUP_ID", IMAGE_VARIABLE
        line = ["docker", "run", "--rm", "--network", "none", "--user", user]
        for src, v in self.volumes().items():
            line += ["-v", f"{src}:{v['bind']}"]
        return [*line, "--entrypoint", "neo4j-admin", image, *args]

    def ready(self) -> dict[str, Any]:
        (self.scratch_dir / "data").mkdir(parents=True, exist_ok=True)
        self.jobs.fix_ownership([self.scratch_dir])  # the jobs run as the data owner
        return self.jobs.spec()

    def admin(self, args: list[str]) -> AdminResult:
        spec = self.ready()
        returncode, output = self.jobs.run_container(
            spec["image"],
            args,
            what="scratch neo4j-admin",
            entrypoint=["neo4j-admin"],
            user=spec["user"],
            volumes=self.volumes(),
            network_mode="none",
            working_dir="/var/lib/neo4j",
            hostname="localhost",
        )
        return AdminResult(command=self.admin_command(args), returncode=returncode, output=output)

    def counts(self, database: str, start_timeout: float) -> tuple[int, int]:
        """(nodes, relationships) of ``database`` in the scratch store."""
        return counted(self.read(database, list(COUNT_STATEMENTS), start_timeout))

    def read(self, database: str, statements: list[str], start_timeout: float) -> list[list[list[Any]]]:
        """The rows of each statement on ``database`` in the scratch store, from a scratch Neo4j started for it."""
        request = json.dumps({"statements": [{"statement": s} for s in statements]}, ensure_ascii=True)
        spec = self.ready()
        client = self.jobs.discovery.client()
        try:
            # Authentication off is safe here: nothing outside the container can reach it (network none).
            job = client.containers.create(
                spec["image"],
                labels={JOB_LABEL: self.jobs.label},
                user=spec["user"],
                volumes=self.volumes(),
                network_mode="none",
                hostname="localhost",
                environment={"NEO4J_AUTH": "none"},
            )
        except docker.errors.APIError as exc:
            raise TargetError(f"creating the scratch Neo4j container failed: {exc.explanation or exc}") from None
        try:
            job.start()
            deadline = time.monotonic() + start_timeout
            last = ""
            while time.monotonic() < deadline:
                job.reload()
                if job.status not in ("created", "running"):
                    raise TargetError(f"the scratch Neo4j exited: {job.logs(tail=15).decode(errors='replace')}")
                code, out = job.exec_run(["bash", "-c", READ_SCRIPT, "read", database, request])
                text = out.decode(errors="replace")
                body = text.partition("\r\n\r\n")[2]
                if code == 0 and body.startswith("{"):
                    answer = json.loads(body)
                    if not answer.get("errors"):
                        return [[d["row"] for d in r["data"]] for r in answer["results"]]
                    last = str(answer["errors"])
                else:
                    last = text.strip()[-300:]
                time.sleep(0.5)
            raise TargetError(f"the scratch Neo4j did not answer within {start_timeout:.0f} s: {last}")
        except docker.errors.APIError as exc:
            raise TargetError(f"the scratch Neo4j container: {exc.explanation or exc}") from None
        finally:
            remove_job(job)
