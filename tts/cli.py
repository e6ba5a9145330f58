"""`loa tts ...`: normalise, speak and inspect engines from the command line."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from tts.config import TTSConfig
from tts.errors import TTSError
from tts.normalizer import normalize
from tts.synthesizer import Synthesizer, engines_report

app = typer.Typer(
    help="Vietnamese bulletin text to broadcast-ready speech (normalise, speak, engines).",
    no_args_is_help=True,
)

log = logging.getLogger(__name__)


def _default_cache_dir() -> Path:
    # The environment is read here, in the CLI only; the library takes a TTSConfig.
    media = os.environ.get("LOA_MEDIA_DIR")
    return Path(media) / "cache" if media else Path("var/media/cache")


def _fail(exc: Exception) -> NoReturn:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=1)


def _read_lexicon(path: Path | None) -> dict[str, str] | None:
    """Area entries from a TSV (KEY<TAB>reading) or JSON object file."""
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        _fail(exc)
    if path.suffix == ".json":
        data = json.loads(text)
        return {str(k): str(v) for k, v in data.items()}
    entries: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#") and "\t" in line:
            key, value = line.split("\t", 1)
            entries[key.strip()] = value.strip()
    return entries


CacheDir = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        help="Audio cache directory [default: $LOA_MEDIA_DIR/cache or ./var/media/cache].",
    ),
]
Lexicon = Annotated[
    Path | None,
    typer.Option("--lexicon", help="Area entries (TSV: WORD<TAB>reading, or JSON object)."),
]
Lang = Annotated[str, typer.Option("--lang", "-l", help="Language code: vi, zh, th, en, ...")]
Engine = Annotated[
    str | None, typer.Option("--engine", "-e", help="Force one engine (gtts, espeak, ...).")
]
Voice = Annotated[
    str | None,
    typer.Option("--voice", help="Voice; for espeak Vietnamese: north, central or south."),
]
Speed = Annotated[float | None, typer.Option("--speed", help="Reading speed, 1.0 = normal.")]
Output = Annotated[Path, typer.Option("--output", "-o", help="Where to copy the audio file.")]
Codec = Annotated[str, typer.Option("--codec", help="mp3 (default) or opus.")]
Offline = Annotated[
    bool, typer.Option("--offline", help="Never use online engines (eSpeak NG only).")
]


def _config(cache_dir: Path | None, codec: str, offline: bool) -> TTSConfig:
    base = TTSConfig(cache_dir=cache_dir or _default_cache_dir())
    policy = base.engine_policy
    if offline:
        policy = {lang: [e for e in names if e == "espeak"] for lang, names in policy.items()}
    if codec not in ("mp3", "opus"):
        _fail(ValueError(f"codec must be mp3 or opus, not {codec!r}"))
    return TTSConfig(
        cache_dir=base.cache_dir,
        engine_policy=policy,
        codec="opus" if codec == "opus" else "mp3",
    )


def _speak(
    text: str,
    *,
    lang: str,
    output: Path,
    cache_dir: Path | None,
    lexicon: Path | None,
    engine: str | None,
    voice: str | None,
    speed: float | None,
    codec: str,
    offline: bool,
    progress: bool,
) -> None:
    config = _config(cache_dir, codec, offline)
    synthesizer = Synthesizer(config)
    entries = _read_lexicon(lexicon)
    try:
        if progress:
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                task = bar.add_task("Đang đọc bản tin", total=None)

                def update(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                result = synthesizer.synthesize(
                    text,
                    lang,
                    lexicon=entries,
                    engine=engine,
                    voice=voice,
                    speed=speed,
                    on_progress=update,
                )
        else:
            result = synthesizer.synthesize(
                text, lang, lexicon=entries, engine=engine, voice=voice, speed=speed
            )
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(result.path, output)
    except (TTSError, OSError, ValueError) as exc:
        _fail(exc)
    state = "cache" if result.cache_hit else result.engine
    typer.echo(
        f"{output}  {result.duration_ms / 1000:.1f} s  engine={result.engine} ({state})  "
        f"{result.loudness_lufs} LUFS  sha256={result.sha256[:12]}"
    )


@app.command("normalize")
def normalize_command(
    text: Annotated[
        str | None, typer.Argument(help="Text to normalise; '-' or nothing reads stdin.")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Read the text from a file.")
    ] = None,
    lexicon: Lexicon = None,
) -> None:
    """Print the text exactly as it will be read aloud."""
    try:
        if file is not None:
            source = file.read_text(encoding="utf-8")
        elif text is None or text == "-":
            source = sys.stdin.read()
        else:
            source = text
        typer.echo(normalize(source, lexicon=_read_lexicon(lexicon)))
    except (TTSError, OSError, ValueError) as exc:
        _fail(exc)


@app.command("say")
def say_command(
    text: Annotated[str, typer.Argument(help="Text to speak.")],
    output: Output = Path("out.mp3"),
    lang: Lang = "vi",
    engine: Engine = None,
    voice: Voice = None,
    speed: Speed = None,
    lexicon: Lexicon = None,
    cache_dir: CacheDir = None,
    codec: Codec = "mp3",
    offline: Offline = False,
) -> None:
    """Speak a short text into a broadcast-ready file: loa tts say --lang vi "..." -o out.mp3."""
    _speak(
        text,
        lang=lang,
        output=output,
        cache_dir=cache_dir,
        lexicon=lexicon,
        engine=engine,
        voice=voice,
        speed=speed,
        codec=codec,
        offline=offline,
        progress=False,
    )


@app.command("file")
def file_command(
    path: Annotated[Path, typer.Argument(help="Bulletin text file (UTF-8).")],
    output: Output = Path("out.mp3"),
    lang: Lang = "vi",
    engine: Engine = None,
    voice: Voice = None,
    speed: Speed = None,
    lexicon: Lexicon = None,
    cache_dir: CacheDir = None,
    codec: Codec = "mp3",
    offline: Offline = False,
) -> None:
    """Speak a whole bulletin file, with a progress bar: loa tts file bulletin.txt -o out.mp3."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(exc)
    _speak(
        text,
        lang=lang,
        output=output,
        cache_dir=cache_dir,
        lexicon=lexicon,
        engine=engine,
        voice=voice,
        speed=speed,
        codec=codec,
        offline=offline,
        progress=sys.stderr.isatty(),
    )


@app.command("engines")
def engines_command(
    offline: Annotated[
        bool, typer.Option("--offline", help="Do not test whether online engines are reachable.")
    ] = False,
    cache_dir: CacheDir = None,
) -> None:
    """Show which engine speaks which language here, and whether it is reachable."""
    config = TTSConfig(cache_dir=cache_dir or _default_cache_dir())
    try:
        rows = engines_report(config, network=not offline)
    except TTSError as exc:
        _fail(exc)
    for row in rows:
        state = "ok" if row.available else "UNAVAILABLE"
        kind = "online" if row.online else "offline"
        languages = ",".join(row.languages) or "-"
        typer.echo(f"{row.engine:<10} {state:<12} {kind:<8} {languages:<24} {row.detail}")
    typer.echo("")
    for language, names in config.engine_policy.items():
        typer.echo(f"policy {language}: {' -> '.join(names)}")
