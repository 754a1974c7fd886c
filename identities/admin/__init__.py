"""The identity admin: an adapter that lets Django's built-in admin list and edit Neo4j identity nodes.

- ``queryset.NodeQuerySet`` answers the changelist's filter / search / order / count / slice in parameterised Cypher;
- ``changelist`` keeps Django from appending ``-pk`` and counts at most COUNT_CAP matches;
- ``filters`` are SimpleListFilters that call NodeQuerySet;
- ``identity`` holds the ModelAdmins (``identifier`` is the primary key), ``operations`` the confirmed actions;
- ``audit`` the read-only audit log, ``scopes`` the scopes page.
"""

from django.contrib import admin

from . import audit  # noqa: F401  (registers the audit log)
from .identity import register

register(admin.site)
