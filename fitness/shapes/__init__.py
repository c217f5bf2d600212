"""The request shapes of every interface, each declared once as a pydantic model built from
the rules in fitness.rules: a query's parameters (`Query`), a JSON body (`Body`), an upload
(`Form`). The API validates requests with them and documents them (fitness.api); the pages
validate their forms with the same models, so a rule holds wherever a value comes in.

Responses need no declaration here: they are the library's own dataclasses
(fitness.models, a service's result), encoded and documented as they are.
"""

from __future__ import annotations

from typing import Any, ClassVar, get_origin

from pydantic import BaseModel, ConfigDict
from starlette.datastructures import FormData


class Query(BaseModel):
    """The query parameters of an operation; a parameter not declared here is a 400."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def _no_null_default(schema: dict[str, Any]) -> None:
    # A field that may be left out but not sent as null has the Python default None; the
    # document must not offer null as its default.
    for prop in schema.get("properties", {}).values():
        nullable = any(option.get("type") == "null" for option in prop.get("anyOf", ()))
        if "default" in prop and prop["default"] is None and not nullable:
            del prop["default"]


class Body(BaseModel):
    """A JSON request body. `given()` tells a field that was sent as null from one absent.

    `protected` names fields that exist but may never be changed (a 400 of their own).
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        json_schema_extra=_no_null_default,
    )
    protected: ClassVar[tuple[str, ...]] = ()

    def given(self, *names: str) -> dict[str, Any]:
        """The fields among `names` (default: all) that the client sent, with their values."""
        wanted = names or tuple(type(self).model_fields)
        return {name: getattr(self, name) for name in wanted if name in self.model_fields_set}


class Form(BaseModel):
    """A multipart/form-data body: text fields and `UploadFile`s, at most `max_files`."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, arbitrary_types_allowed=True, use_attribute_docstrings=True
    )
    max_files: ClassVar[int] = 1

    @classmethod
    def values_of(cls, form: FormData) -> dict[str, object]:
        """The parts of a multipart body as this form's values, ready to validate: a blank
        text field is an absent one (an HTML form sends every field), a list field takes
        every part of its name, any other field its last part."""
        values: dict[str, object] = {}
        for name in dict.fromkeys(form.keys()):
            parts = [value for value in form.getlist(name) if value != ""]
            if parts:
                field = cls.model_fields.get(name)
                listed = field is not None and get_origin(field.annotation) is list
                values[name] = parts if listed else parts[-1]
        return values
