"""What the store-upgrade benches share: a throw-away portal (data directory, SQLite database) pointed at a
throw-away local Neo4j, one real upgrade carried out in this process, and its steps printed with their times."""

from __future__ import annotations

import os
import time
from pathlib import Path


def portal_env(work: Path) -> None:
    """The portal's data and database in ``work``; before Django is imported."""
    os.environ["PORTAL_DATA_DIR"] = str(work)
    os.environ["DATABASE_URL"] = f"sqlite:///{work / 'portal.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alchemiscale_portal.settings")


def portal_for(store, work: Path) -> None:
    """Point the portal's local target at ``store``'s instance (made, not yet created) and set Django up."""
    # Imported once the environment is set: the settings read it.
    from devtools.local_neo4j import portal_settings

    os.environ.update(
        {
            "NEO4J_URL": store.url,
            "NEO4J_USER": "neo4j",
            "NEO4J_PASS": store.password,
            **portal_settings(store.instance.home),
            "PORTAL_BACKUP_DIR": str(work / "backups"),
        }
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def run_upgrade(name: str):
    """Run migration ``name`` in this process (after ``portal_for``) and print one line per step; the run."""
    # The run machinery needs the apps, ready only after portal_for.
    from operations.runs.engine import execute
    from operations.upgrades import services

    t0 = time.monotonic()
    run = execute(services.request_migration(name, confirmation=name, user=None, label="bench").pk)
    total = time.monotonic() - t0
    for step in run.steps.all():
        took = (step.finished_at - step.started_at).total_seconds() if step.finished_at and step.started_at else 0
        print(f"  {step.position:>2}. {step.name:<44} {step.status:<8} {took:6.1f} s")
    print(f"{name} {run.status}: {total:.1f} s in all" + (f"\n{run.error}" if run.error else ""))
    return run
