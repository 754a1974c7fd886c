"""A real SFTP server on loopback for the off-site copy tests: Debian's OpenSSH ``sshd`` with a configuration of its
own (docs/offsite-copies.md).

Everything lives in a temporary directory: a throwaway host key and client key, ``sshd_config``, ``authorized_keys``,
``known_hosts`` and the directory the copies land in. No system sshd configuration or key is read or changed; sshd
listens on a free 127.0.0.1 port, logs in the current user by key only, and serves SFTP with ``internal-sftp``. The
shell stays allowed, so rclone can run ``md5sum``/``sha1sum`` over SSH for checksums (as with an ordinary OpenSSH
account); ``sftp_only=True`` forces ``internal-sftp`` for every session, like an SFTP-only account (no hashes). Run as root, sshd needs its privilege separation directory ``/run/sshd`` (an empty directory Debian's ssh
service creates at boot); it is created when missing. As another user, sshd (without PAM) refuses an account whose
password is locked (``!`` in /etc/shadow, as for ``nobody``): run the tests as root or as a user with a usable
account.

``rclone_env()`` gives the ``RCLONE_CONFIG_OFFSITE_*`` variables that make the remote ``offsite:`` this server.
Requirements: Debian's ``openssh-server`` and ``rclone`` (the Makefile's test target installs them).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

SSHD = "/usr/sbin/sshd"
REMOTE = "offsite"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SftpServer:
    def __init__(self, base: Path, port: int | None = None, *, sftp_only: bool = False):
        self.base = Path(base)
        self.port = port or free_port()
        self.user = pwd.getpwuid(os.geteuid()).pw_name  # who sshd runs as, whatever $USER says
        self.root = self.base / "sftp-root"  # where the copies land (an absolute path on the remote)
        self.proc: subprocess.Popen | None = None
        self.base.mkdir(parents=True, exist_ok=True)
        self.root.mkdir(exist_ok=True)
        self.host_key = self.base / "host_ed25519"
        self.client_key = self.base / "client_ed25519"
        for key in (self.host_key, self.client_key):
            if not key.exists():
                subprocess.run(
                    ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "portal-test", "-f", str(key)], check=True
                )
        shutil.copyfile(f"{self.client_key}.pub", self.base / "authorized_keys")
        host_pub = Path(f"{self.host_key}.pub").read_text().split()
        (self.base / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {host_pub[0]} {host_pub[1]}\n")
        self.config = self.base / "sshd_config"
        self.config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {self.host_key}",
                    f"PidFile {self.base / 'sshd.pid'}",
                    f"AuthorizedKeysFile {self.base / 'authorized_keys'}",
                    f"AllowUsers {self.user}",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin prohibit-password",
                    "StrictModes no",
                    "UsePAM no",
                    "Subsystem sftp internal-sftp",
                    "LogLevel ERROR",
                    # An SFTP-only account, as many hosting providers give: no shell, so no md5sum/sha1sum for rclone.
                    *(["ForceCommand internal-sftp"] if sftp_only else []),
                    "",
                ]
            )
        )

    @property
    def remote(self) -> str:
        """PORTAL_OFFSITE_REMOTE for this server: the remote and an absolute directory in the SFTP root."""
        return f"{REMOTE}:{self.root / 'backups'}"

    def rclone_env(self) -> dict[str, str]:
        prefix = f"RCLONE_CONFIG_{REMOTE.upper()}_"
        return {
            prefix + "TYPE": "sftp",
            prefix + "HOST": "127.0.0.1",
            prefix + "PORT": str(self.port),
            prefix + "USER": self.user,
            prefix + "KEY_FILE": str(self.client_key),
            prefix + "KNOWN_HOSTS_FILE": str(self.base / "known_hosts"),
        }

    def start(self) -> SftpServer:
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.base / "sshd.log", "ab"),
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.base / 'sshd.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    if s.recv(4).startswith(b"SSH-"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"sshd did not answer on 127.0.0.1:{self.port}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None
