"""Opaque cursors for keyset pagination: where the next page of a list starts.

A cursor is the sort key of the last item of a page, as URL-safe base64 of a JSON array, so
a client can pass it back unchanged and a forged one is at worst a position in the list.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Final

from fitness.errors import InvalidCursor

MAX_CURSOR_CHARS: Final = 2000


def encode_cursor(*key: str | int) -> str:
    """The cursor for a sort key: `encode_cursor("2025-05-06T07:00:00+00:00", "strava_1")`."""
    text = json.dumps(list(key), separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode("utf-8")).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, *kinds: type) -> list[object]:
    """The sort key inside `cursor`, checked against `kinds` (one type per part of the key).

    Anything that `encode_cursor` did not make, or that does not fit `kinds`, raises
    `InvalidCursor`.
    """
    if len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidCursor()
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        raise InvalidCursor() from None
    if not isinstance(key, list) or [type(part) for part in key] != list(kinds):
        raise InvalidCursor()
    return key
