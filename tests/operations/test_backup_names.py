"""Property-based: no backup name, from the catalog or typed on the command line, reaches outside the backups
directory; an unknown name is refused with a clear message and nothing is queued."""

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from operations.backups import services
from operations.models import Backup, OperationRun
from operations.models.backups import FILE_NAME
from operations.runs import contract
from tests.backup_support import catalog_row

pytestmark = pytest.mark.django_db
ESCAPES = ["..", "../", "/", "\\", "\x00", "~", "./", "%2e%2e", "\n", " "]
names = st.one_of(
    st.text(max_size=40),
    st.lists(
        st.sampled_from(ESCAPES + ["neo4j-20260101-000000.dump", "etc", "passwd", "neo4j", ".dump"]),
        min_size=1,
        max_size=6,
    ).map("".join),
    st.from_regex(r"neo4j-[0-9]{8}-[0-9]{6}(-[0-9]{1,4})?\.dump", fullmatch=True),
)
FEW = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.unit
@FEW
@given(name=names)
def test_catalog_paths_stay_in_the_backups_directory(name):
    backup_dir = Path("/srv/backups")
    try:
        path = Backup(file_name=name).path_in(backup_dir)
    except ValueError as exc:
        assert "not a backup file name" in str(exc)
        assert not FILE_NAME.fullmatch(name)
        return
    assert path.parent == backup_dir and path.name == name
    assert path.resolve().is_relative_to(backup_dir)


@pytest.mark.unit
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names.filter(lambda n: n and not n.startswith("-") and "\x00" not in n))
def test_restore_command_refuses_unknown_names(name):
    Backup.objects.get_or_create(
        file_name="neo4j-20260101-000000.dump",
        target="local",
        database="neo4j",
        size=1,
        sha256="0" * 64,
        neo4j_version="5.26.12",
        requested_by_label="cli:test",
    )
    runs = OperationRun.objects.count()
    if Backup.objects.filter(file_name=name).exists() or (
        name.isascii() and name.isdigit() and Backup.objects.filter(pk=int(name))
    ):
        return  # a catalogued backup: restoring it is tested elsewhere
    with pytest.raises(CommandError, match="no backup .* in the catalog"):
        call_command("restore", name, "--confirm", "neo4j", "--no-wait", stdout=io.StringIO())
    assert OperationRun.objects.count() == runs


def test_restore_refuses_a_catalog_entry_pointing_elsewhere(tmp_path, settings):
    """Even a tampered catalog row (the portal never writes one) cannot make a restore read outside the directory."""

    settings.BACKUP_DIR = tmp_path
    bad = catalog_row(file_name="../neo4j-20260101-000000.dump")
    with pytest.raises(contract.OperationFailed, match="not a backup file name"):
        services.preview_restore(bad)
    with pytest.raises(contract.OperationFailed, match="not a backup file name"):
        services.request_restore(bad, "neo4j", None)
    assert OperationRun.objects.count() == 0
