"""A pg_dump archive, read without running any of it: its table of contents and its schema
statements checked against the schema the migrations build, and its table data as streams.

A restore loads only data. This module says whether an archive is a fitness backup: every
entry of its table of contents is one of ours (a table, its data, a sequence, a constraint,
an index, a trigger or a function of the migrations' schema), and every schema statement in
it, parsed by PostgreSQL's own parser (pglast) and never executed, defines exactly what the
migrations define. Anything else (a function, trigger, table, constraint, extension, large
object, ...) is named in `ArchiveRefused`.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import pglast
from pglast import ast
from pglast.enums import AlterTableType, ConstrType
from psycopg import Connection, sql

from fitness.errors import BackupError

# What a schema-only script of a backup may be, at most: fitness's is about 20 kB.
MAX_SCHEMA_BYTES: Final = 8 * 1024 * 1024
# Findings named in a refusal; beyond that they are counted.
MAX_FINDINGS_SHOWN: Final = 20
# How much of an archive's data stream is read at once (a line longer than this is passed
# on in pieces, so a hostile row cannot make the restore hold it whole).
CHUNK_BYTES: Final = 256 * 1024

# Table-of-contents entries a fitness backup holds, and the kind of object each names.
_OWN_ENTRY_KINDS: Final = {
    "TABLE": "table",
    "TABLE DATA": "table",
    "SEQUENCE": "sequence",
    "SEQUENCE SET": "sequence",
    "CONSTRAINT": "constraint",
    "CHECK CONSTRAINT": "constraint",
    "FK CONSTRAINT": "constraint",
    "INDEX": "index",
    "TRIGGER": "trigger",
    "FUNCTION": "function",
}
# Every kind of entry pg_dump writes (from its source), longest first, to read a list line.
_ENTRY_KINDS: Final = sorted(
    (
        *_OWN_ENTRY_KINDS,
        *"""ACCESS METHOD|ACL|AGGREGATE|BLOB|BLOB METADATA|BLOBS|CAST|COLLATION
        |COMMENT|CONVERSION|DATABASE|DATABASE PROPERTIES|DEFAULT|DEFAULT ACL|DOMAIN|ENCODING
        |EVENT TRIGGER|EXTENSION|FOREIGN DATA WRAPPER|FOREIGN SERVER|FOREIGN TABLE|INDEX ATTACH
        |LARGE OBJECT|LARGE OBJECTS|MATERIALIZED VIEW|MATERIALIZED VIEW DATA|OPERATOR
        |OPERATOR CLASS|OPERATOR FAMILY|POLICY|PROCEDURE|PROCEDURAL LANGUAGE|PUBLICATION
        |PUBLICATION TABLE|PUBLICATION TABLES IN SCHEMA|ROW SECURITY|RULE|SCHEMA|SEARCHPATH
        |SECURITY LABEL|SEQUENCE OWNED BY|SERVER|SHELL TYPE|STATISTICS|STATISTICS DATA
        |STDSTRINGS|SUBSCRIPTION|SUBSCRIPTION TABLE|TABLE ATTACH|TEXT SEARCH CONFIGURATION
        |TEXT SEARCH DICTIONARY|TEXT SEARCH PARSER|TEXT SEARCH TEMPLATE|TRANSFORM|TYPE
        |USER MAPPING|VIEW""".replace("\n", "")
        .replace(" |", "|")
        .split("|"),
    ),
    key=len,
    reverse=True,
)
_LIST_LINE: Final = re.compile(r"^\d+; \d+ \d+ (.*)$")
# psql meta-commands pg_restore 18 wraps its scripts in; not SQL, never sent anywhere.
_RESTRICT_LINE: Final = re.compile(rb"^\\(?:un)?restrict [A-Za-z0-9]+\r?$", re.MULTILINE)
# Physical column settings pg_dump may write (storage, statistics targets, options such as
# a server's own attribute options): they change no value and are never applied here.
_PHYSICAL_COLUMN_SETTINGS: Final = {
    AlterTableType.AT_SetOptions,
    AlterTableType.AT_ResetOptions,
    AlterTableType.AT_SetStorage,
    AlterTableType.AT_SetStatistics,
    AlterTableType.AT_SetCompression,
}


class ArchiveRefused(BackupError):
    """The archive holds something a fitness backup never does; nothing was restored."""

    def __init__(self, path: Path, findings: list[str]) -> None:
        shown = "; ".join(findings[:MAX_FINDINGS_SHOWN])
        more = len(findings) - MAX_FINDINGS_SHOWN
        super().__init__(
            f"{path} is refused, nothing was restored: it holds what a fitness backup never "
            f"does ({shown}{f'; and {more} more' if more > 0 else ''})"
        )
        self.findings = findings


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of an archive's table of contents (`line`, as `pg_restore --use-list`
    reads it): `kind` as pg_dump names it ("TABLE DATA"), `schema` ("-" for none), and
    `rest`, the object's tag followed by its owner."""

    kind: str
    schema: str
    rest: str
    line: str

    def is_named(self, tag: str) -> bool:
        """True when the entry's tag is `tag` (what follows it is the owner)."""
        return self.rest == tag or self.rest.startswith(tag + " ")


