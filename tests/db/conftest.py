"""Fixtures for the db tests: some run the `fitness` command in-process, whose logging
set-up must not outlive the test (a later test would find its stderr handler)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def logging_as_it_was() -> Iterator[None]:
    """Take away the handlers a test added to the root logger, and put its level back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)
