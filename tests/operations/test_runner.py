"""The runner's rules, on a procedure of our own and a stand-in target (tests/fake_target.py): step order, failure
handling, the atomic claim. Unit tier: the rules do not depend on which Neo4j a run acts on."""

import neo4j.exceptions
import pytest

from operations.models import OperationRun
from operations.runs import contract, engine
from operations.runs import requests as run_requests
from operations.runs.registry import PROCEDURES

pytestmark = [pytest.mark.unit, pytest.mark.django_db, pytest.mark.postgres]

calls: list[str] = []


class Probe(contract.Procedure):
    kind = "probe"
    title = "probe"

    def steps(self):
        def step(name, result=None, exc=None):
            def run(ctx):
                calls.append(name)
                ctx.remember(**{name: True})
                if exc is not None:
                    raise exc
                return result

            return run

        fail_at = self.params.get("fail")
        boom = {
            "expected": contract.OperationFailed("disk full"),
            "unexpected": ZeroDivisionError("oops"),
            "neo4j": neo4j.exceptions.ServiceUnavailable("Couldn't connect to 127.0.0.1:7687"),
        }
        return [
            contract.Step("first", step("first", "one done")),
            contract.Step("second", step("second", exc=boom.get(fail_at)), required=not self.params.get("optional")),
            contract.Step("third", step("third")),
            contract.Step("undo", step("undo", "undone"), when="failure"),
            contract.Step("always", step("always"), when="always"),
        ]


@pytest.fixture
def probe(monkeypatch, fake_target):
    monkeypatch.setitem(PROCEDURES, "probe", Probe)
    monkeypatch.setattr(run_requests, "enqueue", lambda run: None)
    calls.clear()
    return lambda **params: run_requests.request(Probe(fake_target, params), user=None, label="test")


def _statuses(run):
    return [(s.name, s.status) for s in run.steps.order_by("position")]


def test_all_steps_ok(probe):
    run = engine.execute(probe().pk)
    assert run.status == "succeeded" and run.error == ""
    assert calls == ["first", "second", "third", "always"]
    assert _statuses(run) == [("first", "ok"), ("second", "ok"), ("third", "ok"), ("undo", "skipped"), ("always", "ok")]
    assert run.steps.get(name="first").output == "one done\n"
    assert run.state == {"first": True, "second": True, "third": True, "always": True}
    assert [e["message"] for e in run.log][:2] == ["step 1 of 5: first", "step 2 of 5: second"]


def test_expected_failure_skips_the_rest_and_runs_undo_and_always(probe):
    run = engine.execute(probe(fail="expected").pk)
    assert run.status == "failed" and run.error == "second: disk full"
    assert calls == ["first", "second", "undo", "always"]
    assert _statuses(run) == [
        ("first", "ok"),
        ("second", "failed"),
        ("third", "skipped"),
        ("undo", "ok"),
        ("always", "ok"),
    ]


def test_unexpected_exception_is_errored_with_traceback(probe):
    run = engine.execute(probe(fail="unexpected").pk)
    assert run.status == "errored" and "Traceback" in run.error and "ZeroDivisionError: oops" in run.error


def test_neo4j_crashing_under_a_step_is_a_failure_in_words_not_a_traceback(probe):
    """A Neo4j crash during a restore's verify rolled back correctly but was reported as an errored traceback."""
    run = engine.execute(probe(fail="neo4j").pk)
    assert run.status == "failed" and "Neo4j stopped answering" in run.error and "Traceback" not in run.error
    assert calls == ["first", "second", "undo", "always"]


@pytest.mark.parametrize("fail", ["expected", "unexpected"])
def test_a_step_not_required_fails_alone_and_the_run_goes_on(probe, fail):
    run = engine.execute(probe(fail=fail, optional=True).pk)
    assert run.status == "succeeded" and run.error == ""
    assert calls == ["first", "second", "third", "always"]
    assert _statuses(run) == [
        ("first", "ok"),
        ("second", "failed"),
        ("third", "ok"),
        ("undo", "skipped"),
        ("always", "ok"),
    ]
    reason = "disk full" if fail == "expected" else "ZeroDivisionError: oops"
    assert reason in run.steps.get(name="second").output
    assert [(e["level"], e["message"]) for e in run.log if e["level"] != "info"] == [
        ("warning", f"second failed; the run goes on without it: {reason}")
    ]


def test_claim_is_atomic_and_a_run_never_runs_twice(probe):
    run = probe()
    assert engine.execute(run.pk) is not None
    assert engine.execute(run.pk) is None
    assert calls.count("first") == 1


def test_second_request_refused_while_one_is_pending(probe):
    first = probe()
    with pytest.raises(contract.OperationBusy, match=f"probe #{first.pk} \\(pending\\)"):
        probe()
    engine.execute(first.pk)
    assert probe().pk != first.pk  # free again once the first is over
    assert OperationRun.objects.count() == 2


@pytest.mark.parametrize("changes_store", [False, True])
def test_a_run_that_may_change_the_store_drops_the_scopes_cache(probe, monkeypatch, changes_store):
    from django.core.cache import cache

    from identities import inventory

    monkeypatch.setattr(Probe, "changes_store", changes_store)
    cache.set(inventory._DATA_KEY, {"org-c-p": 1})
    engine.execute(probe(fail="expected").pk)  # however it ends
    assert (cache.get(inventory._DATA_KEY) is None) is changes_store
