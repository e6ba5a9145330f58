"""Receivers download media from the address the service actually serves."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from broadcast.core.settings import Settings, served_at
from tests.utils import free_port

TEST_SECRET = "x" * 40


def test_when_not_given_the_base_url_follows_the_served_port(settings: Settings) -> None:
    assert "public_base_url" not in settings.model_fields_set
    assert served_at(settings, host="127.0.0.1", port=8100).public_base_url == (
        "http://127.0.0.1:8100"
    )


def test_listening_on_every_interface_names_this_machines_address(settings: Settings) -> None:
    url = urlsplit(served_at(settings, host="0.0.0.0", port=8123).public_base_url)
    assert url.port == 8123 and url.hostname not in (None, "0.0.0.0")


def test_a_given_base_url_is_kept_and_a_loopback_one_is_warned_about(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    given = Settings(**{**settings.model_dump(), "public_base_url": "http://127.0.0.1:8000"})
    with caplog.at_level(logging.WARNING):
        kept = served_at(given, host="0.0.0.0", port=8100)
    assert kept.public_base_url == "http://127.0.0.1:8000"
    assert "cannot download media" in caplog.text
    caplog.clear()
    public = Settings(**{**given.model_dump(), "public_base_url": "https://loa.laocai.gov.vn"})
    with caplog.at_level(logging.WARNING):
        assert served_at(public, host="0.0.0.0", port=8100) is public
    assert caplog.text == ""


def test_loa_serve_on_another_port_tells_receivers_that_port(tmp_path: Path) -> None:
    """`loa serve --port P` (what `make run PORT=P` runs) prints the media base URL it uses."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOA_")} | {
        "LOA_ENV": "test",
        "LOA_SECRET_KEY": TEST_SECRET,
        "LOA_DATABASE_URL": f"sqlite:///{tmp_path / 'loa.db'}",
        "LOA_MEDIA_DIR": str(tmp_path / "media"),
        "LOA_MQTT_EMBEDDED_PORT": str(free_port()),
    }
    loa = Path(sys.executable).with_name("loa")
    process = subprocess.Popen(
        [str(loa), "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "Receivers download media from" in line:
                assert line.strip().endswith(f"http://127.0.0.1:{port}"), line
                break
        else:
            pytest.fail("loa serve ended without saying where media is downloaded from")
    finally:
        process.terminate()
        process.wait(20)
