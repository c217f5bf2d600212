"""Reading forms as a person types them (fitness/web/forms.py): h:mm:ss, local times, blank
fields, and the shapes' own messages."""

from __future__ import annotations

import pytest

from fitness.shapes.runs import RunEdit
from fitness.web.forms import seconds_text, validate, zoned_text


@pytest.mark.parametrize(
    ("typed", "seconds"),
    [
        ("0:45:30", "2730"),
        ("45:30", "2730"),
        ("1:02:03", "3723"),
        ("2730", "2730"),
        ("0:00:01.5", "1.5"),
        (" 1:00:00 ", "3600"),
        ("soon", "soon"),
        ("1:2:3:4", "1:2:3:4"),
    ],
)
def test_a_duration_is_read_as_h_mm_ss_or_seconds(typed: str, seconds: str) -> None:
    assert seconds_text(typed) == seconds


@pytest.mark.parametrize(
    ("typed", "zone", "meant"),
    [
        ("2025-05-06T09:30", "Europe/Berlin", "2025-05-06T09:30:00+02:00"),
        ("2025-01-06T09:30:00", "Europe/Berlin", "2025-01-06T09:30:00+01:00"),
        ("2025-05-06T09:30:00Z", "Europe/Berlin", "2025-05-06T09:30:00+00:00"),
        ("yesterday", "UTC", "yesterday"),
    ],
)
def test_a_start_without_an_offset_is_the_runners_local_time(
    typed: str, zone: str, meant: str
) -> None:
    assert zoned_text(typed, zone) == meant


def test_a_blank_field_that_may_be_null_is_null_and_others_are_refused() -> None:
    edit, errors = validate(RunEdit, {"avg_heart_rate": "", "name": " ", "distance": "4.5"})

    assert errors == {}
    assert edit is not None
    assert edit.given() == {"avg_heart_rate": None, "name": None, "distance": 4.5}
    refused, problems = validate(RunEdit, {"distance": "", "duration": ""})
    assert refused is None
    assert problems == {
        "distance": "must be a number of miles from 0 to 1,000",
        "duration": "must be a number of seconds greater than 0 and at most 1,209,600",
    }


def test_unknown_fields_are_named() -> None:
    _, problems = validate(RunEdit, {"id": "strava_2", "distance": "1"})

    assert problems == {"id": "unknown field"}
