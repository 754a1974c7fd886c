"""Importing identities from CSV: a plan first (each row create / update / unchanged / error), then, once confirmed,
the plan carried out through the same service functions as every other change, so the audit log is filled.

What an import may do (docs/identities-csv.md):
- create an identity that does not exist, with a generated key (returned once to the caller);
- for an existing one, set the columns the file has: email, full name, expiry and scopes (the file's list replaces
  the granted one; order does not matter), and disable it (lock it out) when ``disabled`` says yes;
- never enable an identity (a stale file must not let a locked-out identity back in: use Enable), never delete one,
  never touch a key.
A column missing from the header leaves that property as it is; an empty cell in a present column clears it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from . import services, store
from .audit import Actor
from .csvfile import NO, YES, CsvFileError, CsvRow, decode, read_table, unguard
from .models import ParkedKey
from .nodes import IdentityKind
from .rules import IdentityError, check_scope_count, validate_identifier
from .scope import InvalidScope, parse_scopes

CREATE, UPDATE, UNCHANGED, ERROR = "create", "update", "unchanged", "error"
_SCOPE_SPLIT = re.compile(r"[\s,;]+")
TRUE_WORDS, FALSE_WORDS = {YES, "true", "1", "y"}, {NO, "false", "0", "n", ""}
EXPIRES_RULE = (
    "the expiry is an ISO 8601 date or date and time, e.g. 2027-01-31 or 2027-01-31T12:00:00+00:00 (UTC "
    "when no offset is given)"
)


@dataclass
class RowPlan:
    number: int
    identifier: str
    action: str
    changes: list[str] = field(default_factory=list)  # what will change, in words
    error: str = ""
    notes: list[str] = field(default_factory=list)  # what will deliberately not change, and why
    # What the services are called with.
    details: dict[str, Any] = field(default_factory=dict)
    scopes: list[str] | None = None
    disable: bool = False


@dataclass
class ImportPlan:
    kind: IdentityKind
    rows: list[RowPlan]
    columns: list[str]

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def errors(self) -> list[RowPlan]:
        return [row for row in self.rows if row.action == ERROR]

    @property
    def writes(self) -> list[RowPlan]:
        return [row for row in self.rows if row.action in (CREATE, UPDATE)]

    def digest(self) -> str:
        """Identifies what the preview showed: confirming applies only a plan with the same digest."""
        shown = [(r.number, r.identifier, r.action, r.changes, r.error) for r in self.rows]
        return hashlib.sha256(json.dumps([self.kind.name, shown]).encode()).hexdigest()

    def summary(self) -> str:
        return ", ".join(f"{self.count(a)} {a}" for a in (CREATE, UPDATE, UNCHANGED, ERROR))


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    keys: list[tuple[str, str]] = field(default_factory=list)


# ---- the plan ----------------------------------------------------------------------------------------------------


def plan_file(
    kind: IdentityKind, data: bytes, *, may: set[str] | None = None, max_new: int | None = None
) -> ImportPlan:
    """Read and check a whole file against the store; writes nothing. ``may`` limits what rows may do (for staff
    without every right: ``{"add", "change", "disable"}``); ``max_new`` caps the identities one import creates."""
    return plan_text(kind, decode(data), may=may, max_new=max_new)


def plan_text(kind: IdentityKind, text: str, *, may: set[str] | None = None, max_new: int | None = None) -> ImportPlan:
    table = read_table(text)
    identifiers = [unguard(row.cells.get("identifier", "")) for row in table.rows]
    current = _current(kind, [i for i in identifiers if i])
    seen: dict[str, list[int]] = {}
    for row, identifier in zip(table.rows, identifiers):
        seen.setdefault(identifier, []).append(row.number)
    rows = []
    for row, identifier in zip(table.rows, identifiers):
        plan = RowPlan(row.number, identifier, ERROR)
        try:
            if len(seen[identifier]) > 1 and identifier:
                others = [str(n) for n in seen[identifier] if n != row.number]
                raise IdentityError(
                    f"the identifier {identifier!r} is also on line(s) {', '.join(others)}: each "
                    "identity may appear only once in a file"
                )
            _plan_row(kind, row, identifier, current.get(identifier), table.columns, plan)
            _check_rights(kind, plan, may)
        except (IdentityError, InvalidScope) as exc:
            plan.action, plan.error, plan.changes = ERROR, str(exc), []
        rows.append(plan)
    result = ImportPlan(kind, rows, table.columns)
    if max_new is not None and result.count(CREATE) > max_new:
        raise CsvFileError(
            f"the file would create {result.count(CREATE)} identities; at most {max_new} are created "
            "in one import here (each new key is hashed with bcrypt, about a quarter of a second "
            "each): split the file, or use `manage.py identity import`"
        )
    return result


def _current(kind: IdentityKind, identifiers: list[str]) -> dict[str, dict[str, Any]]:
    """The existing identities named in the file: their public properties and whether the portal locked them out."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(identifiers), 5000):
        chunk = identifiers[start : start + 5000]
        for (node,) in store.cypher(
            f"MATCH (n:{kind.label}) WHERE n.identifier IN $identifiers RETURN n", {"identifiers": chunk}
        ):
            entity = kind.model.inflate(node)
            found[entity.identifier] = {"node": entity}
    parked = {p.identifier: p for p in ParkedKey.objects.filter(identity_kind=kind.name, identifier__in=list(found))}
    for identifier, info in found.items():
        info["locked"] = services.is_locked(info["node"], parked.get(identifier))
    return found


