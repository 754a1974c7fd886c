"""Schema migration: alchemiscale v0.3 to v0.4 (a NetworkMark for every AlchemicalNetwork).

alchemiscale's own ``database migrate v03-to-v04`` does the work, run through the target's choice of
alchemiscale's CLI (``Target.alchemiscale_cli``, ``operations/targets/alchemiscale_cli.py``) with the target's
connection: beside a local Neo4j the configured command (``PORTAL_ALCHEMISCALE_CLI``, the real ``alchemiscale``
CLI by default; the project's dev and test scripts set a declared stand-in); in a docker-compose deployment a one-off container of the alchemiscale-server image
(``PORTAL_ALCHEMISCALE_IMAGE``) on the deployment's database network, as the operations guide runs it. The procedure
does not know which: it shows the target's command, checks the target's answers before a run, captures the output
and then checks the result itself: every AlchemicalNetwork has exactly one NetworkMark pointing at it with
``MARKS``. The migration only adds nodes and relationships and merges on alchemiscale's unique ``_scoped_key``, so
running it again changes nothing.
"""

from __future__ import annotations

import shlex

from operations.runs.contract import OperationFailed, RunContext, Step

from . import records
from .base import MigrationProcedure

ARGS = ["database", "migrate", "v03-to-v04"]
COMPLETED = "Migration completed without errors."

NETWORK_MARKS = (
    "MATCH (an:AlchemicalNetwork) OPTIONAL MATCH (an)<-[:MARKS]-(nm:NetworkMark) "
    "WITH an, count(nm) AS marks RETURN count(an), sum(CASE WHEN marks = 0 THEN 1 ELSE 0 END), "
    "sum(CASE WHEN marks > 1 THEN 1 ELSE 0 END)"
)
NOT_ONE_MARK = (
    "MATCH (an:AlchemicalNetwork) OPTIONAL MATCH (an)<-[:MARKS]-(nm:NetworkMark) "
    "WITH an, count(nm) AS marks WHERE marks <> 1 RETURN an._scoped_key, marks "
    "ORDER BY an._scoped_key LIMIT 10"
)


def network_marks(target) -> dict[str, int]:
    """How many networks there are, how many lack a NetworkMark, how many have more than one."""
    networks, unmarked, several = target.query(NETWORK_MARKS)[0]
    return {"networks": networks, "unmarked": unmarked or 0, "several": several or 0}


class AlchemiscaleV03ToV04Procedure(MigrationProcedure):
    kind = "alchemiscale-v03-to-v04"
    title = "Migrate the state store's schema from alchemiscale v0.3 to v0.4"
    migration_name = "alchemiscale-v0.3-to-v0.4"

    def check_versions(self) -> list[str]:
        version = self.target.neo4j_version()
        problems = []
        if not version.startswith("5."):
            problems.append(
                f"the store runs Neo4j {version}; alchemiscale v0.4 needs Neo4j 5: run the Neo4j "
                f"4.4 to 5.26 data migration first"
            )
        return problems + self.target.alchemiscale_cli.problems()

    def steps_for_run(self) -> list[Step]:
        cli = self.target.alchemiscale_cli
        return [
            Step(
                "check the migration applies",
                self.check_step,
                "the store runs Neo4j 5, alchemiscale's command can run, the migration is not yet applied",
            ),
            Step("count the networks", self.count_before, "AlchemicalNetworks, and those without a NetworkMark"),
            Step(
                "run alchemiscale's migration",
                self.run_cli,
                f"{'the STAND-IN for ' if cli.is_standin() else ''}alchemiscale's own "
                f"migration, with NEO4J_URL, NEO4J_USER, NEO4J_PASS, NEO4J_DBNAME of the target in its "
                f"environment; output captured",
                commands=[cli.command(ARGS)],
            ),
            Step(
                "verify one NetworkMark per network",
                self.verify,
                "every AlchemicalNetwork has exactly one NetworkMark pointing at it (MARKS)",
            ),
            Step("record the migration", self.record_applied, "the applied-migrations record"),
            Step("record the failed attempt", self.record_failed, "the applied-migrations record", when="failure"),
        ]

    def rollback_steps(self) -> list[Step]:
        # It only adds marks and is safe to run again: an interrupted run is resumed, never rolled back.
        return [
            Step(
                "record the interrupted attempt",
                self.record_failed,
                "nothing to undo: the migration only adds NetworkMarks and can simply be run again",
            )
        ]

    def count_before(self, ctx: RunContext) -> str:
        self.target.wait_for_bolt()
        counts = network_marks(self.target)
        ctx.remember(before=counts, neo4j_version=self.target.neo4j_version())
        return f"{counts['networks']} AlchemicalNetwork(s), {counts['unmarked']} without a NetworkMark"

    def run_cli(self, ctx: RunContext) -> str:
        cli = self.target.alchemiscale_cli
        ctx.log("$ " + shlex.join(cli.command(ARGS)))
        result = cli.run(ARGS)
        ctx.remember(cli_output=result.output[-4000:], cli_command=result.command, standin=cli.is_standin())
        if not result.ok:
            raise OperationFailed(
                f"alchemiscale's migration exited with {result.returncode}: "
                f"{' / '.join(result.output.strip().splitlines()[-3:])}"
            )
        if COMPLETED not in result.output:
            raise OperationFailed(f"alchemiscale's migration exited 0 but did not say {COMPLETED!r}")
        return result.output

    def verify(self, ctx: RunContext) -> str:
        counts = network_marks(self.target)
        ctx.remember(after=counts)
        if counts["unmarked"] or counts["several"]:
            wrong = ", ".join(f"{key} ({marks})" for key, marks in self.target.query(NOT_ONE_MARK))
            raise OperationFailed(
                f"{counts['unmarked']} network(s) without a NetworkMark and {counts['several']} "
                f"with more than one, e.g. {wrong}"
            )
        return f"all {counts['networks']} AlchemicalNetwork(s) have exactly one NetworkMark"

    def record_applied(self, ctx: RunContext) -> str:
        before, after = ctx.state["before"], ctx.state["after"]
        record = records.record(
            ctx,
            self.migration_name,
            "applied",
            neo4j_before=ctx.state["neo4j_version"],
            neo4j_after=self.target.neo4j_version(),
            details={"networks": after["networks"], "marks_added": before["unmarked"], **self._cli_details(ctx)},
        )
        return f"recorded as applied (#{record.pk}); {before['unmarked']} NetworkMark(s) added"

    def record_failed(self, ctx: RunContext) -> str:
        return self.record_outcome_of_failure(ctx, self._cli_details(ctx))

    def _cli_details(self, ctx: RunContext) -> dict:
        """What the record keeps of alchemiscale's run: the command, whether it was the stand-in, its output."""
        cli = self.target.alchemiscale_cli
        return {
            "command": ctx.state.get("cli_command") or cli.command(ARGS),
            "standin": ctx.state.get("standin", cli.is_standin()),
            "output": ctx.state.get("cli_output", ""),
        }
