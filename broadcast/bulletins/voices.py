"""Which voice reads a bulletin at a station, and the audio variant that voice makes.

A voice is an engine, a regional accent and a reading speed, chosen by an area (and
inherited down the tree: the nearest area that sets a field wins), by a station (over
its area) and by a bulletin (over every station). Fields nobody sets take the service's
LOA_TTS_ACCENT / LOA_TTS_SPEED and the engine policy. A station also chooses the codec
its receivers get: MP3 (the default) or Opus at 16-24 kb/s.

The audio a version is rendered with by default is the one of the default voice in MP3
(`Translation.audio_*`); any other voice or codec is a variant, rendered through the
same content-addressed cache, so each distinct variant is made once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from sqlmodel import Session, col, select

from broadcast.bulletins import media
from broadcast.bulletins.models import Bulletin
from broadcast.core.settings import Settings
from playlists import MediaAsset
from stations.areas import ancestors
from stations.errors import InvalidInputError
from stations.models import ACCENTS, CODECS, OPUS_BITRATE_RANGE, SPEED_RANGE, Area, Station
from tts import Synthesizer

# The engines a voice may name (those the tts package builds; Viettel and FPT need tokens).
ENGINE_NAMES = ("gtts", "espeak", "viettel", "fpt")
# Only the Vietnamese reading takes a station's voice; other languages keep their own.
VOICE_LANGUAGE = "vi"


@dataclass(frozen=True, slots=True)
class Voice:
    """How a station's programme reads a bulletin and in which codec it is delivered."""

    engine: str | None  # None: the language's engine policy
    accent: str
    speed: float
    codec: str = "mp3"
    opus_bitrate_kbps: int | None = None

    @property
    def bitrate(self) -> str | None:
        """The encoder bitrate of a variant ("24k"), None for the configured MP3 one."""
        return f"{self.opus_bitrate_kbps}k" if self.codec == "opus" else None

    def describe(self) -> dict[str, object]:
        """A JSON-ready form, as REST shows it."""
        return {
            "tts_engine": self.engine,
            "tts_accent": self.accent,
            "tts_speed": self.speed,
            "audio_codec": self.codec,
            "opus_bitrate_kbps": self.opus_bitrate_kbps if self.codec == "opus" else None,
        }


def default_voice(settings: Settings) -> Voice:
    """The voice of areas and stations that choose nothing."""
    return Voice(engine=None, accent=settings.tts_accent, speed=settings.tts_speed)


def _chosen(rows: Iterable[Area | Station | Bulletin], base: Voice) -> Voice:
    """`base` with each field replaced by the last row (nearest) that sets it."""
    voice = base
    for row in rows:
        voice = replace(
            voice,
            engine=row.tts_engine if row.tts_engine is not None else voice.engine,
            accent=row.tts_accent if row.tts_accent is not None else voice.accent,
            speed=row.tts_speed if row.tts_speed is not None else voice.speed,
        )
    return voice


def area_voice(*, session: Session, area: Area, settings: Settings) -> Voice:
    """The area's voice: its own fields, else the nearest area above that sets them."""
    return _chosen(ancestors(session=session, area=area), default_voice(settings))


def station_voice(*, session: Session, station: Station, settings: Settings) -> Voice:
    """The station's voice and codec: its own fields over its area's."""
    area = session.get(Area, station.area_id)
    base = (
        area_voice(session=session, area=area, settings=settings)
        if area is not None
        else default_voice(settings)
    )
    return _over_area(base, station, settings)


def _over_area(base: Voice, station: Station, settings: Settings) -> Voice:
    """The station's own choices over its area's voice `base`."""
    voice = _chosen([station], base)
    if station.audio_codec == "opus":
        voice = replace(
            voice,
            codec="opus",
            opus_bitrate_kbps=station.opus_bitrate_kbps or settings.tts_opus_bitrate_kbps,
        )
    return voice


def bulletin_voice(voice: Voice, bulletin: Bulletin) -> Voice:
    """A station's voice with the bulletin's own choices over it (the codec stays)."""
    return _chosen([bulletin], voice)


def as_mp3(voice: Voice) -> Voice:
    """The same voice delivered as MP3 (for receivers that do not play Opus)."""
    return replace(voice, codec="mp3", opus_bitrate_kbps=None)


def for_language(voice: Voice, language: str, settings: Settings) -> Voice:
    """The voice a version in `language` is read with: the station's for Vietnamese only."""
    if language == VOICE_LANGUAGE:
        return voice
    return replace(
        default_voice(settings), codec=voice.codec, opus_bitrate_kbps=voice.opus_bitrate_kbps
    )


def as_recorded(voice: Voice, settings: Settings) -> Voice:
    """What applies to a person's recording: the codec only."""
    return replace(
        default_voice(settings), codec=voice.codec, opus_bitrate_kbps=voice.opus_bitrate_kbps
    )


def is_default(voice: Voice, settings: Settings) -> bool:
    """True when the version's default rendering is this voice's audio as it is."""
    return voice.codec == "mp3" and voice == default_voice(settings)


