"""The path parameters of the API, each declared once: its type, its description, and what a
value that no resource can have answers (a 404, not a 422, for an id no row can hold)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from pydantic import TypeAdapter, ValidationError

from fitness.errors import BikeNotFound, LiftNotFound, RideNotFound, RunNotFound, ShoeNotFound
from fitness.integrations.oauth import PROVIDERS
from fitness.rules import Identifier, VersionNumber, describe
from fitness.server.problems import ApiError, invalid


@dataclass(frozen=True)
class PathParameter:
    """A path parameter's type and description; `missing(value)` is raised for a value
    outside the type (else it is a 422 naming the parameter)."""

    name: str
    type: Any
    description: str
    missing: Callable[[str], Exception] | None = None
    _adapter: TypeAdapter[Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_adapter", TypeAdapter(self.type))

    def parse(self, raw: str) -> Any:
        try:
            return self._adapter.validate_strings(raw)
        except ValidationError:
            if self.missing is not None:
                raise self.missing(raw) from None
            raise invalid({self.name: "must be " + describe(self.schema())}) from None

    def schema(self) -> dict[str, Any]:
        schema = self._adapter.json_schema()
        schema.pop("description", None)
        return schema

    def document(self) -> dict[str, Any]:
        """The parameter as the OpenAPI document lists it."""
        return {
            "name": self.name,
            "in": "path",
            "required": True,
            "description": self.description,
            "schema": self.schema(),
        }


def _unknown_provider(name: str) -> ApiError:
    return ApiError(
        404,
        f"There is no OAuth provider {name[:40]!r}; use one of {', '.join(PROVIDERS)}.",
        slug="unknown-provider",
    )


PATH_PARAMETERS: Final = {
    parameter.name: parameter
    for parameter in (
        PathParameter(
            "run_id",
            Identifier,
            "The run's id, e.g. `strava_1234567890` or `mmf_8622076198`.",
            RunNotFound,
        ),
        PathParameter(
            "lift_id",
            Identifier,
            "The lift's id, e.g. `hevy_b459cba5-cd6d-463c-abd6-54f8eafcadcb`.",
            LiftNotFound,
        ),
        PathParameter(
            "ride_id",
            Identifier,
            "The ride's id, e.g. `strava_1234567890` or `file_20250506T053000Z`.",
            RideNotFound,
        ),
        PathParameter(
            "bike_id",
            Identifier,
            'The bike\'s id, e.g. `canyon_endurace` for "Canyon Endurace".',
            BikeNotFound,
        ),
        PathParameter(
            "kept_id",
            Identifier,
            "The id of the run to keep: the one the other is a duplicate of.",
            RunNotFound,
        ),
        PathParameter("version", VersionNumber, "A version number (1 is the original import)."),
        PathParameter(
            "shoe_id",
            Identifier,
            'The shoe\'s id, e.g. `brooks_ghost_15` for "Brooks Ghost 15".',
            ShoeNotFound,
        ),
        PathParameter(
            "kept_shoe_id",
            Identifier,
            "The id of the shoe to keep: the one the other is merged into.",
            ShoeNotFound,
        ),
        PathParameter(
            "provider",
            Literal[PROVIDERS],  # type: ignore[valid-type]
            "Whose consent: `strava` (runs) or `google` (calendar).",
            _unknown_provider,
        ),
    )
}
