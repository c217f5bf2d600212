"""Strava's bulk export (`export_*.zip`): its `activities.csv` turned into runs, one row at a
time, and its `shoes.csv` into the shoes it lists.

Pure: reads only the text streams it is given (the service opens the archive and its
activity files). What the format is, from public exports and the bug reports of the
projects that read them:

- Three generations of `activities.csv`. Before July 2019: `id,date,name,type,description,
  elapsed_time,distance,commute,gear,filename`, ISO dates, metres. From then: `Activity ID,
  Activity Date, ...`, dates such as `Sep 12, 2018, 3:02:23 PM`, distances in the account's
  unit (km or mi). Since 2020 about a hundred columns, several of them twice: the first
  `Elapsed Time`, `Distance`, `Max Heart Rate`... are the summary in the account's units, the
  second ones the raw values (seconds, metres), followed by `Moving Time`, `Average Heart
  Rate` and the rest. New columns appear every few months, in the middle too.
- Headers, activity types and dates are in the account's language: `Aktivitäts-ID`,
  `Aktivitätsdatum`, `Lauf`, `09.12.2022, 15:24:49` in German; `Date de l'activité`,
  `Course à pied`, `4 mars 2024, 06:01:02` in French; numbers with a decimal comma
  (`"9,44"`). Dates are Unicode CLDR's medium date-time of the language, in UTC.
- The first seven columns (id, date, name, type, description, elapsed time, distance) have
  kept their order in every generation, so a header in a language not listed here is still
  read for those; the raw second block is found by its duplicated headers.
- `Activity Gear` names the shoe (`<brand> <model>`, or with the shoe's nickname); the
  archive has no gear ids. `shoes.csv` lists every shoe, retired ones too:
  `Shoe Name,Shoe Brand,Shoe Model,Shoe Default Sport Types`, the name being the nickname.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Final, Literal, TextIO, TypeVar

from babel.dates import get_month_names, get_period_names

from fitness.errors import InvalidImport
from fitness.ids import MAX_SHOE_NAME_CHARS, strava_run_id
from fitness.importers._csv import (
    RowError,
    SkippedActivity,
    csv_rows,
    excerpt,
    parse_number,
    width_error,
)
from fitness.models import Run, RunType, validate_run_fields
from fitness.ride_models import Ride, validate_ride_fields
from fitness.rules import (
    MAX_HEART_RATE,
    MAX_RIDE_KILOJOULES,
    MAX_RIDE_POWER_WATTS,
    MAX_RUN_NAME_CHARS,
    MAX_RUN_NOTES_CHARS,
    MIN_HEART_RATE,
    RideType,
)

T = TypeVar("T")

SOURCE: Final = "Strava"
METRES_PER_MILE: Final = Decimal("1609.344")
METRES_PER_KM: Final = Decimal(1000)
DistanceUnit = Literal["km", "mi", "m"]
Layout = Literal["2018", "2019", "2020"]
"""The generation of an `activities.csv`: 2018 (lower-case headers, metres), 2019 (the
account's unit only), 2020 (a raw second block, in metres and seconds)."""

# The columns used, each under every name Strava has given it (compared without case,
# accents, spaces or punctuation). English and German are from real exports; French,
# Spanish, Italian, Portuguese and Dutch from Strava's own wording in each language.
COLUMN_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "id": ("Activity ID", "id", "Aktivitäts-ID", "ID de l'activité", "ID de actividad",
           "ID de la actividad", "ID attività", "ID dell'attività", "ID da atividade",
           "Activiteit-ID"),
    "date": ("Activity Date", "date", "Aktivitätsdatum", "Date de l'activité",
             "Fecha de la actividad", "Fecha de actividad", "Data dell'attività",
             "Data da atividade", "Activiteitsdatum"),
    "name": ("Activity Name", "name", "Name der Aktivität", "Nom de l'activité",
             "Nombre de la actividad", "Nombre de actividad", "Nome dell'attività",
             "Nome da atividade", "Naam van activiteit", "Activiteitsnaam"),
    "type": ("Activity Type", "type", "Aktivitätsart", "Type d'activité", "Tipo de actividad",
             "Tipo di attività", "Tipo de atividade", "Activiteitstype", "Type activiteit"),
    "description": ("Activity Description", "description", "Aktivitätsbeschreibung",
                    "Description de l'activité", "Descripción de la actividad",
                    "Descrizione dell'attività", "Descrição da atividade",
                    "Beschrijving van activiteit", "Activiteitsbeschrijving"),
    "elapsed": ("Elapsed Time", "elapsed_time", "Verstrichene Zeit", "Temps écoulé",
                "Tiempo transcurrido", "Tempo trascorso", "Tempo decorrido", "Verstreken tijd"),
    "distance": ("Distance", "distance", "Distanz", "Distancia", "Distanza", "Distância",
                 "Afstand"),
    "moving": ("Moving Time", "Bewegungszeit", "Durée de déplacement", "Temps de déplacement",
               "Tiempo en movimiento", "Tempo in movimento", "Tempo em movimento",
               "Beweegtijd", "Tijd in beweging"),
    "heart_rate": ("Average Heart Rate", "Durchschnittliche Herzfrequenz",
                   "Fréquence cardiaque moyenne", "Frecuencia cardiaca media",
                   "Frecuencia cardíaca media", "Frecuencia cardiaca promedio",
                   "Frequenza cardiaca media", "Frequência cardíaca média",
                   "Gemiddelde hartslag"),
    "gear": ("Activity Gear", "gear", "Aktivitätsausrüstung", "Équipement de l'activité",
             "Equipo de la actividad", "Material de la actividad", "Equipamiento de la actividad",
             "Attrezzatura dell'attività", "Equipamento da atividade", "Uitrusting activiteit",
             "Activiteitsuitrusting"),
    "file": ("Filename", "filename", "Dateiname", "Nom du fichier", "Nombre de archivo",
             "Nombre del archivo", "Nome file", "Nome do arquivo", "Bestandsnaam"),
    "power": ("Average Watts", "Durchschnittliche Watt", "Watts moyens", "Vatios medios",
              "Průměrný výkon ve wattech"),
    "work": ("Total Work", "Gesamtarbeit", "Travail total", "Trabajo total"),
}  # fmt: skip
# Where the 2020 layout's machine block (from its second Elapsed Time) keeps the columns
# read by position when their header is in a language not listed above: Max Heart Rate
# (+15) and Relative Effort (+22) repeat the summary's columns 7 and 8 under the same
# header, so where they do, the columns beside them are where every export has them.
_MACHINE_ANCHORS: Final = {15: 7, 22: 8}
_MACHINE_COLUMNS: Final = {"heart_rate": (16, 15), "power": (18, 15), "work": (23, 22)}
# The activity types that are runs, in the languages above and Czech (whose headers are
# read by position); a virtual run is run indoors (a treadmill with Zwift or the like).
# Activity types are compared like headers.
RUN_TYPES: Final = frozenset(
    {
        "Run", "Trail Run", "Lauf", "Traillauf", "Trail-Lauf", "Course à pied", "Trail",
        "Course à pied en sentier", "Carrera", "Carrera por montaña", "Trail running",
        "Corsa", "Corsa su sentiero", "Corrida", "Corrida em trilha", "Hardlopen",
        "Trailrunning", "Trailrun", "Běh",
    }
)  # fmt: skip
VIRTUAL_RUN_TYPES: Final = frozenset(
    {
        "Virtual Run", "VirtualRun", "Virtueller Lauf", "Course à pied virtuelle",
        "Course virtuelle", "Carrera virtual", "Corsa virtuale", "Corrida virtual",
        "Virtueel hardlopen", "Virtuele run",
    }
)  # fmt: skip
# The activity types that are rides, in the languages above, and the ride type of each.
RIDE_TYPES: Final[dict[str, RideType]] = {
    "Ride": "Road Ride", "Radfahrt": "Road Ride", "Sortie à vélo": "Road Ride",
    "Bicicleta": "Road Ride", "Ciclismo": "Road Ride", "Giro in bici": "Road Ride",
    "Pedalada": "Road Ride", "Fietsrit": "Road Ride", "Velomobile": "Road Ride",
    "Jízda": "Road Ride",
    "Virtual Ride": "Virtual Ride", "VirtualRide": "Virtual Ride",
    "Virtuelle Radfahrt": "Virtual Ride", "Vélo virtuel": "Virtual Ride",
    "E-Bike Ride": "E-Bike Ride", "EBikeRide": "E-Bike Ride", "E-Bike-Fahrt": "E-Bike Ride",
    "E-Mountain Bike Ride": "E-Bike Ride",
    "Mountain Bike Ride": "Mountain Bike Ride", "MountainBikeRide": "Mountain Bike Ride",
    "Mountainbike-Fahrt": "Mountain Bike Ride",
    "Gravel Ride": "Gravel Ride", "GravelRide": "Gravel Ride",
}  # fmt: skip
# Types known to be neither runs nor rides, so their activity files are not read.
OTHER_TYPES: Final = frozenset(
    {
        "Walk",
        "Hike", "Swim", "Workout", "Weight Training", "Yoga", "Rowing", "Elliptical",
        "Alpine Ski", "Nordic Ski", "Backcountry Ski", "Snowboard", "Ice Skate",
        "Inline Skate", "Kayaking", "Canoeing", "Stand Up Paddling", "Surfing",
        "Rock Climbing", "Stair-Stepper", "Crossfit", "Golf", "Tennis", "Soccer",
        "Spaziergang", "Wanderung", "Schwimmen", "Krafttraining", "Marche", "Randonnée",
        "Natation", "Entraînement", "Caminata", "Senderismo", "Natación", "Entrenamiento",
        "Camminata", "Escursionismo", "Nuoto", "Caminhada", "Natação", "Wandeling", "Zwemmen",
        "Turistika", "Posilování",
    }
)  # fmt: skip

