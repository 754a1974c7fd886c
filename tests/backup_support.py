"""A backup catalog row with no dump behind it, for pages that only need one to exist (restore confirmation,
permissions). Tests that need a real dump make one through a real backup instead."""

from operations.models import Backup


def catalog_row(**changes) -> Backup:
    fields = dict(
        file_name="neo4j-20260101-000000.dump",
        target="local",
        database="neo4j",
        size=1,
        sha256="0" * 64,
        neo4j_version="5.26.12",
        node_count=0,
        relationship_count=0,
        requested_by_label="cli:x",
    )
    return Backup.objects.create(**{**fields, **changes})
