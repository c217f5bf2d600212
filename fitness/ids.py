"""Deterministic ids, so that importing the same record twice can never create two rows.

`strava_<activity id>`, `mmf_<workout id>` (taken from the workout link) and shoe ids
normalised from the shoe's name.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

_MMF_HOSTS = ("mapmyfitness.com", "www.mapmyfitness.com")
_MMF_PATH = re.compile(r"^/(?:[a-z]{2}(?:-[a-z]{2})?/)?workout/(\d{1,20})/?$")
_NON_ALNUM_RUN = re.compile(r"[^a-z0-9]+")
# Source ids are 64-bit integers (at most 20 digits); a longer one is garbage, and too long
# for PostgreSQL to index as a run id.
_MAX_ID_DIGITS = 20
# Shoe names and ids are unique, so indexed: PostgreSQL cannot index a value much over 2 kB,
# and a longer name is a mistake, not a shoe.
MAX_SHOE_NAME_CHARS = 100


def strava_run_id(activity_id: int | str) -> str:
    """`strava_1234567890` for Strava activity 1234567890; anything but digits is an error."""
    text = str(activity_id).strip()
    if not text.isdigit() or not text.isascii() or len(text) > _MAX_ID_DIGITS:
        raise ValueError(f"a Strava activity id is a positive integer, not {activity_id!r}")
    return f"strava_{int(text)}"


def mmf_run_id(link: str) -> str:
    """`mmf_8622076198` from `https://www.mapmyfitness.com/workout/8622076198`.

    Any other shape of link is a `ValueError`: guessing an id would risk duplicates.
    """
    parts = urlsplit(link.strip())
    match = _MMF_PATH.match(parts.path)
    if parts.scheme not in ("http", "https") or parts.hostname not in _MMF_HOSTS or not match:
        raise ValueError(f"not a MapMyFitness workout link: {link!r}")
    return f"mmf_{int(match.group(1))}"


def shoe_id_from_name(name: str) -> str:
    """Normalise a shoe name into its id: "Nike Air Zoom Pegasus 38" → `nike_air_zoom_pegasus_38`.

    Accents fold to ASCII (NFKD), case folds to lower, every run of other characters becomes
    one `_`, and `_` is stripped from the ends. A name with nothing left, longer than
    `MAX_SHOE_NAME_CHARS` or holding a NUL (PostgreSQL text cannot) is a `ValueError`.
    """
    if len(name) > MAX_SHOE_NAME_CHARS:
        raise ValueError(f"a shoe name has at most {MAX_SHOE_NAME_CHARS} characters")
    if "\x00" in name:
        raise ValueError("a shoe name cannot contain NUL characters")
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    shoe_id = _NON_ALNUM_RUN.sub("_", folded.lower()).strip("_")
    if not shoe_id:
        raise ValueError(f"shoe name {name!r} has no letters or digits to make an id from")
    return shoe_id
