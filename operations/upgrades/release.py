"""What a release upgrade decides before it touches anything: pure functions over what was found.

The guide's common upgrade ("re-deployment of the API and compute services with a Docker image corresponding to that
new release, and informing your users to also upgrade their client environments") in the portal's words:

1. *Find* the deployment's alchemiscale services by their compose labels and the image each runs (:func:`current`);
2. *check* that the new release's image is on the engine and name what to pull when it is not (:func:`problems`);
3. *back up* the state store first, online where the storage allows (the backups app's procedure);
4. *re-deploy* each service on the new image, keeping everything compose gave it, and point compose's ``.env``
   (``ALCHEMISCALE_DOCKER_IMAGE``) at it;
5. *wait* until each service answers its health check;
6. *migrate* the state store's schema when the registry says the new release needs it (:func:`needed_migrations`:
   none from 0.4 to 0.8);
7. *tell users* (``notices.py``), once the upgrade is recorded.

Any failure in 4-6 puts every service back on its old image. The procedure is ``release_procedure.py``; the page and
``manage.py upgrade_release`` call ``release_services.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

#: a release tag as alchemiscale names them (v0.8.0, v0.6.2-1, v0.4.1-beta.1)
RELEASE_TAG = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-.+][0-9A-Za-z.-]+)?$")


class BadTag(ValueError):
    pass


def split_image(image: str) -> tuple[str, str]:
    """``ghcr.io/openforcefield/alchemiscale-server:v0.8.0`` -> (repository, tag); a registry port is not a tag."""
    repo, sep, tag = image.rpartition(":")
    if not sep or "/" in tag:
        return image, "latest"
    return repo, tag


def release_of(tag: str) -> tuple[int, int, int]:
    """(major, minor, patch) of a release tag; BadTag for anything else."""
    found = RELEASE_TAG.match(tag.strip())
    if not found:
        raise BadTag(f"{tag!r} is not a release tag like v0.8.0")
    return int(found[1]), int(found[2]), int(found[3] or 0)


def major_minor(tag: str) -> str:
    major, minor, _ = release_of(tag)
    return f"{major}.{minor}"


def new_image(repository: str, tag: str) -> str:
    """The image of release ``tag`` in the repository the services run from; a full image reference is taken
    as it is."""
    tag = tag.strip()
    if not tag or any(c.isspace() for c in tag):
        raise BadTag(f"{tag!r} is not a tag")
    if "/" in tag or ":" in tag:
        return tag
    return f"{repository}:{tag}"


def current(services: Iterable[dict[str, Any]]) -> tuple[str, str]:
    """(repository, tag) the services run; BadTag when they do not all run one image."""
    images = sorted({s["image"] for s in services})
    if not images:
        raise BadTag("no alchemiscale service was found")
    if len(images) > 1:
        raise BadTag(f"the alchemiscale services run different images ({', '.join(images)}); re-deploy them by hand")
    return split_image(images[0])


def needed_migrations(from_tag: str, to_tag: str, migrations: Iterable[Any], applied: set[str]) -> list[str]:
    """Names of the registry's schema migrations (same Neo4j before and after) that a move from ``from_tag`` to
    ``to_tag`` crosses (their alchemiscale release is after the old one and not after the new one) and that are
    not yet applied, in the registry's order."""
    start, end = release_of(from_tag)[:2], release_of(to_tag)[:2]
    out = []
    for m in migrations:
        if m.neo4j_from != m.neo4j_to:
            continue  # a data migration moves Neo4j itself: a store upgrade of its own, never part of a release
        to = tuple(int(x) for x in m.alchemiscale_to.split("."))[:2]
        if start < to <= end and m.name not in applied:
            out.append(m.name)
    return out


def problems(
    *,
    found: list[dict[str, Any]],
    missing: list[str],
    to_tag: str,
    new_image_present: bool,
    migrations: list[str],
    cli_image: str,
) -> list[str]:
    """Why the upgrade cannot go ahead (empty when it can); each names what to do."""
    if not found:
        return [f"no alchemiscale service was found (looked for {', '.join(missing)}); is the deployment up?"]
    out = []
    try:
        repository, from_tag = current(found)
    except BadTag as exc:
        return [str(exc)]
    try:
        image = new_image(repository, to_tag)
        release_of(split_image(image)[1])
    except BadTag as exc:
        return [str(exc)]
    if split_image(image)[1] == from_tag and repository == split_image(image)[0]:
        out.append(f"the services already run {image}")
    try:
        if release_of(split_image(image)[1]) < release_of(from_tag):
            out.append(f"{to_tag} is older than {from_tag}: going back is a rollback of the upgrade, not an upgrade")
    except BadTag:
        pass  # the running tag is not a release (e.g. latest): nothing to compare with
    if not new_image_present:
        out.append(f"the image {image} is not on the Docker engine; pull it first: docker pull {image}")
    if migrations and cli_image != image:
        out.append(
            f"{to_tag} needs the schema migration(s) {', '.join(migrations)}, run with PORTAL_ALCHEMISCALE_IMAGE "
            f"({cli_image}); set it to {image} first"
        )
    return out
