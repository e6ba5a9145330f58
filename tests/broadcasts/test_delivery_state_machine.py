"""The delivery state machine against a plain reading of docs/protocol.md.

`reference` restates the documented rules ("Delivery state machine (server side)" and
"What the server believes") as simply as they read, without the module's ranks; the
property tests check `apply_report` against it for any order, duplicates and timings of
reports. The lateness rule is checked in Python and in SQL on the real database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, insert, select
from sqlmodel import SQLModel

from broadcast.core.db import transaction
from broadcast.delivery.state import (
    Rules,
    Standing,
    Timing,
    apply_report,
    is_late,
    late_clause,
    supersedes,
)

AIR = datetime(2031, 3, 1, 6, 0, tzinfo=UTC)
RULES = Rules(
    skew=timedelta(seconds=120), grace=timedelta(seconds=60), late_after=timedelta(seconds=300)
)
TIMING = Timing(
    air_at=AIR,
    expires_at=AIR + timedelta(minutes=15),
    dispatched_at=AIR - timedelta(minutes=30),
    duration_ms=60_000,
)
NOW = AIR + timedelta(minutes=3)  # when the server receives the reports

REPORTED = ("received", "downloaded", "started", "completed", "failed", "rejected")
PROGRESS = ["queued", "sent", "received", "downloaded", "started"]
ENDS = {"completed", "failed", "rejected"}
VERDICTS = {"cancelled", "expired", "missed"}
COLUMN = {
    "received": "received_at",
    "downloaded": "downloaded_at",
    "started": "started_at",
    "completed": "completed_at",
}


@dataclass
class Model:
    """What the documented rules say a delivery ends as."""

    state: str
    times: dict[str, datetime | None] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)


def reference(
    start: str,
    reports: list[tuple[str, datetime]],
    timing: Timing = TIMING,
    rules: Rules = RULES,
    now: datetime = NOW,
) -> Model:
    """The documented rules, report by report, for a delivery starting in `start`."""
    m = Model(start, dict.fromkeys((*COLUMN.values(), "sent_at", "finished_at")))
    length = timedelta(milliseconds=timing.duration_ms)
    assert timing.dispatched_at is not None
    window = (timing.dispatched_at - rules.skew, timing.expires_at + length + rules.grace)
    for state, at in reports:
        # Times the receiver's clock cannot have given become the receive time.
        if not window[0] <= at <= window[1]:
            at = now
            m.flags.add("clock_clamped")
        if m.state == "queued":  # a report proves the command was sent
            m.state = "sent"
            m.times["sent_at"] = max(timing.dispatched_at, min(at, now))
        # Nothing airs before air time, less the skew allowance.
        earliest = timing.air_at - rules.skew
        if state == "started":
            completed = m.times["completed_at"]
            if at < earliest or (completed is not None and at > completed):
                m.flags.add("implausible")
                continue
        if state == "completed":
            start_at = m.times["started_at"] or at - length
            if start_at < earliest or at < start_at:
                m.flags.add("implausible")
                continue
        # An end is final: another end is only an event.
        if state in ENDS and m.state in ENDS and state != m.state:
            m.flags.add("contradicted")
            continue
        if state in COLUMN:
            kept = m.times[COLUMN[state]]
            m.times[COLUMN[state]] = at if kept is None else min(kept, at)
        target = "expired" if state == "rejected" and at >= timing.expires_at else state
        if m.state in PROGRESS:
            if target in PROGRESS:
                moves = PROGRESS.index(target) > PROGRESS.index(m.state)
            elif target == "expired":
                moves = m.state != "started"
            else:
                moves = True  # any end
        elif m.state in VERDICTS:
            moves = target in ENDS  # a verdict gives way to the receiver's own end
        else:
            moves = False
        if moves:
            m.state = target
            if target in ("failed", "rejected", "expired"):
                m.times["finished_at"] = at
        elif target == m.state and target in ("failed", "rejected", "expired"):
            kept = m.times["finished_at"]
            m.times["finished_at"] = at if kept is None else min(kept, at)
    return m


def fold(start: str, reports: list[tuple[str, datetime]]) -> Standing:
    """The module's answer: apply_report over the reports."""
    standing = Standing(start)
    for state, at in reports:
        standing = apply_report(
            standing, state, at, None, timing=TIMING, rules=RULES, now=NOW
        ).standing
    return standing


def as_model(standing: Standing) -> Model:
    names = (*COLUMN.values(), "sent_at", "finished_at")
    return Model(standing.state, {n: standing.time(n) for n in names}, set(standing.flags))


# Offsets around air time in seconds: the interesting edges, and far outside the window.
EDGES = [-1920, -1800, -121, -120, -60, -1, 0, 1, 60, 299, 300, 301, 899, 900, 901, 1020, 1021]
offsets = st.one_of(
    st.sampled_from(EDGES),
    st.integers(min_value=-2400, max_value=1500),
    st.sampled_from([-(10**8), 10**8]),
)
# Reports as (state, seconds from air time).
offset_reports = st.lists(st.tuples(st.sampled_from(REPORTED), offsets), max_size=8)
reports_strategy = offset_reports.map(
    lambda reports: [(state, AIR + timedelta(seconds=s)) for state, s in reports]
)
starts = st.sampled_from(["queued", "sent", "received", "expired", "missed", "cancelled"])


