"""``manage.py identity ...``: alchemiscale's ``identity`` command, with the same flags, on the portal's services.

    identity add          -t user|compute -i ID [-k KEY] [-s SCOPE ...] [--email E] [--full-name N]
    identity list         -t user|compute
    identity remove       -t user|compute -i ID
    identity add-scope    -t user|compute -i ID -s SCOPE [-s SCOPE ...]
    identity list-scope   -t user|compute -i ID
    identity remove-scope -t user|compute -i ID -s SCOPE [-s SCOPE ...]
    identity rotate-key   -t user|compute -i ID [-k KEY]
    identity disable      -t user|compute -i ID
    identity enable       -t user|compute -i ID
    identity lock-expired -t user|compute
    identity reconcile    [--min-age SECONDS]

Without -k, ``add`` and ``rotate-key`` generate a key and print it once. Bad input exits non-zero and writes nothing.
``reconcile`` settles changes a failure left unfinished, of both identity types (docs/identity-writes.md).
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from neo4j.exceptions import DriverError, Neo4jError

from identities import services, writes
from identities.audit import Actor
from identities.nodes import KINDS, kind_named
from identities.rules import IdentityError, validate_identifier
from identities.scope import InvalidScope

WITH_KEY = {"add", "rotate-key"}
WITH_SCOPES = {"add", "add-scope", "remove-scope"}
WITHOUT_IDENTIFIER = {"list", "lock-expired", "reconcile"}
WITHOUT_TYPE = {"reconcile"}
SUBCOMMANDS = {
    "add": "add an identity (prints a generated key when -k is not given)",
    "list": "list identifiers",
    "remove": "remove an identity",
    "add-scope": "grant scopes",
    "list-scope": "list an identity's scopes",
    "remove-scope": "take scopes away",
    "rotate-key": "replace the key, keeping the scopes (prints a generated key when -k is not given)",
    "disable": "lock the identity out of alchemiscale (its key stops working)",
    "enable": "let a disabled identity in again with its previous key",
    "lock-expired": "disable every identity whose expiry has passed (alchemiscale does not check expiry itself)",
    "reconcile": "finish, or record as never done, identity changes a failure left unfinished",
}


class Command(BaseCommand):
    help = "Manage alchemiscale identities and their scopes (same flags as alchemiscale's `identity` command)."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{" + ",".join(SUBCOMMANDS) + "}")
        for name, text in SUBCOMMANDS.items():
            p = sub.add_parser(name, help=text, description=text)
            if name not in WITHOUT_TYPE:
                p.add_argument("-t", "--identity-type", choices=sorted(KINDS), default="user",
                               help="the kind of identity (default: user)")
            if name not in WITHOUT_IDENTIFIER:
                p.add_argument("-i", "--identifier", required=True, help="the identity's identifier")
            if name in WITH_KEY:
                p.add_argument("-k", "--key", help="the key; omit to generate one")
            if name in WITH_SCOPES:
                p.add_argument("-s", "--scope", action="append", default=[], required=name != "add",
                               help="a scope org-campaign-project (repeat for several)")
            if name == "add":
                p.add_argument("--email", help="contact email")
                p.add_argument("--full-name", help="full name (user identities)")
            if name == "reconcile":
                p.add_argument("--min-age", type=int, default=int(writes.RECONCILE_MIN_AGE.total_seconds()),
                               metavar="SECONDS", help="leave changes younger than this alone: they may still be "
                               "running (default: %(default)s)")

    def handle(self, *args, **options) -> None:
        action = options["subcommand"]
        kind = kind_named(options["identity_type"]) if action not in WITHOUT_TYPE else None
        identifier = options.get("identifier")
        actor = Actor.command_line()
        try:
            if identifier is not None:
                validate_identifier(identifier)
            getattr(self, "do_" + action.replace("-", "_"))(kind, identifier, options, actor)
        except (IdentityError, InvalidScope) as exc:
            raise CommandError(str(exc)) from None

    def _note(self, text: str) -> None:
        self.stderr.write(f"note: {text}")

    def do_add(self, kind, identifier, options, actor) -> None:
        details = {"email": options.get("email")}
        if kind.name == "user":
            details["full_name"] = options.get("full_name")
        elif options.get("full_name"):
            raise CommandError("--full-name applies to user identities only")
        _, key = services.add_identity(kind, identifier, options.get("key"), actor, scopes=options["scope"],
                                       **{k: v for k, v in details.items() if v is not None})
        self.stdout.write(f"added {kind.name} identity {identifier}")
        if options.get("key") is None:
            self.stdout.write(f"key (shown only now; store it safely): {key}")

    def do_list(self, kind, identifier, options, actor) -> None:
        for found in services.list_identifiers(kind):
            self.stdout.write(found)

    def do_remove(self, kind, identifier, options, actor) -> None:
        services.remove_identity(kind, identifier, actor)
        self.stdout.write(f"removed {kind.name} identity {identifier}")
        self._note(services.TOKEN_NOTE)

    def do_add_scope(self, kind, identifier, options, actor) -> None:
        before, after = services.add_scopes(kind, identifier, options["scope"], actor)
        added = [s for s in after if s not in before]
        self.stdout.write(f"added to {identifier}: {', '.join(added) or 'nothing (already granted)'}")

    def do_list_scope(self, kind, identifier, options, actor) -> None:
        for scope in services.require_identity(kind, identifier).scopes or []:
            self.stdout.write(scope)

    def do_remove_scope(self, kind, identifier, options, actor) -> None:
        before, after = services.remove_scopes(kind, identifier, options["scope"], actor)
        removed = [s for s in before if s not in after]
        self.stdout.write(f"removed from {identifier}: {', '.join(removed) or 'nothing (none was granted)'}")
        if removed:
            self._note(services.TOKEN_NOTE)

    def do_rotate_key(self, kind, identifier, options, actor) -> None:
        key = services.rotate_key(kind, identifier, options.get("key"), actor)
        self.stdout.write(f"new key set for {kind.name} identity {identifier}; its scopes are unchanged")
        if options.get("key") is None:
            self.stdout.write(f"key (shown only now; store it safely): {key}")
        self._note(services.TOKEN_NOTE)

    def do_disable(self, kind, identifier, options, actor) -> None:
        changed = services.disable_identity(kind, identifier, actor)
        self.stdout.write(f"disabled {kind.name} identity {identifier}" if changed
                          else f"{kind.name} identity {identifier} was already disabled")
        self._note(services.DISABLE_NOTE)
        self._note(services.TOKEN_NOTE)

    def do_enable(self, kind, identifier, options, actor) -> None:
        outcome = services.enable_identity(kind, identifier, actor)
        self.stdout.write(f"{kind.name} identity {identifier}: {outcome}")

    def do_lock_expired(self, kind, identifier, options, actor) -> None:
        locked = services.lock_expired(kind, actor)
        for found in locked:
            self.stdout.write(f"locked out expired {kind.name} identity {found}")
        self.stdout.write(f"{len(locked)} expired {kind.name} identit{'y' if len(locked) == 1 else 'ies'} locked out")

    def do_reconcile(self, kind, identifier, options, actor) -> None:
        try:
            settled, left = writes.reconcile(dt.timedelta(seconds=options["min_age"]))
        except (DriverError, Neo4jError) as exc:
            raise CommandError(f"could not read Neo4j ({exc}); changes not yet settled stay unfinished, nothing "
                               "was lost: run reconcile again when Neo4j answers") from None
        for write in settled:
            self.stdout.write(f"{write.identity_kind} identity {write.identifier}: {write.action} started "
                              f"{write.started_at:%Y-%m-%d %H:%M:%S} UTC by {write.actor}: {write.get_state_display()}"
                              + ("" if write.state == write.State.DONE else f" ({write.outcome})"))
        self.stdout.write(f"{len(settled)} unfinished change{'' if len(settled) == 1 else 's'} settled")
        if left:
            self._note(f"{left} younger than {options['min_age']} s left alone (they may still be running); "
                       "run reconcile again later")
