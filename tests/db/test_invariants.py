"""Random interleavings of import, edit, delete, restore, marking duplicates, setting and
clearing races, and retirement, checked against a model.

Hypothesis drives the real library against the real database; after every step the
database must agree with a plain-Python model of what should have happened: the `runs` row
equals its newest snapshot, versions are 1..n with no gap, a snapshot once written never
changes, a re-import never alters an edited run (its name and notes included), and the
duplicate rules hold (a duplicate of at most one run that is no duplicate itself; each
run's `duplicate_ids` are the runs marked duplicates of it; marking and undoing write
versions in both runs; duplicates are in no list).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)

from fitness.db.integrity import find_problems
from fitness.db.races import clear_run_race, set_run_race
from fitness.db.runs import delete_run, get_all_runs, get_run_by_id, import_runs
from fitness.db.runs_history import (
    get_run_history,
    mark_duplicate,
    restore_run_version,
    update_run_with_history,
)
from fitness.db.shoes import create_shoe, retire_shoe_by_id, unretire_shoe_by_id
from fitness.errors import DuplicateConflict, RunNotFound, VersionConflict
from fitness.models import RECORDED_FIELDS, Race, Run
from tests.conftest import TABLES

SHOES = ("brooks_ghost_15", "hoka_clifton_9")
START = datetime(2014, 1, 1, 6, tzinfo=UTC)  # ten years of moments, all in the past

distances = st.floats(min_value=0, max_value=50, allow_nan=False).map(lambda d: round(d, 2))
durations = st.integers(min_value=60, max_value=20_000).map(float)
heart_rates = st.one_of(st.none(), st.integers(min_value=60, max_value=200).map(float))
run_types = st.sampled_from(["Outdoor Run", "Treadmill Run"])
shoe_ids = st.one_of(st.none(), st.sampled_from(SHOES))
moments = st.integers(min_value=0, max_value=3650 * 24).map(lambda h: START + timedelta(hours=h))
# What a runner writes: any Unicode PostgreSQL can store (no NUL, no lone surrogate).
texts = st.one_of(
    st.none(),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40),
)
updates = st.fixed_dictionaries(
    {},
    optional={
        "distance": distances,
        "duration": durations,
        "avg_heart_rate": heart_rates,
        "type": run_types,
        "shoe_id": shoe_ids,
        "datetime_utc": moments,
        "name": texts,
        "notes": texts,
    },
)

# A race, or None to clear it.
races = st.one_of(
    st.none(),
    st.builds(
        Race,
        name=st.sampled_from(["Parkrun", "City 10K"]),
        distance=st.sampled_from([3.10686, 6.21371]),
        time=st.integers(min_value=900, max_value=5000).map(float),
        place=st.one_of(st.none(), st.integers(min_value=1, max_value=50)),
        field_size=st.one_of(st.none(), st.just(50)),
    ),
)


@dataclass
class ModelRun:
    """What the database should hold for one run: its snapshots in order, and deletion."""

    snapshots: list[dict[str, object]] = field(default_factory=list)
    change_types: list[str] = field(default_factory=list)
    deleted: bool = False

    @property
    def data(self) -> dict[str, object]:
        return self.snapshots[-1]

    def append(self, change_type: str, data: dict[str, object]) -> None:
        self.snapshots.append(dict(data))
        self.change_types.append(change_type)


def data_of(run: Run | object) -> dict[str, object]:
    return {name: getattr(run, name) for name in RECORDED_FIELDS}


class RunLedger(RuleBasedStateMachine):
    """The state machine: rules mutate both the database and the model."""

    run_ids = Bundle("run_ids")

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[str, ModelRun] = {}
        self.next_activity = 1

    @initialize()
    def empty_database_with_shoes(self) -> None:
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        for name in ("Brooks Ghost 15", "Hoka Clifton 9"):
            create_shoe(name)

    @rule(
        target=run_ids,
        count=st.integers(min_value=1, max_value=4),
        data=st.data(),
    )
    def import_new_runs(self, count: int, data: st.DataObject) -> multiple[str]:
        new_runs = []
        for _ in range(count):
            run = Run(
                id=f"strava_{self.next_activity}",
                datetime_utc=data.draw(moments),
                type=data.draw(run_types),
                distance=data.draw(distances),
                duration=data.draw(durations),
                source="Strava",
                avg_heart_rate=data.draw(heart_rates),
                shoe_id=data.draw(shoe_ids),
                name=data.draw(texts),
                notes=data.draw(texts),
            )
            self.next_activity += 1
            new_runs.append(run)
        assert import_runs(new_runs).inserted == count
        for run in new_runs:
            self.model[run.id] = ModelRun()
            self.model[run.id].append("original", data_of(run))
        return multiple(*(run.id for run in new_runs))

    @rule(run_id=run_ids, distance=distances, name=texts, notes=texts)
    def reimport_with_other_data(
        self, run_id: str, distance: float, name: str | None, notes: str | None
    ) -> None:
        model = self.model[run_id]
        other = {"distance": distance, "name": name, "notes": notes}
        stale = Run(id=run_id, source="Strava", **{**model.snapshots[0], **other})
        result = import_runs([stale])
        assert (result.inserted, result.skipped_existing) == (0, 1)

    @rule(run_id=run_ids, changes=updates)
    def edit(self, run_id: str, changes: dict[str, object]) -> None:
        model = self.model[run_id]
        if model.deleted:
            with pytest.raises(RunNotFound):
                update_run_with_history(run_id, changes, changed_by="model")
            return
        edited = update_run_with_history(run_id, changes, changed_by="model")
        proposed = {**model.data, **changes}
        if _same(proposed, model.data):
            assert edited.version == len(model.snapshots)
        else:
            model.append("edit", proposed)
            assert edited.version == len(model.snapshots)

    @rule(run_id=run_ids, race=races)
    def set_or_clear_race(self, run_id: str, race: Race | None) -> None:
        model = self.model[run_id]
        write = (
            (lambda: clear_run_race(run_id, changed_by="model"))
            if race is None
            else (lambda: set_run_race(run_id, race, changed_by="model"))
        )
        if model.deleted:
            with pytest.raises(RunNotFound):
                write()
            return
        written = write()
        fields = dict.fromkeys(("name", "distance", "time", "place", "field_size"))
        if race is not None:
            fields = {name: getattr(race, name) for name in fields}
        proposed = {**model.data, **{f"race_{name}": value for name, value in fields.items()}}
        if not _same(proposed, model.data):
            model.append("edit", proposed)
        assert written.version == len(model.snapshots)

    @rule(run_id=run_ids, stale_by=st.integers(min_value=1, max_value=3))
    def edit_with_a_stale_expected_version(self, run_id: str, stale_by: int) -> None:
        model = self.model[run_id]
        stale = len(model.snapshots) - stale_by
        if model.deleted or stale < 1:
            return
        with pytest.raises(VersionConflict):
            update_run_with_history(
                run_id, {"distance": 99.0}, changed_by="model", expected_version=stale
            )

    @rule(run_id=run_ids)
    def delete(self, run_id: str) -> None:
        model = self.model[run_id]
        if model.deleted:
            with pytest.raises(RunNotFound):
                delete_run(run_id, changed_by="model")
            return
        delete_run(run_id, changed_by="model", expected_version=len(model.snapshots))
        model.append("deletion", model.data)
        model.deleted = True

    @rule(run_id=run_ids, data=st.data())
    def restore(self, run_id: str, data: st.DataObject) -> None:
        model = self.model[run_id]
        # Drawn from a fixed range: how many versions racing edits made varies from one
        # replay to the next, and hypothesis needs the same draws to replay a case.
        version = 1 + data.draw(st.integers(min_value=0, max_value=999)) % len(model.snapshots)
        target = model.snapshots[version - 1]
        now, then = model.data["duplicate_of"], target["duplicate_of"]
        if now != then and (
            (now is not None and self.model[now].deleted)
            or (then is not None and not self._may_be_duplicate(run_id, then))
        ):
            with pytest.raises(DuplicateConflict):
                restore_run_version(run_id, version, changed_by="model")
            return
        restored = restore_run_version(run_id, version, changed_by="model")
        # The link comes back with the data; the runs that name this one stay as they are.
        model.append("restore", {**target, "duplicate_ids": model.data["duplicate_ids"]})
        model.deleted = False
        assert restored.version == len(model.snapshots)
        if now != then:
            for kept_id in (now, then):
                if kept_id is not None:
                    self._record_duplicates(kept_id)

    @rule(run_id=run_ids, kept_id=run_ids)
    def mark_a_duplicate(self, run_id: str, kept_id: str) -> None:
        model, kept = self.model[run_id], self.model[kept_id]
        if model.deleted or kept.deleted:
            with pytest.raises(RunNotFound):
                mark_duplicate(run_id, kept_id, changed_by="model")
            return
        if model.data["duplicate_of"] is not None or not self._may_be_duplicate(run_id, kept_id):
            with pytest.raises(DuplicateConflict):
                mark_duplicate(run_id, kept_id, changed_by="model")
            return
        marked = mark_duplicate(run_id, kept_id, changed_by="model")
        model.append("duplicate", {**model.data, "duplicate_of": kept_id})
        assert marked.version == len(model.snapshots)
        self._record_duplicates(kept_id)

    def _may_be_duplicate(self, run_id: str, kept_id: str) -> bool:
        kept = self.model[kept_id]
        return (
            run_id != kept_id
            and not kept.deleted
            and kept.data["duplicate_of"] is None
            and not self.model[run_id].data["duplicate_ids"]
        )

    def _record_duplicates(self, kept_id: str) -> None:
        kept = self.model[kept_id]
        named = sorted(i for i, m in self.model.items() if m.data["duplicate_of"] == kept_id)
        if named != kept.data["duplicate_ids"]:
            kept.append("merge", {**kept.data, "duplicate_ids": named})

    @rule(run_id=run_ids, distances_=st.lists(distances, min_size=2, max_size=4))
    def concurrent_edits(self, run_id: str, distances_: list[float]) -> None:
        model = self.model[run_id]
        if model.deleted:
            return
        barrier = threading.Barrier(len(distances_))
        errors: list[BaseException] = []

        def edit(distance: float) -> None:
            barrier.wait()
            try:
                update_run_with_history(run_id, {"distance": distance}, changed_by="racer")
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)

        workers = [threading.Thread(target=edit, args=(d,)) for d in distances_]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert not errors
        # The order is the database's to choose; replay it into the model from history.
        history = sorted(get_run_history(run_id), key=lambda v: v.version_number)
        for version in history[len(model.snapshots) :]:
            assert version.change_type == "edit" and version.changed_by == "racer"
            model.append("edit", data_of(version))

    @rule(shoe=st.sampled_from(SHOES), retire=st.booleans())
    def retire_or_unretire_a_shoe(self, shoe: str, retire: bool) -> None:
        if retire:
            assert retire_shoe_by_id(shoe, date(2025, 1, 1)).is_retired
        else:
            assert not unretire_shoe_by_id(shoe).is_retired

    @invariant()
    def database_matches_the_model(self) -> None:
        stored = {
            run.id: run for run in get_all_runs(include_deleted=True, include_duplicates=True)
        }
        assert set(stored) == set(self.model)
        for run_id, model in self.model.items():
            run = stored[run_id]
            assert run.version == len(model.snapshots)
            assert run.is_deleted == model.deleted
            assert _same(data_of(run), model.data)
            history = sorted(get_run_history(run_id), key=lambda v: v.version_number)
            assert [v.version_number for v in history] == list(range(1, len(history) + 1))
            assert [v.change_type for v in history] == model.change_types
            for version, snapshot in zip(history, model.snapshots, strict=True):
                assert _same(data_of(version), snapshot), "a written snapshot changed"
            assert (get_run_by_id(run_id) is None) == model.deleted
        listed = {run.id for run in get_all_runs()}
        assert listed == {
            run_id
            for run_id, model in self.model.items()
            if not model.deleted and model.data["duplicate_of"] is None
        }

    @invariant()
    def integrity_checks_pass(self) -> None:
        assert find_problems() == []


def _same(left: dict[str, object], right: dict[str, object]) -> bool:
    return all(left[name] == right[name] for name in RECORDED_FIELDS)


RunLedger.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_random_operations_keep_every_invariant(db: str) -> None:
    RunLedger.TestCase().runTest()
