"""`loa tts` commands through Typer's test runner (offline)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.tts.conftest import SEED
from tts.cli import app

runner = CliRunner()


def test_help_lists_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("normalize", "say", "file", "engines"):
        assert command in result.output


def test_normalize_prints_spoken_text() -> None:
    result = runner.invoke(app, ["normalize", "UBND xã có 1.650 cụm loa"])
    assert result.exit_code == 0
    assert result.output.strip() == "Ủy ban nhân dân xã có một nghìn sáu trăm năm mươi cụm loa."


def test_normalize_stdin_and_lexicon(tmp_path: Path) -> None:
    lexicon = tmp_path / "xa.tsv"
    lexicon.write_text("Phansipăng\tPhan Xi Păng\n", encoding="utf-8")
    result = runner.invoke(app, ["normalize", "--lexicon", str(lexicon)], input="Đỉnh Phansipăng")
    assert result.output.strip() == "Đỉnh Phan Xi Păng."


def test_say_offline(tmp_path: Path) -> None:
    out = tmp_path / "out.mp3"
    result = runner.invoke(
        app,
        ["say", "--offline", "--cache-dir", str(tmp_path / "c"), "-o", str(out), "Xin chào."],
    )
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 1000 and "engine=espeak" in result.output


def test_file_offline_seed_excerpt(tmp_path: Path) -> None:
    bulletin = tmp_path / "bulletin.txt"
    bulletin.write_text(SEED.read_text(encoding="utf-8")[:1200], encoding="utf-8")
    out = tmp_path / "b.mp3"
    result = runner.invoke(
        app,
        ["file", str(bulletin), "--offline", "--cache-dir", str(tmp_path / "c"), "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert out.exists()


def test_errors_are_one_line_and_exit_1(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["say", "--lang", "hmn", "--cache-dir", str(tmp_path), "-o", str(tmp_path / "x.mp3"), "x"],
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "tiếng H'Mông (hmn)" in result.output
    assert "Probable cause" in result.output


def test_engines_offline() -> None:
    result = runner.invoke(app, ["engines", "--offline"])
    assert result.exit_code == 0
    assert "espeak" in result.output and "policy vi: gtts -> espeak" in result.output