def render_variant(
    *,
    synth: Synthesizer,
    settings: Settings,
    voice: Voice,
    text: str,
    language: str,
    lexicon: Mapping[str, str],
) -> MediaAsset:
    """The version spoken in this voice and codec, published; raises tts.TTSError."""
    result = synth.synthesize(
        text,
        language,
        lexicon=lexicon,
        engine=voice.engine,
        accent=voice.accent,
        speed=voice.speed,
        codec="opus" if voice.codec == "opus" else None,
        bitrate=voice.bitrate,
    )
    media.publish(settings, result.path, result.sha256, voice.codec)
    return media.asset(settings, result.sha256, result.bytes, result.duration_ms, voice.codec)


def render_recording_variant(
    *, synth: Synthesizer, settings: Settings, voice: Voice, sha256: str, language: str
) -> MediaAsset:
    """A recording's published (levelled) audio in the voice's codec; raises tts.TTSError.

    Speech settings do not apply to a person's voice: only the codec does.
    """
    result = synth.from_recording(
        media.media_path(settings, sha256),
        language,
        codec="opus" if voice.codec == "opus" else None,
        bitrate=voice.bitrate,
    )
    media.publish(settings, result.path, result.sha256, voice.codec)
    return media.asset(settings, result.sha256, result.bytes, result.duration_ms, voice.codec)


def voices_under(*, session: Session, area: Area, settings: Settings) -> list[Voice]:
    """The distinct voices of the active stations at or below `area` (each in MP3 too)."""
    rows = session.exec(
        select(Station, Area)
        .join(Area, col(Station.area_id) == col(Area.id))
        .where(col(Area.path).startswith(area.path, autoescape=True))
        .where(col(Station.active).is_(True))
    ).all()
    # Every area on the stations' paths, in one query (a province has ~100 communes).
    paths = {a.id: [int(p) for p in a.path.strip("/").split("/") if p] for _s, a in rows}
    wanted = {i for chain in paths.values() for i in chain}
    areas = {a.id: a for a in session.exec(select(Area).where(col(Area.id).in_(wanted))).all()}
    found: dict[Voice, None] = {}
    for station, station_area in rows:
        chain = [areas[i] for i in paths[station_area.id] if i in areas]
        voice = _over_area(_chosen(chain, default_voice(settings)), station, settings)
        found.setdefault(voice, None)
        if voice.codec != "mp3":
            found.setdefault(as_mp3(voice), None)  # its receivers that only play MP3
    return list(found)


# Fields of a voice choice, on Area, Station and Bulletin; the codec ones on Station only.
VOICE_FIELDS = ("tts_engine", "tts_accent", "tts_speed")
CODEC_FIELDS = ("audio_codec", "opus_bitrate_kbps")


def _check(name: str, value: object) -> object:
    """A voice field's value, or InvalidInputError with a stable code."""
    if value is None:
        return None
    if name == "tts_engine" and value not in ENGINE_NAMES:
        raise InvalidInputError(
            f"Unknown engine {value!r}; the engines are {', '.join(ENGINE_NAMES)}",
            code="voice.unknown_engine",
            engine=str(value),
            engines=", ".join(ENGINE_NAMES),
        )
    if name == "tts_accent" and value not in ACCENTS:
        raise InvalidInputError(
            f"Unknown accent {value!r}; the accents are north, central and south",
            code="voice.unknown_accent",
            accent=str(value),
        )
    if name == "tts_speed":
        low, high = SPEED_RANGE
        if not isinstance(value, int | float) or not low <= float(value) <= high:
            raise InvalidInputError(
                f"Reading speed {value} is out of range: use {low} to {high}",
                code="voice.speed_out_of_range",
                speed=str(value),
                low=low,
                high=high,
            )
        return round(float(value), 2)
    if name == "audio_codec" and value not in CODECS:
        raise InvalidInputError(
            f"Unknown codec {value!r}; use mp3 or opus",
            code="voice.unknown_codec",
            codec=str(value),
        )
    if name == "opus_bitrate_kbps":
        low_kbps, high_kbps = OPUS_BITRATE_RANGE
        if not isinstance(value, int) or not low_kbps <= value <= high_kbps:
            raise InvalidInputError(
                f"Opus bitrate {value} kb/s is out of range: use {low_kbps} to {high_kbps}",
                code="voice.opus_bitrate_out_of_range",
                bitrate=str(value),
                low=low_kbps,
                high=high_kbps,
            )
    return value


def set_voice(row: Area | Station | Bulletin, changes: Mapping[str, object]) -> dict[str, object]:
    """Write the voice (and, on a station, codec) fields given; None means inherit again.

    Returns the fields written, for the audit log. The caller's transaction stores them.
    """
    allowed = VOICE_FIELDS + (CODEC_FIELDS if isinstance(row, Station) else ())
    written: dict[str, object] = {}
    for name, value in changes.items():
        if name not in allowed:
            continue
        written[name] = _check(name, value)
    for name, value in written.items():
        setattr(row, name, value)
    return written
