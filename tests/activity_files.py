"""Activity files in the real formats, made for tests: FIT written by Garmin's own FIT SDK
encoder, GPX as Strava and Garmin Connect write it, TCX as Garmin writes it; and Strava
exports (zip or folder) holding them."""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from garmin_fit_sdk import Encoder, Profile

FIXTURES = Path(__file__).parent / "fixtures" / "strava_archive"
START = datetime(2024, 3, 4, 6, 1, 2, tzinfo=UTC)
_MESG = Profile["mesg_num"]
_SEMICIRCLES = 2**31 / 180


def fit_file(
    start: datetime = START,
    *,
    seconds: int = 1800,
    metres: float = 5000.0,
    sport: str = "running",
    sub_sport: str = "generic",
    heart_rate: int | None = 150,
    positions: bool = True,
    paused: int = 0,
    every: int = 5,
    serial: int = 3_999_123_456,
    sessions: int = 1,
    with_session: bool = True,
    power: int | None = None,
) -> bytes:
    """A FIT activity file as a Garmin watch writes it: file_id, timer events, a record every
    `every` seconds, a lap, a session per sport and the activity. `paused` seconds of the
    elapsed time had the timer stopped. With `power` (W), a power meter's: each record's
    `power`, the session's `avg_power` and `total_work` (J)."""
    encoder = Encoder()
    encoder.on_mesg(
        _MESG["FILE_ID"],
        {
            "type": "activity",
            "manufacturer": "garmin",
            "product": 3113,
            "serial_number": serial,
            "time_created": start,
        },
    )
    session_start = start
    for _ in range(sessions):
        encoder.on_mesg(
            _MESG["EVENT"], {"timestamp": session_start, "event": "timer", "event_type": "start"}
        )
        for second in range(0, seconds + 1, every):
            record: dict[str, object] = {
                "timestamp": session_start + timedelta(seconds=second),
                "distance": metres * second / seconds,
                "speed": metres / seconds,
            }
            if heart_rate is not None:
                record["heart_rate"] = heart_rate + (second // every) % 3 - 1
            if power is not None:
                record["power"] = power
            if positions:
                record["position_lat"] = int((52.5 + second * 1e-5) * _SEMICIRCLES)
                record["position_long"] = int(13.4 * _SEMICIRCLES)
            encoder.on_mesg(_MESG["RECORD"], record)
        end = session_start + timedelta(seconds=seconds + paused)
        encoder.on_mesg(
            _MESG["EVENT"], {"timestamp": end, "event": "timer", "event_type": "stop_all"}
        )
        summary: dict[str, object] = {
            "timestamp": end,
            "start_time": session_start,
            "total_elapsed_time": seconds + paused,
            "total_timer_time": seconds,
            "total_distance": metres,
            "sport": sport,
            "sub_sport": sub_sport,
        }
        if heart_rate is not None:
            summary["avg_heart_rate"] = heart_rate
        if power is not None:
            summary |= {"avg_power": power, "total_work": power * seconds}
        encoder.on_mesg(_MESG["LAP"], summary)
        if with_session:
            encoder.on_mesg(_MESG["SESSION"], {**summary, "first_lap_index": 0, "num_laps": 1})
        session_start = end + timedelta(minutes=2)
    activity = {"timestamp": session_start, "num_sessions": sessions, "type": "manual"}
    encoder.on_mesg(_MESG["ACTIVITY"], {**activity, "event": "activity", "event_type": "stop"})
    return encoder.close()


def gpx_file(
    start: datetime = START,
    *,
    seconds: int = 1800,
    metres: float = 5000.0,
    kind: str | None = "running",
    heart_rate: int | None = 150,
    name: str = "Morning Run",
    every: int = 10,
    creator: str = "StravaGPX",
) -> bytes:
    """A GPX 1.1 track as Strava writes it (`<type>`, Garmin's TrackPointExtension heart
    rate), moving north at a steady pace."""
    degrees_per_metre = 1 / 111_195
    points = []
    for second in range(0, seconds + 1, every):
        lat = 52.5 + metres * second / seconds * degrees_per_metre
        time = (start + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%SZ")
        extension = (
            f"<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{heart_rate}</gpxtpx:hr>"
            "</gpxtpx:TrackPointExtension></extensions>"
            if heart_rate is not None
            else ""
        )
        points.append(
            f'   <trkpt lat="{lat:.7f}" lon="13.4000000"><ele>34.2</ele><time>{time}</time>'
            f"{extension}</trkpt>"
        )
    type_element = f"\n  <type>{kind}</type>" if kind is not None else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<gpx creator="{creator}" version="1.1" '
        'xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">\n'
        f" <metadata>\n  <time>{start:%Y-%m-%dT%H:%M:%SZ}</time>\n </metadata>\n"
        f" <trk>\n  <name>{name}</name>{type_element}\n  <trkseg>\n"
        + "\n".join(points)
        + "\n  </trkseg>\n </trk>\n</gpx>\n"
    ).encode()


def tcx_file(
    start: datetime = START,
    *,
    seconds: int = 1800,
    metres: float = 5000.0,
    sport: str = "Running",
    heart_rate: int | None = 150,
    positions: bool = True,
    every: int = 10,
    watts: int | None = None,
) -> bytes:
    """A TCX activity as Garmin writes it: one lap with its totals and its track (each
    trackpoint's power in Garmin's ActivityExtension, `<ns3:TPX><ns3:Watts>`, with
    `watts`)."""
    stamp = "%Y-%m-%dT%H:%M:%S.000Z"
    points = []
    for second in range(0, seconds + 1, every):
        position = (
            f"<Position><LatitudeDegrees>{52.5 + second * 1e-5:.7f}</LatitudeDegrees>"
            "<LongitudeDegrees>13.4</LongitudeDegrees></Position>"
            if positions
            else ""
        )
        heart = f"<HeartRateBpm><Value>{heart_rate}</Value></HeartRateBpm>" if heart_rate else ""
        extension = (
            f"<Extensions><ns3:TPX><ns3:Watts>{watts}</ns3:Watts></ns3:TPX></Extensions>"
            if watts is not None
            else ""
        )
        points.append(
            f"<Trackpoint><Time>{start + timedelta(seconds=second):{stamp}}</Time>{position}"
            f"<DistanceMeters>{metres * second / seconds:.1f}</DistanceMeters>{heart}"
            f"{extension}</Trackpoint>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase '
        'xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2" '
        'xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2">\n <Activities>\n'
        f'  <Activity Sport="{sport}">\n   <Id>{start:{stamp}}</Id>\n'
        f'   <Lap StartTime="{start:{stamp}}">\n'
        f"    <TotalTimeSeconds>{seconds}</TotalTimeSeconds>\n"
        f"    <DistanceMeters>{metres}</DistanceMeters>\n    <Calories>300</Calories>\n"
        "    <Intensity>Active</Intensity>\n    <TriggerMethod>Manual</TriggerMethod>\n"
        "    <Track>" + "".join(points) + "</Track>\n   </Lap>\n  </Activity>\n"
        " </Activities>\n</TrainingCenterDatabase>\n"
    ).encode()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def strava_export(
    path: Path,
    activities_csv: str | bytes | Path,
    files: Mapping[str, bytes] = {},
    *,
    shoes_csv: str | Path | None = FIXTURES / "shoes.csv",
    folder: str = "",
) -> Path:
    """A Strava export at `path`: a zip (when `path` ends in .zip) or a folder, with
    `activities.csv`, `shoes.csv`, `bikes.csv` and `files` (`{"activities/1.fit.gz": ...}`),
    all under `folder` inside it."""
    members: dict[str, bytes] = {"activities.csv": _content(activities_csv)}
    if shoes_csv is not None:
        members["shoes.csv"] = _content(shoes_csv)
        members["bikes.csv"] = (FIXTURES / "bikes.csv").read_bytes()
    members.update(files)
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members.items():
                archive.writestr(folder + name, data)
        return path
    for name, data in members.items():
        target = path / folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return path


def zipped(members: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def english_export_files() -> dict[str, bytes]:
    """The activity files `activities-en.csv` names, as they would be in the archive."""
    return {
        "activities/11000000001.fit.gz": gz(fit_file(seconds=2734, metres=8046.72)),
        # A treadmill run: the FIT file says so (the CSV cannot), and has the heart rate.
        "activities/11000000002.fit.gz": gz(
            fit_file(
                datetime(2024, 3, 5, 18, 15, 40, tzinfo=UTC),
                seconds=2400,
                metres=8000,
                sub_sport="treadmill",
                heart_rate=162,
                positions=False,
            )
        ),
        "activities/11000000003.gpx": gpx_file(kind="cycling", name="Lunch Ride"),
        # A GPX without heart rate (a phone's recording).
        "activities/11000000004.gpx": gpx_file(
            datetime(2024, 3, 7, 7, tzinfo=UTC), seconds=3980, metres=10312.4, heart_rate=None
        ),
        "activities/11000000005.tcx.gz": gz(tcx_file(positions=False, heart_rate=148)),
        "activities/11000000008.gpx.gz": gz(
            gpx_file(
                datetime(2024, 3, 11, 6, tzinfo=UTC), seconds=1850, metres=4023.4, heart_rate=141
            )
        ),
    }


def _content(source: str | bytes | Path) -> bytes:
    if isinstance(source, Path):
        return source.read_bytes()
    return source.encode() if isinstance(source, str) else source
