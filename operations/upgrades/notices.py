"""Telling alchemiscale's users about a release: the guide's "informing your users to also upgrade their client
environments", as a notice by e-mail through Django's mail settings (``EMAIL_*``).

Who: every *user* identity in the state store (``CredentialedUserIdentity``) whose ``email`` property holds an
address; alchemiscale stores it as an optional property (absent when None), as it stores ``full_name``. Compute
identities are machines (their ``email`` names whoever runs them) and never get it: the query names the user label
and excludes the compute one. Identities without a usable address are listed, so staff can reach them otherwise.
Each recipient gets a message of their own (no one sees the others' addresses); what the mail server accepted and
refused is recorded on the notice (``operations.models.ReleaseNotice``).
"""

from __future__ import annotations

import dataclasses

from django.conf import settings
from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email

from identities import store
from identities.nodes import COMPUTE, USER

from ..models import ReleaseNotice, ReleaseUpgrade
from . import release
from .release_procedure import ReleaseUpgradeProcedure

User = AbstractUser | AnonymousUser | None

#: user identities only: the user label, and never a node that is also a compute identity
USERS = (
    f"MATCH (n:{USER.labels}) WHERE NOT n:{COMPUTE.label} "
    "RETURN n.identifier, n.email, n.full_name ORDER BY n.identifier"
)


@dataclasses.dataclass(frozen=True)
class Recipient:
    identifier: str
    email: str
    full_name: str = ""


def audience() -> tuple[list[Recipient], list[str]]:
    """(user identities with a usable e-mail address, identifiers of those without one)."""
    reachable, unreachable = [], []
    for identifier, email, full_name in store.cypher(USERS):
        address = (email or "").strip()
        try:
            validate_email(address)
        except ValidationError:
            unreachable.append(identifier)
            continue
        reachable.append(Recipient(identifier, address, full_name or ""))
    return reachable, unreachable


def client_version(tag: str) -> str:
    """The client release to ask for: alchemiscale's client and server are released together, one version."""
    try:
        major, minor, patch = release.release_of(tag)
    except release.BadTag:
        return tag.lstrip("v")
    return f"{major}.{minor}.{patch}"


def default_subject(version: str) -> str:
    return f"alchemiscale has been upgraded to {version}"


def default_body(version: str, client: str) -> str:
    return (
        f"Hello,\n\nthe alchemiscale server you use now runs release {version}.\n\n"
        f"Please upgrade your client environment to alchemiscale-client {client}, for example:\n\n"
        f"    micromamba install -n alchemiscale-client -c conda-forge alchemiscale-client={client}\n\n"
        f"Your identity, key and scopes are unchanged.\n"
    )


def can_notify(user: User) -> bool:
    """Whoever may upgrade the release may tell users about it."""
    return ReleaseUpgradeProcedure.allowed(user)


def send(
    *,
    version: str,
    client: str,
    subject: str,
    body: str,
    user: User,
    label: str,
    upgrade: ReleaseUpgrade | None = None,
) -> ReleaseNotice:
    """Send the notice to every user identity with an e-mail address, one message each; recorded."""
    if not can_notify(user):
        raise PermissionDenied("telling users about a release needs the right to upgrade it")
    if not subject.strip() or not body.strip():
        raise ValueError("the notice needs a subject and a text")
    reachable, unreachable = audience()
    sent, failed = [], []
    with get_connection() as connection:
        for r in reachable:
            message = EmailMessage(subject.strip(), body, settings.DEFAULT_FROM_EMAIL, [r.email], connection=connection)
            try:
                message.send()
            except Exception as exc:  # smtplib and socket errors alike: recorded per recipient, the others still go
                failed.append({"identifier": r.identifier, "email": r.email, "error": str(exc)[:300]})
                continue
            sent.append({"identifier": r.identifier, "email": r.email})
    return ReleaseNotice.objects.create(
        release=upgrade,
        version=version,
        client_version=client,
        subject=subject.strip(),
        body=body,
        by=user if user is not None and user.is_authenticated else None,  # type: ignore[misc]  # the auth model
        by_label=label,
        recipients=sent,
        failed=failed,
        without_email=unreachable,
    )
