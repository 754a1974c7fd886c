"""The Scope value type follows alchemiscale's rules (docs/facts.md)."""

import pytest

from identities.scope import SCOPE_RULE, InvalidScope, Scope, parse_scopes

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("text", ["org-campaign-project", "org-camp-*", "org-*-*", "*-*-*", "a1_-b-c_2"])
def test_valid_scopes_round_trip(text):
    assert str(Scope.from_str(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "*-foo-bar",
        "org-*-proj",
        "1org-c-p",
        "org-c",
        "a-b-c-d",
        "",
        "org--p",
        "o'rg-c-p",
        "org-c-p\n",
        "_org-c-p",
        "org-c-p ",
        "org-c-**",
    ],
)
def test_invalid_scopes_are_refused_with_the_rule(text):
    with pytest.raises(InvalidScope) as info:
        Scope.from_str(text)
    assert SCOPE_RULE in str(info.value)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize(
    "granted, target, covers",
    [
        ("org-c-p", "org-c-p", True),
        ("org-c-*", "org-c-p", True),
        ("org-*-*", "org-x-y", True),
        ("*-*-*", "other-x-y", True),
        ("org-c-*", "org-d-p", False),
        ("org-c-p", "org-c-q", False),
        ("org-*-*", "orga-c-p", False),
        ("org-c-p", "org-c-*", False),
    ],
)
def test_wildcard_coverage(granted, target, covers):
    assert Scope.from_str(granted).covers(Scope.from_str(target)) is covers


def test_describe_says_what_a_wildcard_covers():
    assert "every campaign and project of org acme" == Scope.from_str("acme-*-*").describe()
    assert "campaign c1 in org acme" in Scope.from_str("acme-c1-*").describe()
    assert "all data" in Scope.from_str("*-*-*").describe()
    assert not Scope.from_str("acme-c1-p1").is_wildcard


def test_parse_scopes_reports_every_bad_one_together():
    with pytest.raises(InvalidScope) as info:
        parse_scopes(["ok-c-p", "bad", "x-*-y"])
    assert "'bad'" in str(info.value) and "'x-*-y'" in str(info.value)
