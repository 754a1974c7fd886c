"""Identities as CSV: the columns, writing them safely for spreadsheets, and reading a file back (docs/identities-csv.md).

Only what staff may see goes out: never a key or a hash. Reading is strict about the container (size, encoding,
header, row count) and leaves the rules for each value to ``identities.importing``, which uses the services' own.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from .nodes import CredentialedEntity, IdentityKind

COLUMNS = ("identifier", "type", "email", "full_name", "scopes", "disabled", "expires")
# A spreadsheet treats a cell starting with one of these as a formula (or, for tab and CR, may shift it until it
# does); an exported cell that would start with one gets a leading apostrophe, which spreadsheets show as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"
YES, NO = "yes", "no"

# Limits for one imported file: a web request must finish, and the session keeps the file between preview and
# confirmation.
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 10_000
MAX_CELL = 4096


class CsvFileError(ValueError):
    """The file as a whole cannot be read; nothing in it is looked at further."""


# ---- writing ----------------------------------------------------------------------------------------------------


def _guarded(text: str) -> bool:
    # Also guards a text that already starts with the apostrophe before a formula start, so that reading back
    # (``unguard``) strips exactly what writing added, and every text survives the round trip unchanged.
    if text.startswith(FORMULA_STARTS):
        return True
    return text.startswith(GUARD) and _guarded(text[1:])


def guard(text: str) -> str:
    """The cell as written: never starting with a formula character."""
    return GUARD + text if _guarded(text) else text


def unguard(text: str) -> str:
    """What ``guard`` wrote, read back; a hand-typed leading apostrophe before a formula start goes too."""
    return text[1:] if text.startswith(GUARD) and _guarded(text[1:]) else text


def format_expires(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).isoformat() if value is not None else ""


def identity_row(kind: IdentityKind, node: CredentialedEntity) -> list[str]:
    cells = [
        node.identifier or "",
        kind.name,
        node.email or "",
        getattr(node, "full_name", None) or "",
        " ".join(node.scopes or []),
        YES if node.disabled else NO,
        format_expires(node.expires),
    ]
    return [guard(cell) for cell in cells]


class _Passthrough:
    """A "file" whose write returns the text, so csv.writer hands each line back (for streaming responses)."""

    def write(self, text: str) -> str:
        return text


def csv_lines(kind: IdentityKind, nodes: Iterable[CredentialedEntity], *, bom: bool = False) -> Iterator[str]:
    """The header and one line per identity. ``bom`` helps spreadsheets see UTF-8."""
    writer = csv.writer(_Passthrough(), lineterminator="\r\n")
    yield ("\ufeff" if bom else "") + writer.writerow(COLUMNS)
    for node in nodes:
        yield writer.writerow(identity_row(kind, node))


def write_identities(out: TextIO, kind: IdentityKind, nodes: Iterable[CredentialedEntity]) -> int:
    """Write the file; returns how many identities it holds."""
    count = -1
    for line in csv_lines(kind, nodes):
        out.write(line)
        count += 1
    return count


def write_keys(out: TextIO, kind: IdentityKind, keys: list[tuple[str, str]]) -> None:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["identifier", "type", "key"])
    for identifier, key in keys:
        writer.writerow([guard(identifier), kind.name, guard(key)])


def keys_csv(kind: IdentityKind, keys: list[tuple[str, str]]) -> str:
    out = io.StringIO()
    write_keys(out, kind, keys)
    return out.getvalue()


def in_batches(queryset, size: int = 2000) -> Iterator[CredentialedEntity]:
    """Every node of a NodeQuerySet, a page at a time, so an export of 100,000 identities never holds them all."""
    start = 0
    while True:
        batch = list(queryset[start : start + size])
        yield from batch
        if len(batch) < size:
            return
        start += size


# ---- reading ----------------------------------------------------------------------------------------------------


@dataclass
class CsvRow:
    number: int  # the line number in the file (the header is line 1), for messages staff can find
    cells: dict[str, str]
    problem: str = ""  # a row-level defect found while reading (e.g. too many cells)


@dataclass
class CsvTable:
    columns: list[str]
    rows: list[CsvRow] = field(default_factory=list)


def decode(data: bytes) -> str:
    """UTF-8 text, with or without a byte order mark; anything else is refused with what to do about it."""
    if len(data) > MAX_BYTES:
        raise CsvFileError(
            f"the file has {len(data)} bytes; at most {MAX_BYTES} ({MAX_BYTES // 1024 // 1024} MiB) "
            "are read in one import: split it"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CsvFileError("the file is UTF-16 text; save it as 'CSV UTF-8' (comma-separated) and upload that")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFileError(
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start} "
            "cannot be read); save it as 'CSV UTF-8' and upload that"
        ) from None
    if "\x00" in text:
        raise CsvFileError("the file contains a NUL character: it is not a CSV text file")
    return text


def _column_name(text: str) -> str:
    return unguard(text).strip().lower().replace(" ", "_")


def read_table(text: str) -> CsvTable:
    """The header and rows; blank lines are skipped. Raises CsvFileError for what makes the file unreadable."""
    first_line = text.split("\n", 1)[0]
    # Spreadsheets set to some locales write ';' between cells: accept that when the header clearly uses it.
    delimiter = ";" if ";" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise CsvFileError(
                "the file is empty: it needs a header line naming the columns, e.g. " + ",".join(COLUMNS)
            )
        columns = [_column_name(cell) for cell in header]
        _check_columns(columns)
        table = CsvTable(columns)
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(table.rows) >= MAX_ROWS:
                raise CsvFileError(
                    f"the file has more than {MAX_ROWS} rows; at most {MAX_ROWS} are read in one import: split it"
                )
            row = CsvRow(reader.line_num, dict(zip(columns, (cell.strip() for cell in cells))))
            if len(cells) > len(columns):
                row.problem = f"the row has {len(cells)} cells but the header names {len(columns)} columns"
            elif any(len(cell) > MAX_CELL for cell in cells):
                row.problem = f"a cell has more than {MAX_CELL} characters"
            table.rows.append(row)
    except csv.Error as exc:
        raise CsvFileError(f"line {reader.line_num}: not valid CSV ({exc})") from None
    return table


def _check_columns(columns: list[str]) -> None:
    secret = [c for c in columns if "key" in c or "hash" in c or "password" in c]
    if secret:
        raise CsvFileError(
            f"the file has a {secret[0]!r} column: keys and hashes are never imported (new identities "
            "get generated keys; use Rotate key for existing ones)"
        )
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise CsvFileError(
            f"unknown column(s) {', '.join(repr(c) for c in unknown)}; the columns are " + ", ".join(COLUMNS)
        )
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise CsvFileError(f"the column(s) {', '.join(repeated)} appear more than once in the header")
    if "identifier" not in columns:
        raise CsvFileError("the header has no 'identifier' column; the columns are " + ", ".join(COLUMNS))
