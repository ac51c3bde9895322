"""metagraph-lens analytics: the store, the exact Yuma engine, and what is derived from them.

Layering (kept by tests/test_boundaries.py):
  pure maths (yuma, consensus, emission, simulate, mechanisms/)  ->  numpy only
  store.py  ->  the only module with SQL (duckdb, pyarrow, pandas)
  collector.py  ->  the only module importing bittensor
  ui.py  ->  the Streamlit glue shared by app.py and pages/
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
