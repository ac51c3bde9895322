"""``analytics.yuma`` is :mod:`analytics.model.yuma` (kept importable by this name: scripts use it)."""

import sys

from analytics.model import yuma as _yuma

sys.modules[__name__] = _yuma