# Dates: the locales whose month and day-period names are recognised (those of Strava's
# languages), from the Unicode CLDR through Babel.
DATE_LOCALES: Final = ("en", "de", "fr", "es", "it", "pt", "nl", "ru", "ja", "ko", "zh")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
# Some languages (Finnish, Danish) write the time with dots: only at the end, after the date.
_DOTTED_TIME = re.compile(r"(?<=[\s,])(\d{1,2})\.(\d{2})\.(\d{2})$")
_DATE_TOKEN = re.compile(r"\d+|[^\W\d_]+")
_ISO_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class ArchiveActivity:
    """A row of `activities.csv` that is a run, or may be one.

    `run` is what the row says (an `Outdoor Run` unless its type is a virtual run). `is_run`
    is None for an activity type this reader does not know: the activity file decides.
    `activity_file` is its path inside the archive (`activities/123.fit.gz`), if any;
    `gear` the name in its `Activity Gear` cell. `type_known` is True when the type said
    where it was run (a virtual run), so the file need not tell.
    """

    line: int
    run: Run
    activity_type: str
    is_run: bool | None
    activity_file: str | None
    gear: str | None
    type_known: bool
    avg_power: float | None = None
    """The row's average power (W), for a row its file turns out to be a ride."""
    kilojoules: float | None = None


