"""What the bench scripts share: the load line printed around a run and the target verdict.

Figures taken while other processes run read slower, so every bench prints the machine's load
average before and after its run (`run`), in one format.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import NoReturn


def load() -> str:
    """The load average over 1, 5 and 15 minutes and the core count."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} cores"


def verdict(met: bool, target: str) -> str:
    """The tag after a figure that has a target, e.g. ``  [target <= 0.2: met]``."""
    return f"  [target {target}: {'met' if met else 'MISSED'}]"


def run(main: Callable[[], int | None]) -> NoReturn:
    """Run a bench's ``main`` between a `before:` and an `after:` load line; exit with its code."""
    print(f"before: {load()}", flush=True)
    code = main()
    print(f"after: {load()}")
    raise SystemExit(code or 0)
