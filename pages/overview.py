"""``/overview``: the Overview under its own path, for a link opened as a server's very first session.

Streamlit runs a server's first session in its pages-directory mode, which only knows this folder's files:
without this file ``/overview`` shows "Page not found" before app.py's navigation (where the Overview is
a hidden page at this path, beside the default one at ``/``) takes over. Here app.py runs as usual, its
``st.navigation`` switches Streamlit to the app's own page list and resolves this path to the Overview.
app.py never lists this file, so it is never run twice."""

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).resolve().parents[1] / "app.py"), run_name="__main__")
