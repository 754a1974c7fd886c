"""Records of the 4.4 -> 5 store migration made under its old name ("neo4j-4.4-to-5.26") take the registry's name
(operations/migrations/0011): the portal then finds the migration applied where it was; an applied record that would
make a second applied one for its target keeps its old name; the migration back restores the names."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from operations.models import AppliedMigration
from operations.upgrades import records
from operations.upgrades.registry import BY_NAME

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

step = importlib.import_module("operations.migrations.0011_neo4j_migration_name")


def test_old_records_take_the_registry_name_and_back():
    assert step.NEW in BY_NAME, "the migration renames to the name the registry uses"
    applied = AppliedMigration.objects.create(name=step.OLD, target="local", outcome="applied", by_label="cli:ops")
    failed = AppliedMigration.objects.create(name=step.OLD, target="local", outcome="failed", by_label="cli:ops")
    AppliedMigration.objects.create(name=step.NEW, target="docker", outcome="applied", by_label="cli:ops")
    clash = AppliedMigration.objects.create(name=step.OLD, target="docker", outcome="applied", by_label="cli:ops")
    assert records.applied(step.NEW, "local") is None

    step.rename(apps, None)

    assert records.applied(step.NEW, "local") == applied
    assert AppliedMigration.objects.get(pk=failed.pk).name == step.NEW
    assert AppliedMigration.objects.get(pk=clash.pk).name == step.OLD
    assert AppliedMigration.objects.filter(name=step.NEW, target="docker", outcome="applied").count() == 1

    step.rename_back(apps, None)
    assert AppliedMigration.objects.get(pk=applied.pk).name == step.OLD
    assert AppliedMigration.objects.get(pk=failed.pk).name == step.OLD
