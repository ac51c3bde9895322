"""The README's command-line reference, generated from the argparse parsers (so the two cannot drift).

README.md holds a cog block that calls :func:`cli_reference`; ``cog -r README.md`` rewrites it and
``cog --check README.md`` (run by tests/test_readme.py and .ci/run) fails when it is stale.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager

from analytics.cli import build_parser

WIDTH = 100  # columns of the generated help: fixed, whatever the terminal that runs cog


@contextmanager
def _columns(width: int) -> Iterator[None]:
    """argparse wraps help to $COLUMNS: pin it while formatting."""
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _sections(parser: argparse.ArgumentParser, prefix: str) -> Iterator[str]:
    """Each sub-command's ``--help`` in a code block under its heading, then its own sub-commands'
    (``lake`` -> ``lake export``)."""
    for name, sub in _subparsers(parser).items():
        command = f"{prefix} {name}"
        yield from (f"### `{command}`", "", "```text", sub.format_help().rstrip(), "```", "")
        yield from _sections(sub, command)


def cli_reference(width: int = WIDTH) -> str:
    """Markdown: the top-level ``--help``, then each command's ``--help`` in a code block."""
    with _columns(width):
        parser = build_parser()
        parts = ["```text", parser.format_help().rstrip(), "```", "", *_sections(parser, parser.prog)]
    return "\n".join(parts)


if __name__ == "__main__":
    print(cli_reference())
