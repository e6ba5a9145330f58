"""What every `loa` command shares: the output consoles, errors, settings and logging.

Imported by api/cli.py and api/cli_broadcast.py, which do not import each other's helpers.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console

from broadcast.core.settings import Settings, get_settings

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
log = logging.getLogger("loa")

LogLevel = Annotated[str, typer.Option("--log-level", help="debug, info, warning or error")]


def fail(message: str) -> NoReturn:
    """Print one clear error line and exit 1."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(1)


def load_settings() -> Settings:
    """Settings from the environment, or a clear error line."""
    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"LOA_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        fail(f"invalid settings: {problems}")
    except ValueError as exc:
        fail(f"invalid settings: {exc}")


def setup_logging(level: str) -> None:
    """Log to stderr in one plain format."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # The embedded broker and its state machine log every connection at INFO.
    for noisy in ("amqtt", "transitions"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