@dataclass(frozen=True, slots=True)
class Reference:
    """What the migrations build at one revision, in the two forms an archive is compared
    with: the objects by table-of-contents kind and tag, and the statements that define
    them, as pg_dump would write them. `columns` are each table's loadable columns,
    `constraints` the definition of each (table, constraint)."""

    schema: str
    tags: dict[str, set[str]]
    statements: str
    columns: dict[str, list[str]]
    load_order: list[str]
    constraints: dict[tuple[str, str], str]


@dataclass
class Archive:
    """A pg_dump custom-format archive and its table of contents (read by the embedded
    pg_restore, which executes nothing: it only writes scripts)."""

    path: Path
    pg_restore: str
    entries: list[Entry] = field(default_factory=list)
    _schema_script: str | None = None

    @classmethod
    def open(cls, path: Path, pg_restore: str) -> Archive:
        """Read the table of contents of the archive at `path`; raises `ArchiveUnreadable`."""
        listing = _run(pg_restore, "--list", str(path), failure=path)
        archive = cls(path, pg_restore)
        for line in listing.decode("utf-8", errors="replace").splitlines():
            if not line.strip() or line.startswith(";"):
                continue
            archive.entries.append(_entry(line))
        return archive

    @property
    def schema(self) -> str | None:
        """The schema fitness's tables are in: alembic_version's (None if it has none)."""
        return next(
            (e.schema for e in self.entries if e.kind == "TABLE" and e.is_named("alembic_version")),
            None,
        )

    def data_entry(self, table: str) -> Entry | None:
        """The TABLE DATA entry of `table`, if the archive has one."""
        return next((e for e in self.entries if e.kind == "TABLE DATA" and e.is_named(table)), None)

    def findings(self, reference: Reference) -> list[str]:
        """Everything in the archive that a fitness backup at the reference's revision would
        not hold: foreign table-of-contents entries, and schema statements that define
        something else or something differently. Empty for a fitness backup."""
        foreign = [self._key(e) for e in self.entries if not self._is_ours(e, reference)]
        foreign_tables = {key.removeprefix("table ") for key in foreign if key.startswith("table ")}
        archived, unknown = _facts(self.schema_script(), {self.schema or "public"})
        expected, _ = _facts(reference.statements, {reference.schema})
        # The table of contents names a function with its argument types as SQL writes them
        # (double precision), the parse tree as the catalog does (float8): one is enough.
        foreign_functions = {
            key.partition("(")[0] for key in foreign if key.startswith("function ")
        }
        found = list(foreign)
        for key, value in archived.items():
            kind, _, name = key.partition(" ")
            if (
                key in foreign
                or (kind in ("column", "constraint") and name.partition(".")[0] in foreign_tables)
                or (kind == "function" and key.partition("(")[0] in foreign_functions)
            ):
                continue
            if key not in expected:
                found.append(key)
            elif value != expected[key]:
                found.append(f"{key} (defined differently from the migrations' schema)")
        return _unique(found + unknown)

    def schema_script(self) -> str:
        """The archive's schema statements as pg_restore writes them (never run)."""
        if self._schema_script is None:
            self._schema_script = self.script(
                "--schema-only", "--no-statistics", limit=MAX_SCHEMA_BYTES
            )
        return self._schema_script

    def unvalidated_constraints(self) -> set[tuple[str, str]]:
        """The (table, constraint) pairs the archive adds NOT VALID: its rows may break them."""
        found: set[tuple[str, str]] = set()
        for raw in _statements(self.schema_script(), []):
            statement = raw.stmt
            if not isinstance(statement, ast.AlterTableStmt):
                continue
            for command in statement.cmds or ():
                constraint = command.def_
                if (
                    command.subtype == AlterTableType.AT_AddConstraint
                    and isinstance(constraint, ast.Constraint)
                    and constraint.skip_validation
                ):
                    found.add((statement.relation.relname, constraint.conname))
        return found

    def _key(self, entry: Entry) -> str:
        """How a finding names an entry: "trigger runs.zero_distance", "extension pgcrypto"."""
        words = entry.rest.split(" ")
        # The last word of a list line is the owner; the tag is what comes before it.
        tag = " ".join(words[:-1]) if len(words) > 1 else entry.rest
        if entry.schema not in ("-", self.schema):
            tag = f"{entry.schema}.{tag}"
        if entry.kind in ("CONSTRAINT", "CHECK CONSTRAINT", "FK CONSTRAINT", "TRIGGER"):
            table, _, name = tag.partition(" ")
            return f"{'trigger' if entry.kind == 'TRIGGER' else 'constraint'} {table}.{name}"
        names = {"TABLE DATA": "data of table", "SEQUENCE SET": "position of sequence"}
        return f"{names.get(entry.kind, entry.kind.lower())} {tag}"

    def script(self, *arguments: str, limit: int, entries: list[Entry] | None = None) -> str:
        """The SQL script pg_restore writes for the archive (never run), at most `limit`
        bytes; `entries` restricts it to those table-of-contents entries."""
        with self._listed(entries) as listed, self._pg_restore(*arguments, *listed) as process:
            assert process.stdout is not None
            text = process.stdout.read(limit + 1)
            if len(text) > limit:
                raise ArchiveUnreadable(self.path, f"its schema is larger than {limit:,} bytes")
        return _RESTRICT_LINE.sub(b"", text).decode("utf-8", errors="replace")

    @contextmanager
    def copy_data(self, entry: Entry) -> Iterator[tuple[ast.CopyStmt, Iterator[bytes]]]:
        """The COPY statement that heads one TABLE DATA entry, parsed, and its rows as
        chunks of COPY text (up to the end-of-data marker), read as they are written."""
        with self._listed([entry]) as listed, self._pg_restore("--data-only", *listed) as process:
            assert process.stdout is not None
            lines = _chunks(process.stdout)
            yield _copy_header(lines, self.path, entry), _rows(lines)

    def _is_ours(self, entry: Entry, reference: Reference) -> bool:
        if entry.kind == "SCHEMA":
            return entry.is_named(self.schema or "") and entry.schema == "-"
        kind = _OWN_ENTRY_KINDS.get(entry.kind)
        if kind is None or entry.schema != self.schema:
            return False
        return any(entry.is_named(tag) for tag in reference.tags.get(entry.kind, ()))

    @contextmanager
    def _listed(self, entries: list[Entry] | None) -> Iterator[list[str]]:
        if entries is None:
            yield []
            return
        with tempfile.NamedTemporaryFile("w", suffix=".list", encoding="utf-8") as listing:
            listing.write("".join(f"{entry.line}\n" for entry in entries))
            listing.flush()
            yield [f"--use-list={listing.name}"]

    @contextmanager
    def _pg_restore(self, *arguments: str) -> Iterator[subprocess.Popen[bytes]]:
        command = [
            self.pg_restore,
            *arguments,
            "--no-owner",
            "--no-privileges",
            "--file=-",
            str(self.path),
        ]
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
        ) as process:
            try:
                yield process
            finally:
                assert process.stdout is not None and process.stderr is not None
                # Drain what is left, so pg_restore ends and says why it failed, if it did.
                while process.stdout.read(CHUNK_BYTES):
                    pass
                error = process.stderr.read(64 * 1024)
                if process.wait() != 0:
                    raise ArchiveUnreadable(self.path, first_error_line(error))


