"""Printing runs for the management commands: follow one to its end, or describe it."""

from __future__ import annotations

import time

from django.core.management.base import CommandError, OutputWrapper

from operations.models import Backup, OperationRun, RunStatus

from . import requests as run_requests
from .engine import execute


def describe(run: OperationRun) -> str:
    k, n = run.current_position()
    elapsed = run.elapsed_seconds()
    waiting = run.waiting_seconds()
    return (
        f"#{run.pk} {run.kind} on {run.target}: {run.status}, step {k} of {n}"
        + (f", {elapsed:.0f} s" if elapsed is not None else "")
        + (f", waiting for a worker for {waiting:.0f} s" if waiting is not None else "")
        + (f", cancelled by {run.cancelled_by_label}" if run.cancelled_by_label else "")
        + f", requested by {run.requested_by_label} at {run.requested_at:%Y-%m-%d %H:%M:%S} UTC"
    )


def print_plan(plan: list[dict], out: OutputWrapper) -> None:
    for step in plan:
        out.write(f"  {step['position']}. {step['name']}: {step['description']}")
        for command in step["commands"]:
            out.write("       $ " + " ".join(command))


def carry_out(
    run: OperationRun, out: OutputWrapper, err: OutputWrapper, *, here: bool, wait: bool, timeout: float
) -> OperationRun:
    """After a command recorded ``run``: run it in this process (``--here``), or say when no worker will take it,
    then follow it to its end unless told not to wait."""

    if here:
        execute(run.pk, worker=f"{run_requests.cli_label()} (--here)")
    else:
        warning = run_requests.no_worker_warning(run.queue or None)
        if warning:
            err.write(f"warning: {warning}; or run it in this process with --here")
    if not wait:
        return run
    return follow(run, out, timeout)


def follow(run: OperationRun, out: OutputWrapper, timeout: float, poll: float = 0.5) -> OperationRun:
    """Print each step as it ends until the run is over; CommandError unless it succeeded."""
    deadline = time.monotonic() + timeout
    shown: set[int] = set()
    while True:
        run.refresh_from_db()
        for step in run.steps.order_by("position"):
            if step.position not in shown and step.status not in ("pending", "running"):
                shown.add(step.position)
                out.write(f"  step {step.position}: {step.name} - {step.status}")
        if run.is_terminal:
            break
        if time.monotonic() > deadline:
            raise CommandError(
                f"run #{run.pk} is still {run.status} after {timeout:.0f} s; it goes on in the "
                f"worker: follow it with `manage.py operations --show {run.pk}`"
            )
        time.sleep(poll)
    if run.status != RunStatus.SUCCEEDED:
        raise CommandError(f"{run.kind} #{run.pk} {run.status}: {run.error}")
    out.write(f"{run.kind} #{run.pk} succeeded in {run.elapsed_seconds():.0f} s")
    return run


def backups_named(refs: list[str]) -> list[Backup]:
    """The catalog's backups that ``refs`` name (an id or a file name each), in that order; CommandError names the
    first that is not in the catalog."""
    chosen: list[Backup] = []
    for ref in refs:
        found = (
            Backup.objects.filter(pk=int(ref))
            if ref.isascii() and ref.isdigit()
            else Backup.objects.filter(file_name=ref)
        )
        if not found.exists():
            raise CommandError(f"no backup {ref!r} in the catalog")
        chosen.extend(found)
    return chosen