@dataclass(frozen=True, slots=True)
class ArchiveRide:
    """A row of `activities.csv` that is a ride: the ride the row says (its activity file,
    if any, may add power, work and whether it was indoors), and its `Activity Gear`."""

    line: int
    ride: Ride
    activity_type: str
    activity_file: str | None
    gear: str | None


ArchiveRow = ArchiveActivity | ArchiveRide | SkippedActivity | RowError


@dataclass(frozen=True, slots=True)
class ArchiveShoe:
    """A row of `shoes.csv`: the shoe's nickname, brand and model."""

    nickname: str
    brand: str
    model: str

    @property
    def name(self) -> str:
        """The name Strava gives the shoe (as its API does): the nickname, else brand and
        model."""
        return _shoe_name(self.nickname or f"{self.brand} {self.model}")

    @property
    def names(self) -> tuple[str, ...]:
        """Every name an activity's gear cell may give this shoe, most specific first."""
        brand_model = f"{self.brand} {self.model}".strip()
        forms = [self.name, f"{brand_model} {self.nickname}".strip(), brand_model, self.nickname]
        return tuple(dict.fromkeys(_shoe_name(form) for form in forms if form.strip()))


class StravaActivities:
    """The `activities.csv` of a Strava export being read: iterate over it for its rows.

    `stream` should be opened with `newline=""` and `encoding="utf-8-sig"`. Rows are read
    lazily (constant memory). `distance_unit` is the unit of the summary `Distance`
    column of a 2019 export (it has no column in metres): `km` or `mi`, as the account
    had it; other exports do not need it. An empty file, one that is not UTF-8 or one that
    is not a Strava `activities.csv` raise `InvalidImport`.

    After the header, `layout` says which generation the file is.
    """

    def __init__(self, stream: TextIO, distance_unit: Literal["km", "mi"] | None = None) -> None:
        self._stream = stream
        self._distance_unit = distance_unit
        self.layout: Layout | None = None
        self.columns: Columns | None = None

    def __iter__(self) -> Iterator[ArchiveRow]:
        columns: Columns | None = None
        for row in csv_rows(self._stream, source="Strava"):
            if isinstance(row, RowError):
                yield row
                continue
            line, cells = row
            if columns is None:
                columns = self.columns = Columns.read(cells)
                self.layout = columns.layout
                continue
            if error := width_error(line, cells, columns.width):
                yield error
                continue
            yield parse_row(line, cells, columns, self._distance_unit)
        if columns is None:
            raise InvalidImport("activities.csv is empty: expected Strava's activities.csv")


