"""What the import routes and pages take: an uploaded export and how to import it."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import WithJsonSchema
from starlette.datastructures import UploadFile

from fitness.shapes import Form

UploadedFile = Annotated[UploadFile, WithJsonSchema({"type": "string", "format": "binary"})]


class MmfUpload(Form):
    """A MapMyFitness CSV export and how to import it."""

    file: UploadedFile
    """The CSV export (MapMyFitness: Settings, Export workout history)."""
    timezone: str | None = None
    """IANA zone of the workout dates (default MMF_TIMEZONE); a run is placed at local noon."""
    dry_run: bool = False
    """Report what would be imported, write nothing."""
    strict: bool = False
    """Import nothing if any row is bad (then the answer is a 422 with the same report)."""


class StravaArchiveUpload(Form):
    """Strava's bulk export and how to import it."""

    file: UploadedFile
    """The export_*.zip Strava e-mails (Settings, My Account, Download or Delete Your
    Account), or its activities.csv alone."""
    dry_run: bool = False
    """Report what would be imported, write nothing."""
    strict: bool = False
    """Import nothing if any row is bad (then the answer is a 422 with the same report)."""


class ActivityFilesUpload(Form):
    """Activity files and how to import them."""

    max_files: ClassVar[int] = 1_000

    files: list[UploadedFile]
    """FIT, GPX or TCX files (gzipped or not), or zip archives of them; one part each."""
    dry_run: bool = False
    """Report what would be imported, write nothing."""
    strict: bool = False
    """Import nothing if any file is bad (then the answer is a 422 with the same report)."""
