"""Every bound the OpenAPI document states is the bound the validator enforces.

For each request shape in the served document (bodies and query parameters), each numeric
minimum/maximum and each string length limit is tried at the bound (accepted) and just
beyond it (refused, naming that field). A bound written in two places that drift apart
fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette

from fitness.api.app import MODULES
from fitness.api.operations import Body, Query


def request_models() -> Iterator[type[BaseModel]]:
    seen: set[type[BaseModel]] = set()
    for module in MODULES:
        for operation in module.api.operations:
            for model in (operation.query, operation.body):
                if model is not None and model not in seen:
                    seen.add(model)
                    yield model


def bounded_properties() -> Iterator[tuple[type[BaseModel], str, dict[str, Any]]]:
    for model in request_models():
        for name, schema in model.model_json_schema()["properties"].items():
            options = schema.get("anyOf", [schema])
            for option in options:
                if any(key in option for key in _BOUND_KEYS):
                    yield model, name, option


_BOUND_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "maxLength")


def cases() -> Iterator[tuple[str, type[BaseModel], str, object, bool]]:
    for model, name, schema in bounded_properties():
        for value, accepted in _values_at_and_beyond(schema):
            label = f"{model.__name__}.{name}={_short(value)}"
            yield label, model, name, value, accepted


def _values_at_and_beyond(schema: dict[str, Any]) -> Iterator[tuple[object, bool]]:
    integer = schema.get("type") == "integer"
    step = 1 if integer else 1e-9
    if "minimum" in schema:
        yield schema["minimum"], True
        yield schema["minimum"] - step, False
    if "maximum" in schema:
        yield schema["maximum"], True
        yield schema["maximum"] + (step if integer else max(1e-9, schema["maximum"] * 1e-12)), False
    if "exclusiveMinimum" in schema:
        yield schema["exclusiveMinimum"], False
        yield schema["exclusiveMinimum"] + (1 if integer else 1e-6), True
    if "maxLength" in schema:
        yield "x" * schema["maxLength"], True
        yield "x" * (schema["maxLength"] + 1), False


def _short(value: object) -> str:
    return f"str[{len(value)}]" if isinstance(value, str) else repr(value)


CASES = list(cases())


def test_every_request_shape_with_a_bound_is_covered() -> None:
    covered = {(model.__name__, name) for _, model, name, _, _ in CASES}
    assert ("RunEdit", "distance") in covered
    assert ("RunEdit", "duration") in covered
    assert ("RunEdit", "avg_heart_rate") in covered
    assert ("ChangeNote", "change_reason") in covered
    assert ("ShoeCreate", "name") in covered
    assert ("RunListQuery", "limit") in covered
    assert ("ManualRun", "distance") in covered
    assert ("ManualRun", "duration") in covered
    assert {("RaceSet", name) for name in ("name", "distance", "time", "place")} <= covered
    assert ("ShoeRename", "name") in covered


@pytest.mark.parametrize(
    ("model", "name", "value", "accepted"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_the_validator_refuses_exactly_what_the_document_says(
    model: type[BaseModel], name: str, value: object, accepted: bool
) -> None:
    values = {**_required_values(model), name: value}
    if issubclass(model, Query):
        values = {key: str(item) for key, item in values.items()}
    try:
        model.model_validate(values)
    except ValidationError as error:
        refused = {str(item["loc"][0]) for item in error.errors() if item["loc"]}
        assert not accepted, f"{name}={_short(value)} was refused: {error}"
        assert refused == {name}
        return
    assert accepted, f"{name}={_short(value)} was accepted, beyond the documented bound"


def test_the_document_served_states_the_same_bounds_as_the_models(app: Starlette) -> None:
    components = app.state.openapi["components"]["schemas"]
    for model in request_models():
        if issubclass(model, Body):
            own = model.model_json_schema()["properties"]
            served = components[model.__name__]["properties"]
            assert {k: _bounds(v) for k, v in served.items()} == {
                k: _bounds(v) for k, v in own.items()
            }


def _bounds(schema: dict[str, Any]) -> list[tuple[str, object]]:
    options = schema.get("anyOf", [schema])
    return sorted((key, option[key]) for option in options for key in _BOUND_KEYS if key in option)


def _required_values(model: type[BaseModel]) -> dict[str, object]:
    examples = {
        "name": "Brooks Ghost 15",
        "datetime_utc": "2025-05-06T07:30:00+02:00",
        "distance": 5.0,
        "duration": 1800.0,
        "time": 1500.0,
        "run_ids": ["strava_1", "mmf_2"],
    }
    return {
        name: examples[name] for name, field in model.model_fields.items() if field.is_required()
    }
