"""The fleet lives in Neo4j; the portal's database only carries the permission to look at it."""

from __future__ import annotations

from django.db import models


class FleetRights(models.Model):
    """Holds ``compute.view_fleet`` (the operator role has it: security/roles.py); there is no table."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = (("view_fleet", "Can view compute services, managers and tasks"),)