@dataclass(frozen=True, slots=True)
class Columns:
    """Where each column used is in a header, and which generation the file is."""

    index: dict[str, int]
    layout: Layout
    width: int
    metres: int | None
    elapsed_seconds: int | None

    @classmethod
    def read(cls, cells: list[str]) -> Columns:
        keys = [_key(cell) for cell in cells]
        index: dict[str, int] = {}
        for concept, names in COLUMN_NAMES.items():
            wanted = {_key(name) for name in names}
            found = next((i for i, key in enumerate(keys) if key in wanted), None)
            if found is not None:
                index[concept] = found
        by_name = {name for name in ("id", "date", "type") if name in index}
        # The first seven columns have kept their order since 2019: a language not listed
        # above is read by position, once the duplicated summary columns show it is Strava's.
        second_elapsed = _second(keys, 5)
        second_distance = _second(keys, 6)
        if len(by_name) < 3 and not (second_elapsed and second_distance):
            raise InvalidImport(
                "this is not Strava's activities.csv (its header starts "
                f"{excerpt(','.join(cells[:4]))}); use the activities.csv of the export "
                "Strava e-mails (Settings, My Account, Download or Delete Your Account)"
            )
        for position, concept in enumerate(
            ("id", "date", "name", "type", "description", "elapsed", "distance")
        ):
            if len(cells) > position:
                index.setdefault(concept, position)
        if second_elapsed is not None and second_distance is not None:
            # 2020 on: ..., Gear, Filename, Athlete Weight, Bike Weight, Elapsed Time,
            # Moving Time, Distance, ...
            if second_distance - second_elapsed == 2:
                index.setdefault("moving", second_elapsed + 1)
            if second_elapsed >= 4:
                index.setdefault("file", second_elapsed - 3)
                index.setdefault("gear", second_elapsed - 4)
            for concept, (offset, anchor) in _MACHINE_COLUMNS.items():
                repeated = second_elapsed + anchor
                summary = _MACHINE_ANCHORS[anchor]
                if second_elapsed + offset < len(keys) and keys[repeated] == keys[summary]:
                    index.setdefault(concept, second_elapsed + offset)
            layout: Layout = "2020"
        elif keys[:2] == ["id", "date"]:
            layout = "2018"
        else:
            layout = "2019"
        return cls(
            index=index,
            layout=layout,
            width=len(cells),
            metres=second_distance,
            elapsed_seconds=second_elapsed,
        )


