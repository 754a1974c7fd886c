"""What a procedure is to the run machinery: named steps, the run's context, and the two refusals.

A *procedure* is an ordered list of named :class:`Step` s built from a target and the request's parameters; it never
touches rows itself. The apps that own procedures (backups, upgrades) register them in their ``AppConfig.ready()``
(``operations/runs/registry.py``); the machinery here knows none of them by name. Everything it needs from a
procedure is data on the class: ``permission`` (who may request and cancel one), ``changes_store`` (caches of the
store's contents are dropped when it ends), ``destructive`` (a preview and a typed confirmation in the admin) and
``expected_outage()`` (what the "state store unavailable" page promises while one holds Neo4j stopped).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from django.db.models import F, TextField, Value
from django.db.models.functions import Concat

from ..models import OperationRun, OperationStep
from ..targets import AdminResult, Target
from . import outage
from .runlog import log_line

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser, AnonymousUser


class OperationFailed(Exception):
    """An expected failure; the message is shown to staff as the reason."""


class OperationBusy(Exception):
    """Another operation is active on the target."""

    def __init__(self, running: OperationRun | None, target: str):
        self.running = running
        if running is None:
            message = f"another operation is already active on target {target!r}"
        else:
            message = (
                f"another operation is already active on target {target!r}: {running.kind} #{running.pk} "
                f"({running.status}), requested by {running.requested_by_label} at "
                f"{running.requested_at:%Y-%m-%d %H:%M:%S} UTC"
            )
        super().__init__(message)


@dataclasses.dataclass
class Step:
    name: str
    run: Callable[[RunContext], str | None]
    description: str = ""
    #: the exact command lines the step runs, for the preview
    commands: list[list[str]] = dataclasses.field(default_factory=list)
    when: Literal["ok", "always", "failure"] = "ok"
    #: False: a failure of this step is shown on the step and logged as a warning, but the run goes on as if it had
    #: succeeded (for an extra that must not cost the operation itself, e.g. the portal database's copy)
    required: bool = True


class Procedure:
    kind: ClassVar[str]
    title: ClassVar[str]
    #: the Django permission a person needs to request (and cancel) a run of this kind; the command line has all
    permission: ClassVar[str]
    #: destructive procedures get a preview and a typed confirmation in the admin
    destructive: ClassVar[bool] = False
    #: the run may change what the state store holds (restore, migrations): when it ends, however it ends, what is
    #: cached about the store's contents is dropped for every process (the run_finished signal says so)
    changes_store: ClassVar[bool] = False

    def __init__(self, target: Target, params: dict[str, Any]):
        self.target = target
        self.params = params

    @classmethod
    def allowed(cls, user: AbstractUser | AnonymousUser | None) -> bool:
        """Whether ``user`` may request a run of this kind; None is the command line, which may do everything."""
        return user is None or user.has_perm(cls.permission)

    @classmethod
    def expected_outage(cls, target_name: str) -> float | None:
        """Seconds Neo4j is expected to stay unavailable while a run of this kind holds it stopped (None: unknown):
        by default as long as in the last successful run of the kind on the target."""
        return outage.expected_outage(target_name, cls.kind)

    def validate(self) -> None:
        """Refuse a request before any row is written (raise OperationFailed)."""

    def steps(self) -> list[Step]:
        raise NotImplementedError

    def recover(self, ctx: RunContext) -> list[str]:
        """After the worker died mid-run: make the target safe again; returns what was done, for the record.

        The default stops an orphaned neo4j-admin, then brings Neo4j back up if it was running when the run
        started (``state["was_running"]``). Procedures that change data first undo that, then call this.
        """
        done = self.target.stop_admin()
        if ctx.state.get("was_running") and not self.target.is_up():
            self.target.start()
            done.append("Neo4j started again")
        elif ctx.state.get("was_running"):
            self.target.wait_for_bolt()
            done.append("Neo4j was running")
        return done


class RunContext:
    """What a step gets: the target, the run's durable state, a log, and neo4j-admin with its output recorded."""

    def __init__(self, run: OperationRun, target: Target):
        self.run = run
        self.target = target
        self.step: OperationStep | None = None

    @property
    def state(self) -> dict[str, Any]:
        return self.run.state

    def remember(self, **facts: Any) -> None:
        """Record facts durably now (recovery after a crash reads them)."""
        self.run.state.update(facts)
        self.run.save(update_fields=["state"])

    def log(self, message: str, level: str = "info") -> None:
        """Add a line to the run's log: through logging, one row per line (operations/runs/runlog.py)."""
        log_line(self.run.pk, message, level, self.step.name if self.step else "")

    def output(self, text: str) -> None:
        """Append to the current step's output (shown on the run page while it runs): one UPDATE that concatenates
        in the database, never the whole output written again."""
        if self.step is None or not text:
            return
        text = text if text.endswith("\n") else text + "\n"
        OperationStep.objects.filter(pk=self.step.pk).update(
            output=Concat(F("output"), Value(text), output_field=TextField())
        )
        self.step.output += text

    def admin(self, args: list[str], failure: str) -> AdminResult:
        """Run neo4j-admin; a non-zero exit raises OperationFailed with ``failure`` and the tool's last words."""
        self.log("$ " + " ".join(self.target.admin_command(args)))
        result = self.target.admin(args)
        self.output(result.output)
        if not result.ok:
            tail = "\n".join(result.output.strip().splitlines()[-5:])
            raise OperationFailed(f"{failure}: neo4j-admin {result.exit_description()}" + (f": {tail}" if tail else ""))
        return result