@given(starts, reports_strategy)
def test_any_reports_end_as_the_documented_rules_say(
    start: str, reports: list[tuple[str, datetime]]
) -> None:
    assert as_model(fold(start, reports)) == reference(start, reports)


@given(starts, reports_strategy)
def test_a_duplicate_changes_nothing(start: str, reports: list[tuple[str, datetime]]) -> None:
    doubled = [r for report in reports for r in (report, report)]
    assert fold(start, doubled) == fold(start, reports)


@given(
    # From `queued` the implied `sent` takes the first report's time: order shows there.
    st.sampled_from(["sent", "received", "expired", "missed", "cancelled"]),
    st.lists(
        st.tuples(
            st.sampled_from(("received", "downloaded", "started", "completed")),
            st.integers(min_value=-60, max_value=600).map(lambda s: AIR + timedelta(seconds=s)),
        ),
        max_size=6,
    ),
)
def test_an_honest_airing_ends_the_same_in_any_order(
    start: str, steps: list[tuple[str, datetime]]
) -> None:
    # Reports of one honest airing (times in order of the steps, a full play) may arrive
    # in any order: the end is the same.
    order = {"received": 0, "downloaded": 1, "started": 2, "completed": 3}
    honest = sorted(dict(steps).items(), key=lambda p: order[p[0]])
    base = AIR
    timed = []
    for state, at in honest:
        base = max(base, at)
        if state == "completed":
            base += timedelta(milliseconds=TIMING.duration_ms)
        timed.append((state, base))
    assert fold(start, timed) == fold(start, list(reversed(timed)))


def test_the_precedence_table() -> None:
    # Progress moves forward; a verdict gives way to an end only; an end is final.
    assert supersedes("received", "sent") and not supersedes("sent", "received")
    assert supersedes("completed", "started") and supersedes("failed", "downloaded")
    assert supersedes("completed", "missed") and supersedes("rejected", "cancelled")
    assert not supersedes("started", "missed") and not supersedes("downloaded", "expired")
    assert not supersedes("completed", "failed") and not supersedes("failed", "completed")
    assert not supersedes("completed", "no_content") and not supersedes("completed", "blocked")
    assert supersedes("confirmed", "missed") and not supersedes("missed", "confirmed")


def test_lateness_in_python_and_sql_agree(engine: Engine, demo: dict[str, str]) -> None:
    d = SQLModel.metadata.tables["delivery"]
    o = SQLModel.metadata.tables["occurrence"]
    b = SQLModel.metadata.tables["broadcast"]
    s = SQLModel.metadata.tables["station"]
    late_after = RULES.late_after
    second = timedelta(seconds=1)
    # (state, started_at, completed_at, duration_ms)
    cases: list[tuple[str, datetime | None, datetime | None, int]] = [
        ("completed", AIR + late_after, AIR + late_after + 2 * second, 1000),  # at the limit
        ("completed", AIR + late_after + second, None, 1000),
        ("completed", None, AIR + late_after + 61 * second, 60_000),  # inferred: late
        ("completed", None, AIR + late_after + 60 * second, 60_000),  # inferred: on time
        ("confirmed", AIR + 6 * 60 * second, AIR + 6 * 60 * second, 60_000),
        ("confirmed", AIR - 60 * second, AIR - 60 * second, 60_000),
        ("missed", AIR + 20 * 60 * second, None, 1000),  # not aired: never late
        ("completed", None, None, 1000),
    ]
    with transaction(engine) as ses:
        connection = ses.connection()
        station = connection.execute(select(s.c.id, s.c.area_id).limit(1)).one()
        broadcast_id = connection.execute(
            insert(b).values(
                title="t",
                bulletin_ids=[],
                area_codes=[],
                starts_at=AIR,
                timezone="Asia/Ho_Chi_Minh",
                priority="normal",
                status="scheduled",
                area_id=station.area_id,
                created_at=AIR,
            )
        ).inserted_primary_key[0]
        occurrence_id = connection.execute(
            insert(o).values(
                broadcast_id=broadcast_id,
                seq=1,
                air_at=AIR,
                dispatch_at=AIR,
                expires_at=TIMING.expires_at,
                state="dispatched",
                settled=False,
            )
        ).inserted_primary_key[0]
        for index, (state, started_at, completed_at, duration_ms) in enumerate(cases):
            connection.execute(
                insert(d).values(
                    occurrence_id=occurrence_id,
                    broadcast_id=broadcast_id,
                    station_id=station.id,
                    target=f"case-{index}",
                    state=state,
                    duration_ms=duration_ms,
                    started_at=started_at,
                    completed_at=completed_at,
                    updated_at=AIR,
                )
            )
    clause = late_clause(
        d, o, late_after_seconds=int(late_after.total_seconds()), dialect=engine.dialect.name
    )
    with engine.connect() as connection:
        found: dict[str, Any] = dict(
            connection.execute(
                select(d.c.target, func.coalesce(clause, False))
                .select_from(d.join(o, d.c.occurrence_id == o.c.id))
                .where(d.c.occurrence_id == occurrence_id)
            ).all()
        )
    expected = {
        f"case-{i}": is_late(state, AIR, started_at, completed_at, duration_ms, late_after)
        for i, (state, started_at, completed_at, duration_ms) in enumerate(cases)
    }
    assert {k: bool(v) for k, v in found.items()} == expected
    assert list(expected.values()) == [False, True, True, False, True, False, False, False]