class ArchiveUnreadable(BackupError):
    """pg_restore cannot read the file (not an archive, truncated, corrupt)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path} is not a backup pg_restore can read: {reason}")


def reference_for(conn: Connection, schema: str) -> Reference:
    """What the migrations built in `schema` (a scratch schema of `conn`'s transaction), as
    an archive of it would hold it: table-of-contents tags, and statements in pg_dump's
    words (tables with their inline CHECK constraints, identities, other constraints,
    indexes, triggers and functions)."""
    params = {"schema": schema}
    tags: dict[str, set[str]] = {kind: set() for kind in _OWN_ENTRY_KINDS}
    statements: list[str] = []
    columns: dict[str, list[str]] = {}
    table_parts: dict[str, list[str]] = {}
    for table, column, type_, not_null, default, generated in conn.execute(_COLUMNS, params):
        part = f"{_quote(column)} {type_}"
        if generated:
            part += f" GENERATED ALWAYS AS ({default}) STORED"
        elif default is not None:
            part += f" DEFAULT {default}"
        if not_null:
            part += " NOT NULL"
        table_parts.setdefault(table, []).append(part)
        if not generated:
            columns.setdefault(table, []).append(column)
    constraints: dict[tuple[str, str], str] = {}
    for table, name, definition in conn.execute(_INLINE_CHECKS, params):
        table_parts[table].append(f"CONSTRAINT {_quote(name)} {definition}")
        # A backup of rows a bound came after holds the CHECK apart, NOT VALID.
        tags["CHECK CONSTRAINT"].add(f"{table} {name}")
        constraints[(table, name)] = definition
    for table, parts in table_parts.items():
        tags["TABLE"].add(table)
        tags["TABLE DATA"].add(table)
        statements.append(f"CREATE TABLE {_quote(table)} (\n    " + ",\n    ".join(parts) + "\n)")
    for table, column, always, sequence in conn.execute(_IDENTITIES, params):
        tags["SEQUENCE"].add(sequence)
        tags["SEQUENCE SET"].add(sequence)
        statements.append(
            f"ALTER TABLE {_quote(table)} ALTER COLUMN {_quote(column)} ADD GENERATED "
            f"{'ALWAYS' if always else 'BY DEFAULT'} AS IDENTITY (SEQUENCE NAME {_quote(sequence)})"
        )
    for table, name, foreign, definition in conn.execute(_CONSTRAINTS, params):
        tags["FK CONSTRAINT" if foreign else "CONSTRAINT"].add(f"{table} {name}")
        constraints[(table, name)] = definition
        statements.append(
            f"ALTER TABLE ONLY {_quote(table)} ADD CONSTRAINT {_quote(name)} {definition}"
        )
    for name, definition in conn.execute(_INDEXES, params):
        tags["INDEX"].add(name)
        statements.append(definition)
    for table, name, definition in conn.execute(_TRIGGERS, params):
        tags["TRIGGER"].add(f"{table} {name}")
        statements.append(definition)
    for tag, definition in conn.execute(_FUNCTIONS, params):
        tags["FUNCTION"].add(tag)
        statements.append(definition)
    order = [row[0] for row in conn.execute(_LOAD_ORDER, params)]
    return Reference(schema, tags, ";\n".join(statements) + ";\n", columns, order, constraints)


def copy_into(table: str, columns: list[str]) -> sql.Composed:
    """`COPY table (columns) FROM STDIN` for one of our tables, names quoted by us."""
    return sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )


def sequence_positions(
    script: str, sequences: set[str]
) -> tuple[list[tuple[str, int, bool]], list[str]]:
    """The `setval` calls of a SEQUENCE SET script as (sequence, value, is_called), and what
    else the script holds (which a fitness backup never does)."""
    positions: list[tuple[str, int, bool]] = []
    unknown: list[str] = []
    for raw in _statements(script, unknown):
        statement = raw.stmt
        if isinstance(statement, ast.VariableSetStmt) or _sets_search_path(statement):
            continue
        call = _setval_call(statement)
        if call is None or call[0].rpartition(".")[2] not in sequences:
            unknown.append(f"the statement {_snippet(script, raw)}")
            continue
        positions.append((call[0].rpartition(".")[2], call[1], call[2]))
    return positions, unknown


def _entry(line: str) -> Entry:
    match = _LIST_LINE.match(line)
    if match is None:
        return Entry("?", "-", line.strip(), line)
    rest = match.group(1)
    kind = next((k for k in _ENTRY_KINDS if rest == k or rest.startswith(k + " ")), "?")
    if kind == "?":
        return Entry(kind, "-", rest, line)
    schema, _, remainder = rest[len(kind) + 1 :].partition(" ")
    return Entry(kind, schema, remainder, line)


def _facts(script: str, schemas: set[str]) -> tuple[dict[str, object], list[str]]:
    """What the schema statements of `script` define, as "kind name" -> a normalised parse
    tree (no positions, none of `schemas`' names), and the statements that define nothing
    a fitness schema has."""
    facts: dict[str, object] = {}
    unknown: list[str] = []
    for raw in _statements(script, unknown):
        statement = raw.stmt
        if isinstance(statement, ast.VariableSetStmt) or _sets_search_path(statement):
            continue
        if isinstance(statement, ast.CreateSchemaStmt) and statement.schemaname in schemas:
            continue
        if isinstance(statement, ast.CreateStmt):
            _table_facts(statement, schemas, facts, unknown, script, raw)
        elif isinstance(statement, ast.AlterTableStmt):
            _alter_table_facts(statement, schemas, facts, unknown, script, raw)
        elif isinstance(statement, ast.IndexStmt):
            facts[f"index {statement.idxname}"] = _normal(statement, schemas)
        elif isinstance(statement, ast.CreateTrigStmt):
            facts[f"trigger {statement.relation.relname}.{statement.trigname}"] = _normal(
                statement, schemas
            )
        elif isinstance(statement, ast.CreateFunctionStmt):
            facts[f"function {_function_name(statement)}"] = _function(statement, schemas)
        else:
            unknown.append(f"the statement {_snippet(script, raw)}")
    return facts, unknown


def _table_facts(
    statement: ast.CreateStmt,
    schemas: set[str],
    facts: dict[str, object],
    unknown: list[str],
    script: str,
    raw: ast.RawStmt,
) -> None:
    table = statement.relation.relname
    facts[f"table {table}"] = _normal(
        {
            name: getattr(statement, name)
            for name in (
                "inhRelations",
                "partbound",
                "partspec",
                "ofTypename",
                "options",
                "oncommit",
                "tablespacename",
                "accessMethod",
            )
        }
        | {"persistence": statement.relation.relpersistence},
        schemas,
    )
    not_null: set[str] = set()
    for element in statement.tableElts or ():
        if isinstance(element, ast.ColumnDef):
            facts[f"column {table}.{element.colname}"] = _column(element, schemas)
        elif isinstance(element, ast.Constraint) and element.contype == ConstrType.CONSTR_NOTNULL:
            not_null.update(key.sval for key in element.keys or ())
        elif isinstance(element, ast.Constraint):
            facts[f"constraint {table}.{element.conname}"] = _constraint(element, schemas)
        else:
            unknown.append(f"a part of table {table}: {_snippet(script, raw)}")
    for column in not_null:
        fact = facts.get(f"column {table}.{column}")
        if isinstance(fact, dict):
            fact["not_null"] = True


def _alter_table_facts(
    statement: ast.AlterTableStmt,
    schemas: set[str],
    facts: dict[str, object],
    unknown: list[str],
    script: str,
    raw: ast.RawStmt,
) -> None:
    table = statement.relation.relname
    for command in statement.cmds or ():
        if command.subtype in _PHYSICAL_COLUMN_SETTINGS:
            continue
        if command.subtype == AlterTableType.AT_AddIdentity:
            sequence = next(
                (o.arg for o in command.def_.options or () if o.defname == "sequence_name"), ()
            )
            facts[f"identity {table}.{command.name}"] = {
                "always": command.def_.generated_when == "a",
                "sequence": sequence[-1].sval if sequence else None,
            }
        elif command.subtype == AlterTableType.AT_AddConstraint:
            constraint = command.def_
            facts[f"constraint {table}.{constraint.conname}"] = _constraint(constraint, schemas)
        else:
            unknown.append(f"the statement {_snippet(script, raw)}")


def _column(column: ast.ColumnDef, schemas: set[str]) -> dict[str, object]:
    fact: dict[str, object] = {
        "type": _normal(column.typeName, schemas),
        "collation": _normal(column.collClause, schemas),
        "not_null": bool(column.is_not_null),
        "default": None,
        "generated": None,
        "other": [],
    }
    for constraint in column.constraints or ():
        if constraint.contype == ConstrType.CONSTR_NOTNULL:
            fact["not_null"] = True
        elif constraint.contype == ConstrType.CONSTR_NULL:
            continue
        elif constraint.contype == ConstrType.CONSTR_DEFAULT:
            fact["default"] = _normal(constraint.raw_expr, schemas)
        elif constraint.contype == ConstrType.CONSTR_GENERATED:
            fact["generated"] = _normal(constraint.raw_expr, schemas)
        else:
            fact["other"].append(_constraint(constraint, schemas))  # type: ignore[attr-defined]
    return fact


def _constraint(constraint: ast.Constraint, schemas: set[str]) -> object:
    data = _normal(constraint, schemas)
    assert isinstance(data, dict)
    # Whether it was validated says whether old rows met it (a NOT VALID bound kept rows
    # that came before it), not what the constraint is.
    for key in ("conname", "skip_validation", "initially_valid"):
        data.pop(key, None)
    return data


def _function(statement: ast.CreateFunctionStmt, schemas: set[str]) -> object:
    data = _normal(statement, schemas)
    assert isinstance(data, dict)
    data.pop("replace", None)
    # pg_dump and pg_get_functiondef write the same options in different orders.
    data["options"] = sorted(data.get("options") or [], key=lambda o: json.dumps(o, sort_keys=True))
    return data


def _function_name(statement: ast.CreateFunctionStmt) -> str:
    arguments = ", ".join(
        parameter.argType.names[-1].sval
        for parameter in statement.parameters or ()
        if parameter.mode not in ("o", "t")
    )
    return f"{statement.funcname[-1].sval}({arguments})"


def _normal(value: Any, schemas: set[str]) -> Any:
    """A parse tree as plain data, without source positions, without the names of
    `schemas` where they qualify a name, and without ONLY (which restores nothing)."""
    if isinstance(value, ast.Node):
        value = value(skip_none=True)
    if isinstance(value, dict):
        return {
            key: _normal(item, schemas)
            for key, item in value.items()
            if not _is_position(key)
            and not (key == "schemaname" and item in schemas)
            and not (key == "inh" and value.get("@") == "RangeVar")
        }
    if isinstance(value, list | tuple):
        items = [_normal(item, schemas) for item in value]
        if (
            len(items) > 1
            and all(isinstance(i, dict) and i.get("@") == "String" for i in items)
            and items[0].get("sval") in schemas
        ):
            items = items[1:]
        return items
    return value


def _is_position(key: str) -> bool:
    # Where in the text a node was (location, arg_location, list_start, stmt_len...).
    return key.endswith(("location", "_start", "_end")) or key == "stmt_len"


def _statements(script: str, unknown: list[str]) -> list[ast.RawStmt]:
    try:
        return list(pglast.parse_sql(script))
    except pglast.parser.ParseError as error:
        unknown.append(f"SQL that does not parse ({error})")
        return []


def _sets_search_path(statement: ast.Node) -> bool:
    call = _single_call(statement)
    if call is None or [n.sval for n in call.funcname][-1] != "set_config":
        return False
    first = call.args[0] if call.args else None
    return isinstance(first, ast.A_Const) and getattr(first.val, "sval", None) == "search_path"


def _setval_call(statement: ast.Node) -> tuple[str, int, bool] | None:
    call = _single_call(statement)
    if call is None or [n.sval for n in call.funcname][-1] != "setval" or len(call.args) != 3:
        return None
    name, value, called = (getattr(a, "val", None) for a in call.args)
    if not (
        isinstance(name, ast.String)
        and isinstance(value, ast.Integer | ast.Float)
        and isinstance(called, ast.Boolean)
    ):
        return None
    return (
        name.sval,
        int(value.ival if isinstance(value, ast.Integer) else value.fval),
        bool(called.boolval),
    )


def _single_call(statement: ast.Node) -> ast.FuncCall | None:
    if not isinstance(statement, ast.SelectStmt) or statement.fromClause or statement.whereClause:
        return None
    targets = statement.targetList or ()
    if len(targets) != 1 or not isinstance(targets[0].val, ast.FuncCall):
        return None
    call = targets[0].val
    if any(not isinstance(argument, ast.A_Const) for argument in call.args or ()):
        return None
    return call


def _snippet(script: str, raw: ast.RawStmt) -> str:
    start = raw.stmt_location or 0
    text = script[start : start + raw.stmt_len] if raw.stmt_len else script[start:]
    text = " ".join(text.split())
    return text if len(text) <= 100 else text[:97] + "..."


def _copy_header(lines: Iterator[bytes], path: Path, entry: Entry) -> ast.CopyStmt:
    # pg_restore writes comments and SETs first, then one COPY ... FROM stdin; line.
    for line in lines:
        if line.startswith(b"COPY "):
            try:
                (raw,) = pglast.parse_sql(line.decode("utf-8"))
            except (pglast.parser.ParseError, ValueError, UnicodeDecodeError):
                break
            if isinstance(raw.stmt, ast.CopyStmt):
                return raw.stmt
            break
    raise ArchiveUnreadable(path, f"the data of {entry.rest} has no COPY header")


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.readline(CHUNK_BYTES):
        yield chunk


def _rows(lines: Iterator[bytes]) -> Iterator[bytes]:
    at_line_start = True
    for chunk in lines:
        if at_line_start and chunk.rstrip(b"\r\n") == b"\\.":
            return
        at_line_start = chunk.endswith(b"\n")
        yield chunk


def _run(program: str, *arguments: str, failure: Path) -> bytes:
    completed = subprocess.run(
        [program, *arguments], capture_output=True, check=False, stdin=subprocess.DEVNULL
    )
    if completed.returncode != 0:
        raise ArchiveUnreadable(failure, first_error_line(completed.stderr))
    return completed.stdout


def first_error_line(stderr: bytes) -> str:
    """The first error a PostgreSQL program wrote to `stderr`, on one line."""
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines()]
    for line in lines:
        for marker in ("ERROR:", "FATAL:", "error:"):
            if marker in line:
                return " ".join(line.split(marker, 1)[1].split())
    return next((line for line in lines if line), "pg_restore failed")


def _quote(name: str) -> str:
    return (
        '"' + name.replace('"', '""') + '"' if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) else name
    )


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


_COLUMNS: Final = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attgenerated <> ''
FROM pg_attribute AS a
JOIN pg_class AS c ON c.oid = a.attrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = %(schema)s
  AND c.relkind IN ('r', 'p')
  AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""

# pg_dump writes a validated CHECK constraint inside its CREATE TABLE.
_INLINE_CHECKS: Final = """
SELECT c.relname, con.conname, pg_get_constraintdef(con.oid)
FROM pg_constraint AS con
JOIN pg_class AS c ON c.oid = con.conrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s
  AND con.contype = 'c'
  AND con.convalidated
ORDER BY c.relname, con.conname
"""

_IDENTITIES: Final = """
SELECT c.relname, a.attname, a.attidentity = 'a', s.relname
FROM pg_attribute AS a
JOIN pg_class AS c ON c.oid = a.attrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_depend AS d
  ON d.refobjid = c.oid
 AND d.refobjsubid = a.attnum
 AND d.classid = 'pg_class'::regclass
 AND d.deptype = 'i'
JOIN pg_class AS s ON s.oid = d.objid AND s.relkind = 'S'
WHERE n.nspname = %(schema)s
  AND a.attidentity <> ''
ORDER BY c.relname, a.attnum
"""

_CONSTRAINTS: Final = """
SELECT c.relname, con.conname, con.contype = 'f', pg_get_constraintdef(con.oid)
FROM pg_constraint AS con
JOIN pg_class AS c ON c.oid = con.conrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s
  AND con.contype IN ('p', 'u', 'f', 'x', 'c')
  AND NOT (con.contype = 'c' AND con.convalidated)
ORDER BY c.relname, con.conname
"""

_INDEXES: Final = """
SELECT i.relname, pg_get_indexdef(i.oid)
FROM pg_index AS x
JOIN pg_class AS i ON i.oid = x.indexrelid
JOIN pg_class AS c ON c.oid = x.indrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s
  AND NOT EXISTS (SELECT 1 FROM pg_constraint AS con WHERE con.conindid = x.indexrelid)
ORDER BY i.relname
"""

_TRIGGERS: Final = """
SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid)
FROM pg_trigger AS t
JOIN pg_class AS c ON c.oid = t.tgrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s
  AND NOT t.tgisinternal
ORDER BY c.relname, t.tgname
"""

_FUNCTIONS: Final = """
SELECT p.proname || '(' || oidvectortypes(p.proargtypes) || ')', pg_get_functiondef(p.oid)
FROM pg_proc AS p
JOIN pg_namespace AS n ON n.oid = p.pronamespace
WHERE n.nspname = %(schema)s
ORDER BY 1
"""

# Tables in an order that loads every referenced row before the rows that reference it.
_LOAD_ORDER: Final = """
WITH RECURSIVE tables AS (
    SELECT c.oid, c.relname
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = %(schema)s
      AND c.relkind IN ('r', 'p')
),
depth (oid, level) AS (
    SELECT oid, 0 FROM tables
    UNION ALL
    SELECT con.conrelid, depth.level + 1
    FROM depth
    JOIN pg_constraint AS con ON con.confrelid = depth.oid AND con.contype = 'f'
    WHERE con.conrelid <> con.confrelid
      AND depth.level < 100
)
SELECT t.relname
FROM tables AS t
JOIN depth ON depth.oid = t.oid
GROUP BY t.relname
ORDER BY max(depth.level), t.relname
"""
