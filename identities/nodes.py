"""The identity nodes alchemiscale keeps in Neo4j, as neomodel ``DjangoNode`` models (docs/facts.md).

These classes describe and read the nodes; writes go through ``identities.services`` with parameterised Cypher so
the stored shape is exactly alchemiscale's (absent rather than null properties, a plain list of scope strings,
expiry as a native Neo4j datetime). Nothing here installs labels, indexes or constraints.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import neo4j.time
from django.db.models.options import Options
from django_neomodel import DjangoField, DjangoNode
from neomodel import ArrayProperty, BooleanProperty, StringProperty
from neomodel.properties import Property


class NativeDateTimeProperty(Property):
    """A datetime stored as Neo4j's own DATETIME, as alchemiscale stores ``expires``.

    neomodel's DateTimeProperty stores a float timestamp, which alchemiscale would not understand.
    """

    form_field_class = "DateTimeField"

    def inflate(self, value, obj=None):
        if isinstance(value, (neo4j.time.DateTime, neo4j.time.Date)):
            value = value.to_native()
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            # alchemiscale may write naive datetimes (LOCAL DATETIME); it means UTC.
            value = value.replace(tzinfo=dt.UTC)
        return value

    def deflate(self, value, obj=None):
        return value


class _AdminOptions:
    """Django ``_meta`` for a node class, built once, with ``identifier`` as the primary key.

    django-neomodel's own ``_meta`` sets ``cls.pk`` to the Property object, so ``obj.pk`` would not be the identifier
    and the admin's URLs and history would carry a bogus object id (docs/facts.md).
    """

    def __get__(self, instance, owner):
        opts = owner.__dict__.get("_admin_options")
        if opts is None:
            opts = Options(owner.Meta, app_label=owner.Meta.app_label)
            opts.contribute_to_class(owner, owner.__name__)
            for name, prop in owner.__all_properties__:
                field = DjangoField(prop, name)
                if name == "identifier":
                    field.primary_key = True
                    field.unique = True
                field.null = name != "identifier"
                opts.add_field(field)
            # contribute_to_class stored opts as owner._meta; put the descriptor back and cache by another name.
            owner._admin_options = opts
            owner._meta = self
        return opts


class CredentialedEntity(DjangoNode):
    """What every identity node carries (label ``CredentialedEntity``)."""

    identifier = StringProperty(required=True)
    hashed_key = StringProperty()
    scopes = ArrayProperty(StringProperty(), default=list)
    disabled = BooleanProperty(default=False)
    expires = NativeDateTimeProperty()
    email = StringProperty()

    _meta = _AdminOptions()

    class Meta:
        app_label = "identities"

    @property
    def pk(self) -> str:
        return self.identifier

    def __str__(self) -> str:
        return self.identifier or ""

    def is_expired(self, now: dt.datetime | None = None) -> bool:
        return self.expires is not None and self.expires <= (now or dt.datetime.now(dt.UTC))


class UserIdentity(CredentialedEntity):
    __label__ = "CredentialedUserIdentity"
    full_name = StringProperty()

    _meta = _AdminOptions()

    class Meta:
        app_label = "identities"
        verbose_name = "user identity"
        verbose_name_plural = "user identities"


class ComputeIdentity(CredentialedEntity):
    __label__ = "CredentialedComputeIdentity"

    _meta = _AdminOptions()

    class Meta:
        app_label = "identities"
        verbose_name = "compute identity"
        verbose_name_plural = "compute identities"


@dataclass(frozen=True)
class IdentityKind:
    """One of alchemiscale's two identity types, as named on its command line (``-t user|compute``)."""

    name: str
    label: str
    model: type[CredentialedEntity]
    # Properties the portal may set besides identifier/key/scopes/disabled; fixed names, never user input.
    detail_fields: tuple[str, ...]

    @property
    def labels(self) -> str:
        """Label expression for query text; built from the constants below only."""
        return f"CredentialedEntity:{self.label}"


USER = IdentityKind("user", "CredentialedUserIdentity", UserIdentity, ("email", "full_name", "expires"))
COMPUTE = IdentityKind("compute", "CredentialedComputeIdentity", ComputeIdentity, ("email", "expires"))
KINDS: dict[str, IdentityKind] = {USER.name: USER, COMPUTE.name: COMPUTE}
KIND_OF_MODEL = {kind.model: kind for kind in KINDS.values()}


def kind_named(name: str) -> IdentityKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown identity type {name!r}: use 'user' or 'compute'") from None
