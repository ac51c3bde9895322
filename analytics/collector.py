"""``analytics.collector`` is :mod:`analytics.data.collector` (kept importable by this name: scripts use it)."""

import sys

from analytics.data import collector as _collector

sys.modules[__name__] = _collector
