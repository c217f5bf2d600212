"""Deterministic ids: the same source record must always get the same id."""

from __future__ import annotations

import pytest

from fitness.ids import mmf_run_id, shoe_id_from_name, strava_run_id


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Nike Air Zoom Pegasus 38", "nike_air_zoom_pegasus_38"),
        ("Brooks Ghost 15", "brooks_ghost_15"),
        ("New Balance M1080K10", "new_balance_m1080k10"),
        ("  Hoka   Clifton 9  ", "hoka_clifton_9"),
        ("Saucony -- Endorphin/Speed 3!!", "saucony_endorphin_speed_3"),
        ("Asics Gel-Kayano® 30", "asics_gel_kayano_30"),
        ("Café Racer Ünïcode", "cafe_racer_unicode"),
        ("__already_normal__", "already_normal"),
        ("ＮＩＫＥ　Ｐｅｇａｓｕｓ", "nike_pegasus"),
    ],
)
def test_shoe_ids_are_normalised_names(name: str, expected: str) -> None:
    assert shoe_id_from_name(name) == expected


def test_names_that_differ_only_in_case_and_punctuation_share_an_id() -> None:
    assert shoe_id_from_name("Brooks Ghost 15") == shoe_id_from_name("brooks-ghost--15")


@pytest.mark.parametrize("name", ["", "   ", "!!!", "---", "日本語"])
def test_a_name_with_nothing_to_make_an_id_from_is_an_error(name: str) -> None:
    with pytest.raises(ValueError, match="no letters or digits"):
        shoe_id_from_name(name)


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("https://www.mapmyfitness.com/workout/8622076198", "mmf_8622076198"),
        ("http://www.mapmyfitness.com/workout/8622076198/", "mmf_8622076198"),
        (" https://mapmyfitness.com/workout/42 ", "mmf_42"),
        ("https://www.mapmyfitness.com/workout/8622076198?ref=share", "mmf_8622076198"),
    ],
)
def test_mmf_ids_come_from_the_workout_link(link: str, expected: str) -> None:
    assert mmf_run_id(link) == expected


@pytest.mark.parametrize(
    "link",
    [
        "",
        "8622076198",
        "https://www.mapmyfitness.com/routes/8622076198",
        "https://www.mapmyfitness.com/workout/abc",
        "https://evil.example.com/workout/8622076198",
        "ftp://www.mapmyfitness.com/workout/1",
        "https://www.mapmyfitness.com.evil.com/workout/1",
    ],
)
def test_anything_but_a_workout_link_is_a_value_error(link: str) -> None:
    with pytest.raises(ValueError, match="not a MapMyFitness workout link"):
        mmf_run_id(link)


@pytest.mark.parametrize(
    ("activity_id", "expected"),
    [(1234567890, "strava_1234567890"), ("987", "strava_987"), (" 5 ", "strava_5")],
)
def test_strava_ids_use_the_activity_id(activity_id: int | str, expected: str) -> None:
    assert strava_run_id(activity_id) == expected


@pytest.mark.parametrize("activity_id", ["", "12a", "-5", "1.5", "١٢٣"])
def test_a_strava_id_must_be_digits(activity_id: str) -> None:
    with pytest.raises(ValueError):
        strava_run_id(activity_id)
