"""Client-side encryption of what leaves the machine, with age (docs/offsite-encryption.md).

Each dump and each copy of the portal's database is encrypted to ``PORTAL_BACKUP_RECIPIENTS`` (age public keys)
before rclone sees it; only a holder of one of the matching private keys (``PORTAL_BACKUP_IDENTITY_FILE``) can read
it back. Encrypting needs no private key, so the machine that makes the backups cannot read old copies by itself.

Streamed: pyrage's ``encrypt_io``/``decrypt_io`` pull from a file object in 8 KiB reads and push age's 64 KiB
chunks to another, so memory stays flat whatever the dump's size. The wrappers here hash the bytes as they pass, so
one read of the dump gives its plain SHA-256 and the stored (encrypted) file's SHA-256, SHA-1 and MD5 that the
remote's checks compare with. age's output is not deterministic (a fresh file key each time): the stored checksums
belong to one encrypted file and are recorded with it (``BackupCopy``, the remote manifest).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pyrage
from django.conf import settings

from .portal_db import OWNER_ONLY_FILE

#: what an encrypted file's name adds on the remote
SUFFIX = ".age"
STORED_HASHES = ("sha256", "sha1", "md5")


class KeyProblem(Exception):
    """A recipient or identity is unusable, or the key a copy needs is not here; the message names the key."""


@dataclass
class Sealed:
    """What one encryption produced: the plain bytes' SHA-256 and size, the stored bytes' hashes and size."""

    plain_sha256: str
    plain_size: int
    stored: dict[str, str] = field(default_factory=dict)
    stored_size: int = 0
    recipients: list[str] = field(default_factory=list)


def recipient_strings() -> list[str]:
    return [r.strip() for r in settings.BACKUP_RECIPIENTS if r.strip()]


def enabled() -> bool:
    return bool(recipient_strings())


def parse_recipients(strings: list[str]) -> list[Any]:
    """age recipients from their public keys ("age1..."); KeyProblem naming the first that is not one."""
    parsed = []
    for text in strings:
        try:
            parsed.append(pyrage.x25519.Recipient.from_str(text))
        except (pyrage.RecipientError, ValueError) as exc:
            raise KeyProblem(f"PORTAL_BACKUP_RECIPIENTS: {text!r} is not an age public key (age1...): {exc}") from None
    return parsed


def load_identities(needed_for: list[str]) -> list[Any]:
    """The private keys from ``PORTAL_BACKUP_IDENTITY_FILE`` (one ``AGE-SECRET-KEY-1...`` per line, ``#`` comments,
    as age-keygen writes them). KeyProblem saying which public keys the copy was encrypted to when there is none."""
    wanted = ", ".join(needed_for) or "(not recorded)"
    path = settings.BACKUP_IDENTITY_FILE.strip()
    if not path:
        raise KeyProblem(
            f"this copy is encrypted with age to {wanted}: set PORTAL_BACKUP_IDENTITY_FILE to a file holding the "
            f"private key (AGE-SECRET-KEY-1...) of one of them"
        )
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise KeyProblem(
            f"this copy is encrypted with age to {wanted}; PORTAL_BACKUP_IDENTITY_FILE {path} cannot be read: "
            f"{exc.strerror or exc}"
        ) from None
    identities = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            try:
                identities.append(pyrage.x25519.Identity.from_str(line))
            except (pyrage.IdentityError, ValueError):
                raise KeyProblem(f"{path} holds a line that is not an age private key (AGE-SECRET-KEY-1...)") from None
    if not identities:
        raise KeyProblem(f"{path} holds no age private key; this copy is encrypted to {wanted}")
    return identities


def public_keys(identities: list[Any]) -> list[str]:
    return [str(i.to_public()) for i in identities]


class _HashingReader:
    """A file object that hashes what is read from it (pyrage reads with ``read(n)``)."""

    def __init__(self, raw: IO[bytes], names: tuple[str, ...]):
        self.raw, self.size = raw, 0
        self.digests = {n: hashlib.new(n) for n in names}

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.size += len(data)
        for d in self.digests.values():
            d.update(data)
        return data

    def hexdigests(self) -> dict[str, str]:
        return {n: d.hexdigest() for n, d in self.digests.items()}


class _HashingWriter:
    """A file object that hashes what is written to it."""

    def __init__(self, raw: IO[bytes], names: tuple[str, ...]):
        self.raw, self.size = raw, 0
        self.digests = {n: hashlib.new(n) for n in names}

    def write(self, data: bytes) -> int:
        self.size += len(data)
        for d in self.digests.values():
            d.update(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()

    def hexdigests(self) -> dict[str, str]:
        return {n: d.hexdigest() for n, d in self.digests.items()}


def encrypt_file(source: Path, dest: Path) -> Sealed:
    """Encrypt ``source`` to the configured recipients into ``dest`` (created owner-only, never replacing a file)."""
    strings = recipient_strings()
    recipients = parse_recipients(strings)
    if not recipients:
        raise KeyProblem("no PORTAL_BACKUP_RECIPIENTS: nothing to encrypt to")
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY_FILE)
    with open(source, "rb") as fin, os.fdopen(fd, "wb") as fout:
        reader = _HashingReader(fin, ("sha256",))
        writer = _HashingWriter(fout, STORED_HASHES)
        try:
            pyrage.encrypt_io(reader, writer, recipients)
        except pyrage.EncryptError as exc:
            raise KeyProblem(f"age could not encrypt {source.name}: {exc}") from None
        fout.flush()
        os.fsync(fout.fileno())
    return Sealed(
        plain_sha256=reader.hexdigests()["sha256"],
        plain_size=reader.size,
        stored=writer.hexdigests(),
        stored_size=writer.size,
        recipients=strings,
    )


def decrypt_stream(stream: IO[bytes], dest: IO[bytes], recipients: list[str]) -> tuple[str, str]:
    """Decrypt an age stream into ``dest``; (SHA-256 of the stored bytes, SHA-256 of the plain bytes). KeyProblem
    naming the keys the copy needs when the identity file has none of them."""
    identities = load_identities(recipients)
    reader = _HashingReader(stream, ("sha256",))
    writer = _HashingWriter(dest, ("sha256",))
    try:
        pyrage.decrypt_io(reader, writer, identities)
    except pyrage.DecryptError as exc:
        if "no matching keys" in str(exc).lower():
            raise KeyProblem(
                f"this copy is encrypted with age to {', '.join(recipients) or '(not recorded)'}; "
                f"PORTAL_BACKUP_IDENTITY_FILE holds the private key(s) of {', '.join(public_keys(identities))} only"
            ) from None
        raise KeyProblem(f"age could not decrypt the copy (damaged?): {exc}") from None
    return reader.hexdigests()["sha256"], writer.hexdigests()["sha256"]


def decrypt_from_command(command: list[str], dest: Path, recipients: list[str], timeout: float | None = None) -> str:
    """Run ``command`` (``rclone cat <remote file>``), decrypting its output into ``dest`` (created owner-only)
    as it streams; the plain SHA-256. KeyProblem for a missing or wrong key, OSError when the command failed."""
    load_identities(recipients)  # before anything is downloaded: a missing key is said at once
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY_FILE)
    with os.fdopen(fd, "wb") as out:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())
        assert proc.stdout is not None and proc.stderr is not None
        try:
            _, plain = decrypt_stream(proc.stdout, out, recipients)
        except KeyProblem:
            proc.kill()
            proc.wait()
            raise
        err = proc.stderr.read().decode(errors="replace")
        if proc.wait(timeout=timeout) != 0:
            tail = " ".join(line.strip() for line in err.strip().splitlines()[-3:])
            raise OSError(f"{command[0]} {command[1]} exited with {proc.returncode}: {tail or 'no output'}")
        out.flush()
        os.fsync(out.fileno())
    return plain
