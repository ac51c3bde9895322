"""metagraph-lens analytics: the store, the exact Yuma engine, and what is derived from them.

Layering (import-linter contracts in pyproject.toml, run by `lint-imports`; pages by tests/test_boundaries.py):
  cli/ | app/   commands and Streamlit glue (never each other)
  views/        tables and figures the pages and the CLI share
  data/         store.py (the only SQL, the only duckdb), collector.py (the only bittensor), demo, snapshot
  config.py     paths, environment variables, defaults
  model/        pure numpy: yuma, consensus, emission, simulate, mechanisms/
  errors.py     LensError and its subclasses (imports nothing of ours)
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