def _parse_expires(text: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise IdentityError(f"invalid expiry {text!r}: {EXPIRES_RULE}") from None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    # Converted here, once: with an offset, a date valid in its own zone can lie past year 9999 or before year 1 in
    # UTC (9999-12-31T23:00-05:00), and every later use (the preview, comparing, storing) would meet an OverflowError.
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        where = "beyond the year 9999" if value.year == dt.MAXYEAR else "before the year 1"
        raise IdentityError(f"invalid expiry {text!r}: it is {where} in UTC; {EXPIRES_RULE}") from None


def _scopes(text: str) -> list[str]:
    # Scopes never contain spaces, commas or semicolons, so any of them may separate scopes in a hand-edited cell.
    return [str(s) for s in dict.fromkeys(parse_scopes([s for s in _SCOPE_SPLIT.split(text) if s]))]


def _parse_disabled(text: str) -> bool:
    word = text.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise IdentityError(f"invalid disabled value {text!r}: write yes or no")


def _plan_row(
    kind: IdentityKind, row: CsvRow, identifier: str, current: dict[str, Any] | None, columns: list[str], plan: RowPlan
) -> None:
    if row.problem:
        raise IdentityError(row.problem)
    cells = {name: unguard(row.cells.get(name, "")) for name in columns}
    validate_identifier(identifier)
    if cells.get("type") and cells["type"] != kind.name:
        raise IdentityError(f"the row is of type {cells['type']!r}, but this import is for {kind.name} identities")
    if "full_name" in cells and cells["full_name"] and "full_name" not in kind.detail_fields:
        raise IdentityError(f"a {kind.name} identity has no full name")
    wanted: dict[str, Any] = {name: cells[name] for name in kind.detail_fields if name in cells and name != "expires"}
    if "expires" in cells:
        wanted["expires"] = _parse_expires(cells["expires"])
    details = services.clean_details(kind, wanted)
    scopes = _scopes(cells["scopes"]) if "scopes" in cells else None
    disabled = _parse_disabled(cells["disabled"]) if "disabled" in cells else None

    if scopes is not None:
        granted_count = len((current["node"].scopes or []) if current is not None else [])
        check_scope_count(identifier, len(scopes), granted_count)
    if current is None:
        plan.action = CREATE
        plan.details = {k: v for k, v in details.items() if v is not None}
        plan.scopes = scopes or []
        plan.disable = bool(disabled)
        plan.changes = [f"new {kind.name} identity with a generated key"]
        plan.changes += [f"{name}: {_shown(value)}" for name, value in plan.details.items()]
        plan.changes += [f"scopes: {' '.join(plan.scopes) or '(none)'}"]
        if plan.disable:
            plan.changes.append("then disabled (locked out)")
        return
    node = current["node"]
    for name, value in details.items():
        if getattr(node, name, None) != value:
            plan.details[name] = value
            plan.changes.append(f"{name}: {_shown(getattr(node, name, None))} -> {_shown(value)}")
    granted = list(node.scopes or [])
    if scopes is not None and set(scopes) != set(granted):
        plan.scopes = scopes
        added = [s for s in scopes if s not in granted]
        removed = [s for s in granted if s not in scopes]
        plan.changes.append("scopes: " + " ".join([f"+{s}" for s in added] + [f"-{s}" for s in removed]))
    if disabled is True and not current["locked"]:
        plan.disable = True
        plan.changes.append("disable (lock out)")
    elif disabled is False and (current["locked"] or node.disabled):
        plan.notes.append(
            "stays disabled: an import never enables an identity (use Enable on its page or "
            "`manage.py identity enable`)"
        )
    plan.action = UPDATE if plan.changes else UNCHANGED


def _check_rights(kind: IdentityKind, plan: RowPlan, may: set[str] | None) -> None:
    if may is None or plan.action in (ERROR, UNCHANGED):
        return
    needed = {"add"} if plan.action == CREATE else set()
    if plan.action == UPDATE and (plan.details or plan.scopes is not None):
        needed.add("change")
    if plan.disable:
        needed.add("disable")
    missing = sorted(needed - may)
    if missing:
        raise IdentityError(
            f"you may not {' or '.join(missing)} {kind.name} identities "
            f"(permission{'s' if len(missing) > 1 else ''} "
            f"{', '.join(f'{m}_identity' for m in missing)})"
        )


def _shown(value: Any) -> str:
    if value in (None, ""):
        return "(none)"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return str(value)


# ---- carrying it out --------------------------------------------------------------------------------------------


def apply(plan: ImportPlan, actor: Actor) -> ImportResult:
    """Carry out a plan without errors, row by row through the services (each call audited). A row that fails now
    (e.g. someone created that identity since the preview) is reported; the others still go through."""
    if plan.errors:
        raise CsvFileError(f"{len(plan.errors)} row(s) have errors: nothing was written; fix the file and try again")
    kind, result = plan.kind, ImportResult()
    for row in plan.writes:
        try:
            if row.action == CREATE:
                _, key = services.add_identity(
                    kind, row.identifier, None, actor, scopes=row.scopes or [], **row.details
                )
                result.keys.append((row.identifier, key))
                if row.disable:
                    services.disable_identity(kind, row.identifier, actor)
                result.created.append(row.identifier)
                continue
            if row.details:
                services.update_details(kind, row.identifier, actor, **row.details)
            if row.scopes is not None:
                services.set_scopes(kind, row.identifier, row.scopes, actor)
            if row.disable:
                services.disable_identity(kind, row.identifier, actor)
            result.updated.append(row.identifier)
        except (IdentityError, InvalidScope) as exc:
            result.failed.append(f"line {row.number}, {row.identifier}: {exc}")
    return result
