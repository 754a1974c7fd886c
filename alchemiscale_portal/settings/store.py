"""The alchemiscale state store: Neo4j, with alchemiscale's own variable names."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from security.masking import mask_url

from ..env import env_int, env_str

NEO4J_URL = env_str("NEO4J_URL")
NEO4J_USER = env_str("NEO4J_USER")
NEO4J_PASS = env_str("NEO4J_PASS")
NEO4J_DBNAME = env_str("NEO4J_DBNAME", "neo4j")
_neo4j_url = urlsplit(NEO4J_URL)
if _neo4j_url.scheme not in {"bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"} or not _neo4j_url.hostname:
    raise ImproperlyConfigured(f"NEO4J_URL must look like bolt://host:7687, got {mask_url(NEO4J_URL)!r}")
# neomodel takes credentials and database name inside the URL.
NEOMODEL_NEO4J_BOLT_URL = (
    f"{_neo4j_url.scheme}://{quote(NEO4J_USER, safe='')}:{quote(NEO4J_PASS, safe='')}@"
    f"{_neo4j_url.netloc.rsplit('@', 1)[-1]}/{quote(NEO4J_DBNAME, safe='')}"
)
# The state store's schema belongs to alchemiscale: never let neomodel install labels or constraints.
NEOMODEL_SIGNALS = True
NEOMODEL_FORCE_TIMEZONE = False
NEOMODEL_MAX_CONNECTION_POOL_SIZE = env_int("NEO4J_MAX_CONNECTION_POOL_SIZE", 20)
MAX_SCOPES_PER_IDENTITY = env_int("PORTAL_MAX_SCOPES_PER_IDENTITY", 1000)  # identities/rules.py
