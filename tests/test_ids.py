"""Deterministic ids: the same source record must always get the same id."""

from __future__ import annotations

import re

import pytest

from fitness.ids import (
    MAX_SHOE_ID_CHARS,
    mmf_run_id,
    shoe_id_from_name,
    shoe_name_key,
    strava_run_id,
)


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


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Привет Кроссовки 2", "privet_krossovki_2"),
        ("Αθήνα Ρούχα", "athina_roycha"),
        ("Größe 42", "grosse_42"),
        ("Straße 7", "strasse_7"),
        ("Øresund Løber", "oresund_lober"),
        ("ナイキ ペガサス 40", "naiki_pegasasu_40"),
        ("アシックス ノヴァブラスト 40", "ashitkusu_novuaburasuto_40"),
        ("李宁 飞电 3", "lining_feidian_3"),
        ("아식스 젤 카야노", "asigseu_jel_kayano"),
        ("日本語", "ribenyu"),
    ],
)
def test_names_in_any_script_are_transliterated(name: str, expected: str) -> None:
    assert shoe_id_from_name(name) == expected


@pytest.mark.parametrize("name", ["!!!", "---", "★", "🏃‍♀️"])
def test_a_name_without_letters_or_digits_gets_a_stable_id_from_the_whole_name(name: str) -> None:
    shoe_id = shoe_id_from_name(name)
    assert re.fullmatch(r"shoe_[0-9a-f]{10}", shoe_id)
    assert shoe_id_from_name(f"  {name} ") == shoe_id


def test_names_without_letters_or_digits_are_distinct_from_each_other() -> None:
    assert len({shoe_id_from_name(name) for name in ("!!!", "???", "★", "☆", "—")}) == 5


@pytest.mark.parametrize(
    ("same", "other"),
    [
        ("Brooks Ghost 15", "brooks-ghost  15!"),
        ("ＮＩＫＥ Pegasus", "nike pegasus"),
        ("Größe 42", "GRÖSSE 42"),
        ("Привет 2", "привет-2"),
    ],
)
def test_case_spacing_and_punctuation_variants_have_one_key(same: str, other: str) -> None:
    assert shoe_name_key(same) == shoe_name_key(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Größe 42", "Grosse 42"),
        ("Привет", "Privet"),
        ("ナイキ 40", "アシックス 40"),
        ("Café", "Cafe"),
        ("!!!", "???"),
    ],
)
def test_names_that_differ_in_a_letter_or_digit_have_different_keys(one: str, other: str) -> None:
    assert shoe_name_key(one) != shoe_name_key(other)


def test_a_very_long_transliteration_is_cut_and_keeps_a_digest() -> None:
    shoe_id = shoe_id_from_name("本" * 100)
    assert len(shoe_id) == MAX_SHOE_ID_CHARS
    assert shoe_id != shoe_id_from_name("本" * 99)


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "Ghost\x0015"])
def test_an_empty_overlong_or_nul_name_is_an_error(name: str) -> None:
    with pytest.raises(ValueError, match="shoe name"):
        shoe_id_from_name(name)


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("https://www.mapmyfitness.com/workout/8622076198", "mmf_8622076198"),
        ("http://www.mapmyfitness.com/workout/8622076198/", "mmf_8622076198"),
        (" https://mapmyfitness.com/workout/42 ", "mmf_42"),
        ("https://www.mapmyfitness.com/workout/8622076198?ref=share", "mmf_8622076198"),
        ("http://www.mapmyrun.com/workout/2255711738", "mmf_2255711738"),
        ("https://mapmyrun.com/workout/2255711738/", "mmf_2255711738"),
        ("http://www.mapmyride.com/workout/515362285", "mmf_515362285"),
        ("https://www.mapmywalk.com/workout/7", "mmf_7"),
        ("https://www.mapmyhike.com/workout/8", "mmf_8"),
        ("https://www.mapmydogwalk.com/workout/9", "mmf_9"),
        ("HTTPS://WWW.MAPMYRUN.COM/workout/10", "mmf_10"),
        ("https://www.mapmyrun.com/de/workout/11", "mmf_11"),
        ("https://www.mapmyfitness.com/en-us/workout/12", "mmf_12"),
        ("https://www.mapmyfitness.com/pt_BR/workout/13#map", "mmf_13"),
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
        "https://www.strava.com/activities/1",
        "https://connect.garmin.com/modern/activity/1",
        "https://mapmyrun.example.com/workout/1",
        "https://www.mapmyrunner.com/workout/1",
        "https://www.mapmyrun.com/workouts/1",
        "https://www.mapmyrun.com/routes/view/1",
        "https://www.mapmyrun.com/deutsch/workout/1",
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
