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
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from django.db import Error as DbError  # the base class: a lost connection is an InterfaceError, not a DatabaseError
from django.db.models import F, TextField, Value
from django.db.models.functions import Concat

from ..models import OperationRun, OperationStep, RunLogLine
from ..targets import AdminResult, Target
from . import outage
from .runlog import LEVELS, RunLogHandler, run_logger

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser, AnonymousUser

logger = logging.getLogger(__name__)


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


def store_line(run_id: int, created: float, level: str, step: str, message: str) -> None:
    """Add one line to run ``run_id``'s log as the run log's handler (wired in LOGGING) stores a record: masked by
    its formatter, at the time ``created``. Raises when the database refuses; nothing is stored without the
    handler."""
    for handler in run_logger.handlers:
        if isinstance(handler, RunLogHandler):
            record = run_logger.makeRecord(
                run_logger.name,
                LEVELS.get(level, logging.INFO),
                __file__,
                0,
                "run %s: %s",
                (run_id, message),
                None,
                extra={"run_id": run_id, "run_step": step, "run_message": message},
            )
            record.created = created
            RunLogLine.objects.create(
                run_id=run_id,
                at=dt.datetime.fromtimestamp(created, tz=dt.UTC),
                level=record.levelname.lower(),
                step=step[:100],
                message=handler.format(record),
            )
            return


class RunContext:
    """What a step gets: the target, the run's durable state, a log, and neo4j-admin with its output recorded."""

    def __init__(self, run: OperationRun, target: Target):
        self.run = run
        self.target = target
        self.step: OperationStep | None = None
        # In memory only, so that Neo4j is started again when nothing can be written: this run stopped Neo4j and no
        # step has tried to start it since (docs/runs.md "When the portal's database refuses a write").
        self.holds_neo4j_down = False
        #: the error with which the portal's database refused a write of this run; from then on nothing more is
        #: tried until the run's end, which the engine records once the database answers again
        self.unrecorded: DbError | None = None
        #: the step running when it did (None: between steps)
        self.unrecorded_during: OperationStep | None = None
        #: the log lines of that time, (when, level, step, message), stored with the run's end
        self.unrecorded_lines: list[tuple[float, str, str, str]] = []
        #: a step that puts the target right runs (an undo or "always" step, or a recovery): no refused write stops it
        self.putting_right = False

    @property
    def state(self) -> dict[str, Any]:
        return self.run.state

    def write(self, action: Callable[[], object]) -> bool:
        """Do one write of the run's bookkeeping; False when it is not done: the database refused it now (the run
        is then over, see :attr:`unrecorded`) or earlier. Everything written this way is also kept in memory."""
        if self.unrecorded is not None:
            return False
        try:
            action()
        except DbError as exc:
            self.unrecorded, self.unrecorded_during = exc, self.step
            logger.error("run %s: the portal's database refused a write: %s", self.run.pk, exc)
            return False
        return True

    def remember(self, **facts: Any) -> None:
        """Record facts durably now (recovery after a crash reads them).

        When the database refuses, the error is raised: the step stops before doing what the facts were to be
        recorded for. Not while :attr:`putting_right`: the facts are then kept in memory and recorded with the run's
        end, since those steps must not be stopped by bookkeeping.
        """
        self.run.state.update(facts)
        if not self.write(lambda: self.run.save(update_fields=["state"])) and not self.putting_right:
            assert self.unrecorded is not None
            raise self.unrecorded

    def note(self, **facts: Any) -> None:
        """Record facts that nothing depends on before the step goes on: in memory and, when the database takes
        writes, at once (otherwise with the run's end)."""
        self.run.state.update(facts)
        self.write(lambda: self.run.save(update_fields=["state"]))

    def stopping_neo4j(self) -> None:
        """Say that this run stops Neo4j now: should no step start it again, the engine does when the run ends."""
        self.holds_neo4j_down = True

    def starting_neo4j(self) -> None:
        """Say that a step is about to start Neo4j again (whether that works is the step's to report)."""
        self.holds_neo4j_down = False

    def log(self, message: str, level: str = "info") -> None:
        """Add a line to the run's log: one row per line, masked as the run log's handler masks
        (operations/runs/runlog.py), and to the process's log. A line the database refuses is refused bookkeeping
        like any other (:meth:`write`); it waits in memory for the run's end."""
        step, created = self.step.name if self.step else "", time.time()
        # Without the run's id in its extra the record reaches the process's log, not the handler: the row is
        # written here, where a refusal is seen (the handler can only report it on stderr).
        run_logger.log(LEVELS.get(level, logging.INFO), "run %s: %s", self.run.pk, message)
        if not self.write(lambda: store_line(self.run.pk, created, level, step, message)):
            self.unrecorded_lines.append((created, level, step, message))

    def output(self, text: str) -> None:
        """Append to the current step's output (shown on the run page while it runs): one UPDATE that concatenates
        in the database, never the whole output written again."""
        if self.step is None or not text:
            return
        text = text if text.endswith("\n") else text + "\n"
        pk = self.step.pk
        self.write(
            lambda: OperationStep.objects.filter(pk=pk).update(
                output=Concat(F("output"), Value(text), output_field=TextField())
            )
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