def parse_row(
    line: int, cells: list[str], columns: Columns, distance_unit: Literal["km", "mi"] | None
) -> ArchiveRow:
    """One data row of `activities.csv` as a run (or maybe-run), another activity or an
    error. See `StravaActivities`."""

    def cell(concept: str) -> str:
        index = columns.index.get(concept)
        return cells[index].strip() if index is not None else ""

    activity_type = " ".join(cell("type").split())
    if not activity_type:
        return RowError(line, "the activity type is empty")
    kind = _key(activity_type)
    if kind in _OTHER_KEYS:
        return SkippedActivity(line, activity_type)
    ride_type = _RIDE_KEYS.get(kind)
    is_virtual = kind in _VIRTUAL_KEYS
    is_run: bool | None = True if is_virtual or kind in _RUN_KEYS else None
    try:
        run_id = strava_run_id(cell("id"))
    except ValueError:
        return RowError(line, f"the activity id {excerpt(cell('id'))} is not a Strava id")
    problems: list[str] = []
    started = _parsed(problems, "date", lambda: parse_activity_date(cell("date")))
    metres = _parsed(problems, "distance", lambda: _metres(cells, columns, distance_unit))
    duration = _parsed(problems, "time", lambda: _duration(cells, columns))
    heart_rate = _parsed(problems, "heart rate", lambda: _optional(cell("heart_rate")))
    if problems:
        return RowError(line, "; ".join(problems))
    assert started is not None and metres is not None and duration is not None
    if heart_rate is not None and not MIN_HEART_RATE <= heart_rate <= MAX_HEART_RATE:
        heart_rate = None  # a sensor glitch (or "0", no reading): the file may know better
    name = _text(cell("name"))
    notes = _text(cell("description"))
    if len(notes) > MAX_RUN_NOTES_CHARS:
        return RowError(line, f"the description is longer than {MAX_RUN_NOTES_CHARS:,} characters")
    run_type: RunType = "Treadmill Run" if is_virtual else "Outdoor Run"
    values: dict[str, object] = {
        "datetime_utc": started,
        "distance": float(round(metres / METRES_PER_MILE, 4)),
        "duration": float(duration),
        "avg_heart_rate": float(heart_rate) if heart_rate is not None else None,
    }
    # Power and work when the export has them (Strava estimates both without a power
    # meter); a value out of bounds is left out, as from the API.
    avg_power = _bounded(cell("power"), MAX_RIDE_POWER_WATTS)
    work = _bounded(cell("work"), MAX_RIDE_KILOJOULES * 1000)  # joules
    kilojoules = round(work / 1000, 1) if work is not None else None
    if ride_type is not None:
        values |= {"avg_power": avg_power, "kilojoules": kilojoules}
        return _ride_row(line, run_id, ride_type, values, activity_type, name, notes, cell)
    invalid = validate_run_fields(values)
    if invalid:
        return RowError(line, "; ".join(f"{field} {message}" for field, message in invalid.items()))
    activity_file = cell("file")
    gear = _text(cell("gear"))
    return ArchiveActivity(
        line=line,
        run=Run(
            id=run_id,
            type=run_type,
            source=SOURCE,
            name=name[:MAX_RUN_NAME_CHARS] or None,
            notes=notes or None,
            **values,  # type: ignore[arg-type]
        ),
        activity_type=activity_type,
        is_run=is_run,
        activity_file=activity_file or None,
        gear=gear or None,
        type_known=is_virtual,
        avg_power=avg_power,
        kilojoules=kilojoules,
    )


def _ride_row(
    line: int,
    ride_id: str,
    ride_type: RideType,
    values: dict[str, object],
    activity_type: str,
    name: str,
    notes: str,
    cell: Callable[[str], str],
) -> ArchiveRide | RowError:
    invalid = validate_ride_fields(values)
    if invalid:
        return RowError(line, "; ".join(f"{field} {message}" for field, message in invalid.items()))
    return ArchiveRide(
        line=line,
        ride=Ride(
            id=ride_id,
            type=ride_type,
            indoor=ride_type == "Virtual Ride",
            source=SOURCE,
            name=name[:MAX_RUN_NAME_CHARS] or None,
            notes=notes or None,
            **values,  # type: ignore[arg-type]
        ),
        activity_type=activity_type,
        activity_file=cell("file") or None,
        gear=_text(cell("gear")) or None,
    )


