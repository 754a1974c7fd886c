"""A real S3-protocol server on loopback for the off-site copies' tests: moto's server (``moto[server]`` from PyPI,
which implements versioned buckets and object lock), started as its own process on a free 127.0.0.1 port.

``bucket(name, lock_days)`` makes a bucket, with object lock and a COMPLIANCE default retention when ``lock_days``
is given; ``rclone_env()`` gives the ``RCLONE_CONFIG_S3LOCK_*`` variables of an rclone S3 remote ``s3lock:`` that
talks to it. moto accepts any credentials; the stand-in is for the storage protocol, not for AWS's access control.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3

from tests.sftp_server import free_port

REMOTE = "s3lock"


class S3Server:
    def __init__(self, base: Path):
        self.base, self.port = Path(base), free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3Server:
        self.base.mkdir(parents=True, exist_ok=True)
        log = open(self.base / "moto.log", "wb")
        server = Path(sys.executable).with_name("moto_server")
        self.proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(self.port)], stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=1)  # noqa: S310 (loopback, our server)
                return self
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"moto_server did not answer: {(self.base / 'moto.log').read_text()}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="portal",
            aws_secret_access_key="portal-secret",
            region_name="us-east-1",
        )

    def bucket(self, name: str, lock_days: int = 0) -> None:
        s3 = self.client()
        s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=bool(lock_days))
        if lock_days:
            s3.put_object_lock_configuration(
                Bucket=name,
                ObjectLockConfiguration={
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": lock_days}},
                },
            )

    def rclone_env(self) -> dict[str, str]:
        prefix = f"RCLONE_CONFIG_{REMOTE.upper()}_"
        return {
            prefix + "TYPE": "s3",
            prefix + "PROVIDER": "Other",
            prefix + "ENDPOINT": self.endpoint,
            prefix + "ACCESS_KEY_ID": "portal",
            prefix + "SECRET_ACCESS_KEY": "portal-secret",
            prefix + "REGION": "us-east-1",
        }
