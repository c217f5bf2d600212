"""Deterministic ids, so that importing the same record twice can never create two rows.

`strava_<activity id>`, `mmf_<workout id>` (taken from the workout link of any MapMy app),
`manual_<start, UTC>` for a run entered by hand, and shoe ids derived from the shoe's name,
in any script. (`hae_<workout UUID>` is made where Health Auto Export workouts are read.)
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from datetime import UTC, datetime
from typing import Final
from urllib.parse import urlsplit

from anyascii import anyascii

from fitness.rules import MAX_SHOE_NAME_CHARS

# The sites of the MapMy family (MapMyFitness, MapMyRun, MapMyRide, MapMyWalk, MapMyHike,
# MapMyDogWalk) share one workout id space; exports of each app link workouts on its own
# site, over http in older exports, with or without `www.`.
MMF_SITES: Final = (
    "mapmyfitness.com",
    "mapmyrun.com",
    "mapmyride.com",
    "mapmywalk.com",
    "mapmyhike.com",
    "mapmydogwalk.com",
)
_MMF_HOSTS: Final = frozenset(host for site in MMF_SITES for host in (site, f"www.{site}"))
# `/workout/<id>`, optionally under a locale such as `/de/` or `/en-us/` (`en_US` too).
_MMF_PATH = re.compile(r"^/(?:[a-z]{2}(?:[-_][a-z]{2})?/)?workout/(\d{1,20})/?$", re.IGNORECASE)
_NON_ALNUM_RUN = re.compile(r"[^a-z0-9]+")
# Source ids are 64-bit integers (at most 20 digits); a longer one is garbage, and too long
# for PostgreSQL to index as a run id.
_MAX_ID_DIGITS = 20
# Transliteration can make an id several times longer than its name (one CJK character
# becomes a syllable): longer ids are cut, and a digest of the name keeps them distinct.
MAX_SHOE_ID_CHARS = 80
_DIGEST_CHARS = 10


def strava_run_id(activity_id: int | str) -> str:
    """`strava_1234567890` for Strava activity 1234567890; anything but digits is an error."""
    text = str(activity_id).strip()
    if not text.isdigit() or not text.isascii() or len(text) > _MAX_ID_DIGITS:
        raise ValueError(f"a Strava activity id is a positive integer, not {activity_id!r}")
    return f"strava_{int(text)}"


def manual_run_id(start: datetime) -> str:
    """`manual_20250506T053000Z` for a run entered by hand that started then (UTC, to the
    second): nobody starts two runs in one second, so entering the same run twice (a
    retried request) names the run that is already there instead of making a second one.
    A naive `start` is a `ValueError`."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("a manual run's start must be timezone-aware")
    return f"manual_{start.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def mmf_run_id(link: str) -> str:
    """`mmf_8622076198` from `https://www.mapmyfitness.com/workout/8622076198`.

    Every site of the MapMy family (`MMF_SITES`, with or without `www.`, over http or
    https, under a locale such as `/de/`) links the same workout ids. Any other shape of
    link is a `ValueError`: guessing an id would risk duplicates.
    """
    parts = urlsplit(link.strip())
    match = _MMF_PATH.match(parts.path)
    if parts.scheme not in ("http", "https") or parts.hostname not in _MMF_HOSTS or not match:
        raise ValueError(f"not a MapMyFitness workout link: {link!r}")
    return f"mmf_{int(match.group(1))}"


# An export names the same few shoes on thousands of rows: each name is worked out once.
@functools.lru_cache(maxsize=4096)
def shoe_name_key(name: str) -> str:
    """What identifies a shoe name: two names with the same key are the same shoe.

    The key is the name's words (runs of letters, marks and digits, in any script) after
    Unicode compatibility normalisation (NFKC) and case folding, joined by single spaces.
    So case, spacing and punctuation variants of a name are one shoe ("Brooks Ghost 15",
    "brooks-ghost  15"), while names that differ in any letter or digit are different
    shoes ("Größe 42" and "Grosse 42", "Привет" and "Privet"). A name without a letter or
    digit ("!!!") is its own key, with spacing and case folded.

    >>> shoe_name_key("  Nike Air-Zoom PEGASUS 38! ")
    'nike air zoom pegasus 38'
    """
    folded = unicodedata.normalize("NFKC", name).casefold()
    words = "".join(c if unicodedata.category(c)[0] in "LMN" else " " for c in folded).split()
    return " ".join(words) if words else " ".join(folded.split())


@functools.lru_cache(maxsize=4096)
def shoe_id_from_name(name: str) -> str:
    """The id a shoe named `name` gets: "Nike Air Zoom Pegasus 38" → `nike_air_zoom_pegasus_38`.

    The words of `shoe_name_key(name)` are transliterated to ASCII with anyascii ("Größe"
    → `grosse`, "Привет" → `privet`, "ナイキ" → `naiki`), lower-cased and joined by `_`.
    A name that yields no ASCII letter or digit ("!!!", "★") gets `shoe_<digest>`, from a
    SHA-256 of its whole key; an id longer than `MAX_SHOE_ID_CHARS` is cut and ends in
    such a digest. The same name always gives the same id. Different names may still
    transliterate alike ("Privet", "Привет"): `fitness.db.shoes` then gives the later shoe
    `<id>_<digest>` (see `disambiguated_shoe_id`).

    An empty name, one longer than `MAX_SHOE_NAME_CHARS` or one holding a NUL (PostgreSQL
    text cannot) is a `ValueError`.
    """
    if len(name) > MAX_SHOE_NAME_CHARS:
        raise ValueError(f"a shoe name has at most {MAX_SHOE_NAME_CHARS} characters")
    if "\x00" in name:
        raise ValueError("a shoe name cannot contain NUL characters")
    key = shoe_name_key(name)
    if not key:
        raise ValueError("a shoe name cannot be empty")
    words = key if any(unicodedata.category(c)[0] in "LMN" for c in key) else ""
    slug = _NON_ALNUM_RUN.sub("_", anyascii(words).lower()).strip("_")
    if not slug:
        return f"shoe_{_digest(key)}"
    if len(slug) > MAX_SHOE_ID_CHARS:
        return disambiguated_shoe_id(slug[: MAX_SHOE_ID_CHARS - _DIGEST_CHARS - 1], key)
    return slug


def disambiguated_shoe_id(shoe_id: str, key: str) -> str:
    """`<shoe_id>_<digest of key>`: the id of a shoe whose plain id another name already has."""
    return f"{shoe_id.rstrip('_')}_{_digest(key)}"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:_DIGEST_CHARS]