def read_shoes_csv(stream: TextIO) -> list[ArchiveShoe]:
    """The shoes `shoes.csv` lists (`Shoe Name,Shoe Brand,Shoe Model,...`: nickname, brand,
    model, in that order in every language); rows without any name are left out."""
    shoes: list[ArchiveShoe] = []
    header = True
    for row in csv_rows(stream, source="Strava"):
        if isinstance(row, RowError):
            continue
        if header:
            header = False
            continue
        _, cells = row
        nickname, brand, model = [*cells, "", "", ""][:3]
        shoe = ArchiveShoe(_text(nickname), _text(brand), _text(model))
        if shoe.name:
            shoes.append(shoe)
    return shoes


def parse_activity_date(text: str) -> datetime:
    """An `Activity Date` as Strava writes it in any of its languages, in UTC.

    `2018-09-12 15:02:23` (before July 2019), `Mar 4, 2024, 6:01:02 AM` (with a plain or a
    narrow no-break space before AM), `4 Mar 2024, 06:01:02`, `09.12.2022, 15:24:49`,
    `4 mars 2024, 06:01:02`, `4 mar 2024, 6:01:02`, `4 de mar. de 2024, 06:01:02`,
    `2024/03/04 6:01:02`, `2024. 3. 4. 오전 6:01:02`: month and day-period names of every
    language in `DATE_LOCALES` (Unicode CLDR), the year being the four-digit number and a
    date of numbers only read day first unless it starts with the year. `ValueError` for
    anything else.

    >>> parse_activity_date("Mar 4, 2024, 6:01:02 PM").isoformat()
    '2024-03-04T18:01:02+00:00'
    """
    value = " ".join(text.replace("\u202f", " ").replace("\u00a0", " ").split())
    if _ISO_DATE_TIME.match(value):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{excerpt(text)} is not a date") from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    clock = _TIME.search(value) or _DOTTED_TIME.search(value)
    if clock is None:
        raise ValueError(f"{excerpt(text)} has no time of day")
    hour, minute, second = (int(part or 0) for part in clock.groups())
    period = _day_period(value[: clock.start()], value[clock.end() :])
    if period is not None:
        if not 1 <= hour <= 12:
            raise ValueError(f"{excerpt(text)} has an hour that is not 1 to 12")
        hour = hour % 12 + (12 if period == "pm" else 0)
    numbers: list[str] = []
    month: int | None = None
    for token in _DATE_TOKEN.findall(value[: clock.start()].casefold()):
        if token.isdigit():
            numbers.append(token)
        elif month is None:
            month = _month_numbers().get(token.rstrip("."))
    try:
        year, month, day = _date_parts(numbers, month)
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{excerpt(text)} is not a date") from None


def _date_parts(numbers: list[str], month: int | None) -> tuple[int, int, int]:
    if month is not None:
        years = [n for n in numbers if len(n) == 4]
        days = [n for n in numbers if len(n) <= 2]
        if len(years) != 1 or len(days) != 1:
            raise ValueError("no day and year")
        return int(years[0]), month, int(days[0])
    if len(numbers) != 3:
        raise ValueError("no day, month and year")
    if len(numbers[0]) == 4:
        return int(numbers[0]), int(numbers[1]), int(numbers[2])
    if len(numbers[2]) != 4:
        raise ValueError("no four-digit year")
    return int(numbers[2]), int(numbers[1]), int(numbers[0])


def _day_period(before: str, after: str) -> Literal["am", "pm"] | None:
    periods = _period_names()
    following = re.sub(r"[\s.]", "", after).casefold()
    if following in periods:
        return periods[following]
    words = before.split()
    if words:
        preceding = re.sub(r"[\s.]", "", words[-1]).casefold()
        return periods.get(preceding)
    return None


@cache
def _month_numbers() -> dict[str, int]:
    """Every CLDR month name and abbreviation of `DATE_LOCALES` (lower case, without a final
    dot) to its number; a name two languages give different months is left out."""
    found: dict[str, set[int]] = {}
    for locale in DATE_LOCALES:
        for context in ("format", "stand-alone"):
            for width in ("abbreviated", "wide"):
                for number, name in get_month_names(width, context, locale).items():
                    key = str(name).casefold().rstrip(".")
                    found.setdefault(key, set()).add(number)
    return {name: next(iter(numbers)) for name, numbers in found.items() if len(numbers) == 1}


