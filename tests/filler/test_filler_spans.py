"""The spans a station's receivers fill: its broadcast windows, less blackouts, by volume.

Windows are local times of day in Asia/Ho_Chi_Minh (UTC+7, no summer time); every span
is UTC, so 05:30 local is 22:30 UTC the day before.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from broadcast.core.settings import Settings
from broadcast.filler.commands import (
    FILLER_DAYS,
    filler_command,
    filler_spans,
    split_by_volume,
    subtract,
    window_spans,
)
from broadcast.schedule.blackouts import Blackout, BlackoutKind
from stations.errors import InvalidInputError
from stations.filler import FillerTrack, StationFiller, parse_windows, stored_filler
from stations.protocol import FillerCommand, decode_command, encode
from stations.volume import parse_schedule

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY = date(2026, 12, 7)
TRACK = FillerTrack("a" * 64, 48_000, 3_000, "Nhạc nền quê hương")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of local time on 7 December 2026 + `day` days, in UTC."""
    moment = datetime.combine(MONDAY + timedelta(days=day), time(hour, minute), tzinfo=ZONE)
    return moment.astimezone(UTC)


def filler(*windows: tuple[str, str], enabled: bool = True) -> StationFiller:
    parsed = parse_windows([{"start": s, "end": e} for s, e in windows])
    return StationFiller(enabled=enabled, windows=parsed, tracks=(TRACK,))


def test_two_daily_windows_give_two_spans_a_day_for_a_week() -> None:
    spans = filler_spans(
        filler(("05:30", "07:00"), ("17:00", "18:30")),
        blackouts=[],
        schedule=None,
        zone=ZONE,
        today=MONDAY,
    )
    assert len(spans) == 2 * FILLER_DAYS
    assert (spans[0].start, spans[0].end) == (local(0, 5, 30), local(0, 7))
    assert (spans[1].start, spans[1].end) == (local(0, 17), local(0, 18, 30))
    assert spans[-1].end == local(FILLER_DAYS - 1, 18, 30)
    assert all(s.volume is None for s in spans)


def test_a_window_across_midnight_is_cut_at_the_week_edges_and_joined_inside() -> None:
    spans = window_spans(filler(("21:00", "01:00")).times_of_day(), MONDAY, 2, ZONE)
    # The night before the week shows only from the week's first midnight.
    assert spans == [
        (local(0, 0), local(0, 1)),
        (local(0, 21), local(1, 1)),
        (local(1, 21), local(2, 0)),
    ]
    whole = window_spans(filler(("00:00", "24:00")).times_of_day(), MONDAY, 3, ZONE)
    assert whole == [(local(0, 0), local(3, 0))]


def test_a_nightly_blackout_takes_its_hours_out_of_the_window() -> None:
    night = Blackout(
        area_id=1,
        kind=BlackoutKind.daily,
        reason="Giờ nghỉ đêm",
        daily_start=time(22, 0),
        daily_end=time(5, 0),
        timezone="Asia/Ho_Chi_Minh",
    )
    funeral = Blackout(
        area_id=1,
        kind=BlackoutKind.dated,
        reason="Đám tang thôn 3",
        starts_at=local(1, 17, 30),
        ends_at=local(1, 18),
    )
    spans = filler_spans(
        filler(("04:30", "06:00"), ("17:00", "23:00")),
        blackouts=[night, funeral],
        schedule=None,
        zone=ZONE,
        today=MONDAY,
    )
    pairs = [(s.start, s.end) for s in spans]
    assert pairs[:5] == [
        (local(0, 5), local(0, 6)),
        (local(0, 17), local(0, 22)),
        (local(1, 5), local(1, 6)),
        (local(1, 17), local(1, 17, 30)),
        (local(1, 18), local(1, 22)),
    ]


def test_spans_are_split_where_the_volume_changes() -> None:
    quiet_mornings = parse_schedule(
        {"windows": [{"start": "00:00", "end": "06:00", "volume": 60}], "default_volume": 90}
    )
    spans = filler_spans(
        filler(("05:30", "07:00")),
        blackouts=[],
        schedule=quiet_mornings,
        zone=ZONE,
        today=MONDAY,
        days=1,
    )
    assert [(s.start, s.end, s.volume) for s in spans] == [
        (local(0, 5, 30), local(0, 6), 60),
        (local(0, 6), local(0, 7), 90),
    ]


