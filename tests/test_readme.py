"""The README cannot drift: its command-line reference is the parsers' own help (cog), and its
statements about defaults are the ones analytics.config uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics import config
from analytics.cli import COMMANDS
from analytics.cli.docs import cli_reference

ROOT = Path(__file__).resolve().parent.parent


def test_cli_reference_in_the_readme_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    """`cog --check` as .ci/run runs it, in process (a new interpreter would only add seconds of imports)."""
    from cogapp import Cog

    code = Cog().main(["cog", "--check", "-I", str(ROOT), str(ROOT / "README.md")])
    out, err = capsys.readouterr()
    assert code == 0, "README.md's command-line reference is stale: run `cog -I . -r README.md`\n" + out + err


def test_cli_reference_covers_every_command_and_is_path_free() -> None:
    reference = cli_reference()
    for name in COMMANDS:
        assert f"### `python -m analytics {name}`" in reference
    assert str(ROOT) not in reference  # help texts word defaults relatively: the same on every machine
    assert config.DEFAULT_DB_WORDING.split(",")[0] in reference
