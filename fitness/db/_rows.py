"""A row factory that builds the frozen model dataclasses without going through `__init__`.

psycopg's `class_row` calls the generated `__init__` with keyword arguments, and then
`__post_init__` converts every datetime to UTC again: for 20,000 runs that took longer than
fetching them (see tests/bench). Our pooled sessions run in UTC, so psycopg hands out UTC
datetimes already; `model_row` sets the slots directly and calls `__post_init__` only when
the session is in another zone.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import MISSING, Field, fields
from typing import Any, TypeVar

from psycopg import postgres
from psycopg.cursor import BaseCursor
from psycopg.rows import BaseRowFactory, RowMaker, no_result

T = TypeVar("T")
Setter = Callable[[object, object], None]
Shape = tuple[tuple[bytes, int], ...]

_TIMESTAMPTZ_OID = postgres.types["timestamptz"].oid
_TIMESTAMP_OID = postgres.types["timestamp"].oid


@functools.cache
def model_row(cls: type[T]) -> BaseRowFactory[T]:
    """Like `psycopg.rows.class_row(cls)`, for the frozen, slotted dataclasses of models.py.

    Only for models whose `__post_init__` does nothing but convert datetimes to UTC (Run,
    RunDetail, RunVersion): it runs on every row when the session's TimeZone is not UTC
    (behind PgBouncer, say) or a column is a `timestamp` without zone (to be refused), and
    is skipped when psycopg already builds every datetime in UTC. Every column must be a
    field; fields without a column get their defaults.

    >>> conn.cursor(row_factory=model_row(Run)).execute(query).fetchall()   # doctest: +SKIP
    [Run(id='strava_1', ...)]
    """
    known = {field.name: field for field in fields(cls)}  # type: ignore[arg-type]
    post_init: Callable[[T], None] | None = getattr(cls, "__post_init__", None)
    # The row maker for each shape of result (column names and types) and session time
    # zone, worked out once.
    makers: dict[tuple[tuple[bytes | None, ...], tuple[int, ...], str | None], RowMaker[T]] = {}

    def row_maker(cursor: BaseCursor[Any, Any], shape: Shape, zone: str | None) -> RowMaker[T]:
        encoding = cursor.connection.info.encoding
        names = [name.decode(encoding) for name, _ in shape]
        unknown = [name for name in names if name not in known]
        if unknown:
            raise TypeError(f"{cls.__name__} has no field for the columns {unknown}")
        setters: list[Setter] = [getattr(cls, name).__set__ for name in names]
        defaults: list[tuple[Setter, Field[Any]]] = [
            (getattr(cls, name).__set__, field)
            for name, field in known.items()
            if name not in names
        ]
        for _, field in defaults:
            if field.default is MISSING and field.default_factory is MISSING:
                raise TypeError(f"{cls.__name__}.{field.name} has no column and no default")
        types = {oid for _, oid in shape}
        normalise = post_init is not None and (
            _TIMESTAMP_OID in types or (_TIMESTAMPTZ_OID in types and zone != "UTC")
        )
        return _compile(cls, setters, defaults, post_init if normalise else None)

    def model_row_(cursor: BaseCursor[Any, Any]) -> RowMaker[T]:
        result = cursor.pgresult
        if result is None or not result.nfields:
            return no_result
        columns = range(result.nfields)
        key = (
            tuple(map(result.fname, columns)),
            tuple(map(result.ftype, columns)),
            cursor.connection.info.parameter_status("TimeZone"),
        )
        maker = makers.get(key)
        if maker is None:
            names, types, zone = key
            shape = tuple(zip((name or b"" for name in names), types, strict=True))
            maker = makers[key] = row_maker(cursor, shape, zone)
        return maker

    return model_row_


def model_maker(cls: type[T], names: tuple[str, ...]) -> Callable[[Sequence[Any]], T]:
    """A function building a `cls` from a sequence of values for the fields `names`, in
    that order, without `__init__` (a third of its time): for answers assembled from
    several kinds of row, where no single row factory fits.

    Only for frozen, slotted dataclasses whose `__post_init__` has nothing to do with these
    values (it is not called); fields not in `names` get their defaults.

    >>> model_maker(Streak, ("days", "first_day", "last_day"))((0, None, None))
    ...                                                            # doctest: +SKIP
    Streak(days=0, first_day=None, last_day=None)
    """
    known = {field.name: field for field in fields(cls)}  # type: ignore[arg-type]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise TypeError(f"{cls.__name__} has no fields {unknown}")
    defaults = [
        (getattr(cls, name).__set__, field) for name, field in known.items() if name not in names
    ]
    for _, field in defaults:
        if field.default is MISSING and field.default_factory is MISSING:
            raise TypeError(f"{cls.__name__}.{field.name} has no value and no default")
    setters: list[Setter] = [getattr(cls, name).__set__ for name in names]
    return _compile(cls, setters, defaults, None)


def _compile(
    cls: type[T],
    setters: list[Setter],
    defaults: list[tuple[Setter, Field[Any]]],
    post_init: Callable[[T], None] | None,
) -> RowMaker[T]:
    """A row maker with one line per column, as `dataclasses` writes `__init__`.

    Unrolled, it builds a row in two thirds of the time a loop over the setters takes.
    The source is made of our own names only (set_0, value_0, ...), never of data.
    """
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls, "post_init": post_init}
    lines = ["def model_row__(values):", "    row = new(cls)"]
    if setters:
        unpacked = ", ".join(f"value_{i}" for i in range(len(setters)))
        lines.append(f"    ({unpacked},) = values")
    for i, setter in enumerate(setters):
        namespace[f"set_{i}"] = setter
        lines.append(f"    set_{i}(row, value_{i})")
    for i, (setter, field) in enumerate(defaults):
        namespace[f"set_default_{i}"] = setter
        if field.default_factory is MISSING:
            namespace[f"default_{i}"] = field.default
            lines.append(f"    set_default_{i}(row, default_{i})")
        else:
            namespace[f"default_{i}"] = field.default_factory
            lines.append(f"    set_default_{i}(row, default_{i}())")
    if post_init is not None:
        lines.append("    post_init(row)")
    lines.append("    return row")
    exec("\n".join(lines), namespace)
    return namespace["model_row__"]  # type: ignore[no-any-return]
