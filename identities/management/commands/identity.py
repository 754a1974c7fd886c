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
    identity export       -t user|compute [--output FILE]
    identity import       -t user|compute FILE [--confirm] [--keys FILE]

Without -k, ``add`` and ``rotate-key`` generate a key and print it once. Bad input exits non-zero and writes nothing.
``reconcile`` settles changes a failure left unfinished, of both identity types (docs/identity-writes.md).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import TextIO, cast

from django.core.management.base import BaseCommand, CommandError
from neo4j.exceptions import DriverError, Neo4jError

from identities import csvfile, importing, services, writes
from identities.admin.queryset import NodeQuerySet
from identities.audit import Actor
from identities.nodes import KINDS, kind_named
from identities.rules import IdentityError, validate_identifier
from identities.scope import InvalidScope
from identities.unavailable import UNAVAILABLE, explanation

CSV_SUBCOMMANDS = ("export", "import")  # their own parsers below (docs/identities-csv.md)
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
        sub = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{" + ",".join([*SUBCOMMANDS, *CSV_SUBCOMMANDS]) + "}"
        )
        for name, text in SUBCOMMANDS.items():
            p = sub.add_parser(name, help=text, description=text)
            if name not in WITHOUT_TYPE:
                p.add_argument(
                    "-t",
                    "--identity-type",
                    choices=sorted(KINDS),
                    default="user",
                    help="the kind of identity (default: user)",
                )
            if name not in WITHOUT_IDENTIFIER:
                p.add_argument("-i", "--identifier", required=True, help="the identity's identifier")
            if name in WITH_KEY:
                p.add_argument("-k", "--key", help="the key; omit to generate one")
            if name in WITH_SCOPES:
                p.add_argument(
                    "-s",
                    "--scope",
                    action="append",
                    default=[],
                    required=name != "add",
                    help="a scope org-campaign-project (repeat for several)",
                )
            if name == "add":
                p.add_argument("--email", help="contact email")
                p.add_argument("--full-name", help="full name (user identities)")
            if name == "reconcile":
                p.add_argument(
                    "--min-age",
                    type=int,
                    default=int(writes.RECONCILE_MIN_AGE.total_seconds()),
                    metavar="SECONDS",
                    help="leave changes younger than this alone: they may still be running (default: %(default)s)",
                )

        # ---- identities as CSV (docs/identities-csv.md) ----
        p = sub.add_parser("export", help="write identities as CSV (never keys or hashes)")
        p.add_argument("-t", "--identity-type", choices=sorted(KINDS), default="user")
        p.add_argument("--output", help="the file to write (default: standard output)")
        p = sub.add_parser("import", help="create or update identities from a CSV file: a preview unless --confirm")
        p.add_argument("-t", "--identity-type", choices=sorted(KINDS), default="user")
        p.add_argument("file", help="the CSV file ('-' for standard input)")
        p.add_argument("--confirm", action="store_true", help="carry the import out (without it: preview only)")
        p.add_argument(
            "--keys", help="write the new identities' keys to this new file (mode 600) instead of standard output"
        )

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
        except UNAVAILABLE:
            raise CommandError(explanation()[0]) from None

    def _note(self, text: str) -> None:
        self.stderr.write(f"note: {text}")

    def do_add(self, kind, identifier, options, actor) -> None:
        details = {"email": options.get("email")}
        if kind.name == "user":
            details["full_name"] = options.get("full_name")
        elif options.get("full_name"):
            raise CommandError("--full-name applies to user identities only")
        _, key = services.add_identity(
            kind,
            identifier,
            options.get("key"),
            actor,
            scopes=options["scope"],
            **{k: v for k, v in details.items() if v is not None},
        )
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
        self.stdout.write(
            f"disabled {kind.name} identity {identifier}"
            if changed
            else f"{kind.name} identity {identifier} was already disabled"
        )
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
            raise CommandError(
                f"could not read Neo4j ({exc}); changes not yet settled stay unfinished, nothing "
                "was lost: run reconcile again when Neo4j answers"
            ) from None
        for write in settled:
            self.stdout.write(
                f"{write.identity_kind} identity {write.identifier}: {write.action} started "
                f"{write.started_at:%Y-%m-%d %H:%M:%S} UTC by {write.actor}: {write.get_state_display()}"
                + ("" if write.state == write.State.DONE else f" ({write.outcome})")
            )
        self.stdout.write(f"{len(settled)} unfinished change{'' if len(settled) == 1 else 's'} settled")
        if left:
            self._note(
                f"{left} younger than {options['min_age']} s left alone (they may still be running); "
                "run reconcile again later"
            )

    # ---- identities as CSV -------------------------------------------------------------------------------
    def do_export(self, kind, identifier, options, actor) -> None:
        if options.get("output"):
            with open(options["output"], "w", encoding="utf-8", newline="") as out:
                count = csvfile.write_identities(out, kind, csvfile.in_batches(NodeQuerySet(kind)))
            self.stderr.write(f"wrote {count} {kind.name} identities to {options['output']}")
        else:
            csvfile.write_identities(cast(TextIO, _Unended(self.stdout)), kind, csvfile.in_batches(NodeQuerySet(kind)))

    def do_import(self, kind, identifier, options, actor) -> None:
        keys_path = options.get("keys")
        if keys_path and os.path.exists(keys_path):
            raise CommandError(f"{keys_path} exists; the keys file must be new (keys are never overwritten)")
        try:
            data = sys.stdin.buffer.read() if options["file"] == "-" else Path(options["file"]).read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {options['file']}: {exc.strerror}") from None
        try:
            plan = importing.plan_file(kind, data)
        except csvfile.CsvFileError as exc:
            raise CommandError(f"{options['file']}: {exc}; nothing was written") from None
        for row in plan.rows:
            what = row.error if row.action == importing.ERROR else "; ".join(row.changes)
            self.stdout.write(f"line {row.number}: {row.action:<9} {row.identifier}" + (f"  {what}" if what else ""))
            for note in row.notes:
                self.stdout.write(f"    note: {note}")
        self.stdout.write(f"{len(plan.rows)} rows: {plan.summary()}")
        if plan.errors:
            raise CommandError(f"{len(plan.errors)} row(s) have errors (above): nothing was written")
        if not options["confirm"]:
            self.stdout.write("preview only: nothing was written; run again with --confirm to apply")
            return
        result = importing.apply(plan, actor)
        self.stdout.write(f"created {len(result.created)}, updated {len(result.updated)}, failed {len(result.failed)}")
        for failure in result.failed:
            self.stderr.write(f"failed: {failure}")
        if result.keys:
            self._write_keys(kind, result.keys, keys_path)
        if result.failed:
            raise CommandError(f"{len(result.failed)} row(s) failed while applying (above); the others were applied")

    def _write_keys(self, kind, keys, keys_path) -> None:
        text = csvfile.keys_csv(kind, keys)
        if keys_path:
            # O_EXCL: never replace a file, and created readable by its owner only.
            fd = os.open(keys_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                out.write(text)
            self.stdout.write(f"keys of the {len(keys)} new identities written to {keys_path}")
        else:
            self.stdout.write("keys of the new identities (shown only now; store them safely):")
            self.stdout.write(text, ending="")


class _Unended:
    """The command's stdout without its line ending added to each write (csv writes whole lines itself)."""

    def __init__(self, wrapper) -> None:
        self.wrapper = wrapper

    def write(self, text: str) -> None:
        self.wrapper.write(text, ending="")