@cache
def _period_names() -> dict[str, Literal["am", "pm"]]:
    names: dict[str, Literal["am", "pm"]] = {"am": "am", "pm": "pm"}
    for locale in DATE_LOCALES:
        for width in ("abbreviated", "wide"):
            for period, name in get_period_names(width, "format", locale).items():
                if period in ("am", "pm"):
                    names.setdefault(re.sub(r"[\s.]", "", str(name)).casefold(), period)
    return names


def _metres(cells: list[str], columns: Columns, unit: Literal["km", "mi"] | None) -> Decimal:
    if columns.metres is not None and cells[columns.metres].strip():
        return _non_negative(parse_number(cells[columns.metres].strip()))
    index = columns.index["distance"]
    text = cells[index].strip() if index < len(cells) else ""
    if columns.layout == "2018":
        return _non_negative(parse_number(text))
    if columns.layout == "2020":
        # The raw column is empty: the summary one is in the account's unit, unknown here.
        if not text:
            raise ValueError("is empty")
        raise ValueError("is given only in the account's unit, which the row does not say")
    if unit is None:
        raise ValueError("is in the account's unit (km or mi), which the export does not say")
    return _non_negative(parse_number(text)) * (METRES_PER_MILE if unit == "mi" else METRES_PER_KM)


def _duration(cells: list[str], columns: Columns) -> Decimal:
    moving = columns.index.get("moving")
    if moving is not None and cells[moving].strip():
        seconds = _seconds(cells[moving].strip())
        if seconds > 0:
            return seconds
    elapsed = columns.elapsed_seconds
    if elapsed is None or not cells[elapsed].strip():
        elapsed = columns.index["elapsed"]
    return _seconds(cells[elapsed].strip())


def _seconds(text: str) -> Decimal:
    """Seconds as a number (`3189`, `3189.0`) or as a clock (`0:53:09`)."""
    if ":" in text:
        parts = text.split(":")
        if not 2 <= len(parts) <= 3 or not all(part.strip().isdigit() for part in parts):
            raise ValueError(f"{excerpt(text)} is not a time")
        total = Decimal(0)
        for part in parts:
            total = total * 60 + int(part)
        return total
    return _non_negative(parse_number(text))


def _optional(text: str) -> Decimal | None:
    return parse_number(text) if text else None


def _bounded(text: str, largest: float) -> float | None:
    """The number in `text` when it is one from 0 to `largest`, else None."""
    try:
        number = _optional(text)
    except ValueError:
        return None
    return float(number) if number is not None and 0 <= number <= largest else None


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError(f"{value} is negative")
    return value


def _parsed(problems: list[str], label: str, parse: Callable[[], T]) -> T | None:
    try:
        return parse()
    except ValueError as error:
        problems.append(f"{label}: {error}")
        return None


def _text(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_CHARACTERS.sub("", text).strip()


def _shoe_name(name: str) -> str:
    name = " ".join(name.split())
    return name if len(name) <= MAX_SHOE_NAME_CHARS else name[: MAX_SHOE_NAME_CHARS - 1] + "…"


def _key(text: str) -> str:
    """A header or activity type compared without case, accents, spaces or punctuation."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\ufeff", "").casefold())
    return "".join(c for c in decomposed if c.isalnum())


def _second(keys: list[str], position: int) -> int | None:
    """Where the header at `position` appears a second time, if it does."""
    if len(keys) <= position or not keys[position]:
        return None
    return next((i for i in range(position + 1, len(keys)) if keys[i] == keys[position]), None)


_RUN_KEYS: Final = frozenset(_key(name) for name in RUN_TYPES)
_VIRTUAL_KEYS: Final = frozenset(_key(name) for name in VIRTUAL_RUN_TYPES)
_OTHER_KEYS: Final = frozenset(_key(name) for name in OTHER_TYPES)
_RIDE_KEYS: Final = {_key(name): ride_type for name, ride_type in RIDE_TYPES.items()}