def test_the_command_is_stable_within_a_day_and_changes_with_what_it_says() -> None:
    settings = Settings(public_base_url="http://loa.example")
    station = filler(("05:30", "07:00"))
    first = filler_command(settings, station, blackouts=[], schedule=None, today=MONDAY)
    again = filler_command(settings, station, blackouts=[], schedule=None, today=MONDAY)
    assert first is not None and again is not None and first.version == again.version
    assert first.items[0].url == f"http://loa.example/media/{TRACK.sha256}.mp3"
    assert first.items[0].title == TRACK.title
    tomorrow = filler_command(
        settings, station, blackouts=[], schedule=None, today=MONDAY + timedelta(days=1)
    )
    more = filler_command(
        settings,
        station.with_track(FillerTrack("b" * 64, 1, 1, "Giới thiệu đài")),
        blackouts=[],
        schedule=None,
        today=MONDAY,
    )
    assert tomorrow is not None and more is not None
    assert len({first.version, tomorrow.version, more.version}) == 3
    # What the receiver reads back is what was sent.
    decoded = decode_command(encode(first))
    assert isinstance(decoded, FillerCommand) and decoded == first
    off = filler_command(
        settings,
        filler(("05:30", "07:00"), enabled=False),
        blackouts=[],
        schedule=None,
        today=MONDAY,
    )
    assert off is None


@pytest.mark.parametrize(
    ("windows", "code"),
    [
        ([{"start": "05:30", "end": "07:00"}, {"start": "06:00", "end": "08:00"}], "overlap"),
        ([{"start": "5h30", "end": "07:00"}], "bad_time"),
        ([{"start": "07:00", "end": "07:00"}], "empty_window"),
        ([{"start": f"{h:02d}:00", "end": f"{h:02d}:30"} for h in range(13)], "too_many"),
    ],
)
def test_bad_windows_are_refused_with_their_code(windows: list[dict[str, str]], code: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_windows(windows)
    assert caught.value.code == f"filler.{code}"


def test_stored_filler_round_trips_and_nothing_stored_is_off() -> None:
    station = filler(("21:00", "01:00"), ("05:30", "07:00"))
    assert stored_filler(station.as_dict()) == station
    assert stored_filler(None) == StationFiller()
    assert not StationFiller().airs


# --- properties ----------------------------------------------------------------------

instants = st.integers(min_value=0, max_value=7 * 24 * 60).map(
    lambda m: local(0, 0) + timedelta(minutes=m)
)
span_lists = st.lists(st.tuples(instants, instants).map(lambda p: tuple(sorted(p))), max_size=8)


def _length(spans: list[tuple[datetime, datetime]]) -> timedelta:
    return sum((e - s for s, e in spans), timedelta())


@hyp_settings(max_examples=200, deadline=None)
@given(spans=span_lists, holes=span_lists)
def test_subtract_keeps_exactly_what_no_hole_covers(
    spans: list[tuple[datetime, datetime]], holes: list[tuple[datetime, datetime]]
) -> None:
    left = subtract(spans, holes)
    # Ordered, apart, inside the spans and outside every hole.
    assert all(a[1] < b[0] for a, b in zip(left, left[1:], strict=False))
    for start, end in left:
        assert start < end
        assert any(s <= start and end <= e for s, e in subtract(spans, []))
        assert not any(h_s < end and start < h_e for h_s, h_e in holes if h_s < h_e)
    # Nothing lost: what is left and what the holes took add up to the spans.
    taken = subtract(spans, left)
    assert _length(left) + _length(taken) == _length(subtract(spans, []))


@hyp_settings(max_examples=100, deadline=None)
@given(
    spans=span_lists,
    start=st.integers(min_value=0, max_value=1439),
    length=st.integers(min_value=1, max_value=1439),
    level=st.integers(min_value=0, max_value=100),
)
def test_each_piece_airs_at_the_volume_in_force_all_through_it(
    spans: list[tuple[datetime, datetime]], start: int, length: int, level: int
) -> None:
    end = (start + length) % 1440 or 1440
    schedule = parse_schedule(
        {
            "windows": [
                {"start": f"{start // 60:02d}:{start % 60:02d}", "end": _hhmm(end), "volume": level}
            ],
            "default_volume": 100 if level != 100 else 50,
        }
    )
    merged = subtract(spans, [])
    pieces = split_by_volume(merged, schedule, ZONE)
    assert _length([(s, e) for s, e, _v in pieces]) == _length(merged)
    for piece_start, piece_end, volume in pieces:
        minute = piece_start
        while minute < piece_end:
            assert schedule.volume_at(minute, ZONE) == volume
            minute += timedelta(minutes=1)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def test_a_station_holds_at_most_twenty_tracks_and_a_known_one_is_retitled() -> None:
    full = StationFiller()
    for n in range(20):
        full = full.with_track(FillerTrack(f"{n:064x}", 1, 1, f"Bài {n}"))
    with pytest.raises(InvalidInputError) as caught:
        full.check_room()
    assert caught.value.code == "filler.too_many_tracks"
    with pytest.raises(InvalidInputError):
        full.with_track(FillerTrack("f" * 64, 1, 1, "Bài thừa"))
    retitled = full.with_track(FillerTrack(f"{3:064x}", 1, 1, "Quê hương"))
    assert len(retitled.tracks) == 20 and retitled.tracks[-1].title == "Quê hương"
