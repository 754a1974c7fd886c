"""Property-based: hostile CSV. Exported cells never start a spreadsheet formula and read back unchanged; any bytes
uploaded give a plan or one clear file error; duplicates within a file, too many bytes or rows are refused."""

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from identities import csvfile, importing, store
from identities.admin.queryset import NodeQuerySet
from identities.csvfile import FORMULA_STARTS, MAX_BYTES, MAX_ROWS, CsvFileError, guard, unguard
from identities.nodes import KINDS

from .identity_support import seed_plain

EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
USER = KINDS["user"]
FORMULAS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "'=1", "''+x", "=HYPERLINK(\"x\")"]
hostile_text = st.one_of(
    st.sampled_from(FORMULAS),
    st.text(max_size=40),
    st.tuples(st.sampled_from(FORMULAS), st.text(max_size=10)).map("".join),
    st.text(alphabet="'=+-@\t\r a", max_size=8),
)


@pytest.mark.unit
@given(text=hostile_text)
def test_guard_neutralises_formulas_and_reads_back_exactly(text):
    written = guard(text)
    assert not written.startswith(FORMULA_STARTS)
    assert unguard(written) == text


@pytest.mark.django_db
@EXAMPLES
@given(full_name=hostile_text, email=hostile_text, scope_head=st.sampled_from(["=a", "-a", "a"]))
def test_exported_cells_never_start_a_formula(full_name, email, scope_head):
    store.cypher("MATCH (n:CredentialedEntity) DETACH DELETE n")
    # Written straight to Neo4j (as alchemiscale or a hand-made query could): export must cope with any value.
    seed_plain(
        "user", [{"identifier": "x1", "full_name": full_name, "email": email, "scopes": [scope_head + "-b-c", "a-b-c"]}]
    )
    text = "".join(csvfile.csv_lines(USER, csvfile.in_batches(NodeQuerySet(USER)), bom=True))
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    assert rows[0] == list(csvfile.COLUMNS)
    for cell in rows[1]:
        assert not cell.startswith(FORMULA_STARTS), cell
    assert unguard(rows[1][3]) == full_name and unguard(rows[1][2]) == email
    assert "$2b$" not in text


@pytest.mark.django_db
@EXAMPLES
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.lists(st.text(max_size=12), max_size=5).map(
            lambda cells: ("identifier,email\n" + "\n".join(cells)).encode("utf-8", "surrogatepass")
        ),
    )
)
def test_any_bytes_give_a_plan_or_one_clear_file_error(data):
    try:
        plan = importing.plan_file(USER, data)
    except CsvFileError as exc:
        assert str(exc)
        return
    for row in plan.rows:
        assert row.action in (importing.CREATE, importing.ERROR)
        assert (row.action == importing.ERROR) == bool(row.error)


def _file(rows: list[list[str]], header=("identifier", "email", "scopes")) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@pytest.mark.django_db
@EXAMPLES
@given(
    rows=st.lists(
        st.tuples(
            st.from_regex(r"[a-z][a-z0-9.]{0,8}", fullmatch=True),
            st.sampled_from(["", "p@example.org", "=evil@x.org"]),
            st.sampled_from(["", "a-b-c", "a-*-*", "a-b-c a-b-c"]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_utf8_with_or_without_bom_reads_the_same(rows):
    text = _file([list(r) for r in rows])
    plain = importing.plan_file(USER, text.encode("utf-8"))
    with_bom = importing.plan_file(USER, b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert plain.digest() == with_bom.digest()


@pytest.mark.unit
@pytest.mark.django_db
@EXAMPLES
@given(
    head=st.from_regex(r"[a-z]{1,5}", fullmatch=True),
    odd=st.characters(min_codepoint=0x80, max_codepoint=0xFF),
    encoding=st.sampled_from(["latin-1", "cp1252"]),
)
def test_other_encodings_are_refused_with_a_clear_error(head, odd, encoding):
    try:
        data = f"identifier,full_name\n{head},x{odd}y\n".encode(encoding)
    except UnicodeEncodeError:
        return
    with pytest.raises(CsvFileError, match="not UTF-8 text .* save it as 'CSV UTF-8'"):
        importing.plan_file(USER, data)
    with pytest.raises(CsvFileError, match="UTF-16"):
        importing.plan_file(USER, f"identifier\n{head}\n".encode("utf-16"))


@pytest.mark.unit
@pytest.mark.django_db
@settings(max_examples=5, deadline=None)
@given(extra_bytes=st.integers(1, 5000), extra_rows=st.integers(1, 50))
def test_huge_files_are_refused_before_reading_rows(extra_bytes, extra_rows):
    with pytest.raises(CsvFileError, match=f"at most {MAX_BYTES}"):
        importing.plan_file(USER, b"identifier\n" + b"a" * (MAX_BYTES + extra_bytes))
    with pytest.raises(CsvFileError, match=f"more than {MAX_ROWS} rows"):
        importing.plan_file(USER, b"identifier\n" + b"a\n" * (MAX_ROWS + extra_rows))
    with pytest.raises(CsvFileError, match="not valid CSV"):
        importing.plan_file(USER, b'identifier\n"' + b"a" * 200_000 + b'"\n')  # one cell past the csv module's limit


@pytest.mark.django_db
@EXAMPLES
@given(identifiers=st.lists(st.sampled_from(["ann", "ben", "cat", "dan", "eve"]), min_size=1, max_size=10))
def test_duplicate_identifiers_in_a_file_are_error_rows(identifiers):
    plan = importing.plan_text(USER, _file([[i, "", "a-b-c"] for i in identifiers]))
    for identifier, row in zip(identifiers, plan.rows):
        if identifiers.count(identifier) > 1:
            assert row.action == importing.ERROR and "only once" in row.error
        else:
            assert row.action == importing.CREATE
