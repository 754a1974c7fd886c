"""Keep the manifests on the remote telling the truth about verification (docs/offsite-encryption.md).

A manifest is written when its copy is made; a verify run that judges the backup later rewrites the ``verification``
block of each good copy's manifest, so a fresh install that adopts the remote knows which backups were proven to
restore. Nothing else in it changes; a remote that cannot be reached leaves the old block (said, not failed).
"""

from __future__ import annotations

from operations.models import Backup, BackupCopy

from . import manifest, offsite


def refresh_verification(backup: Backup) -> list[str]:
    """Rewrite the verification block of the backup's manifests on its good copies; what was done, one line each."""
    lines = []
    for copy in backup.copies.filter(state=BackupCopy.State.OK):
        where = offsite.location(copy.remote, f"{backup.target}/{manifest.name_for(backup.file_name)}")
        try:
            data = manifest.parse(offsite.rclone("cat", where).encode(), where.rsplit("/", 1)[-1])
            data["verification"] = {
                "result": backup.verification,
                "at": backup.verified_at.isoformat() if backup.verified_at else None,
                "detail": backup.verification_detail,
            }
            offsite.put_bytes(manifest.dumps(data), where)
            lines.append(f"{where}: verification recorded ({backup.verification})")
        except (offsite.CopyError, manifest.BadManifest) as exc:
            lines.append(f"{where}: not updated: {exc}")
    return lines
