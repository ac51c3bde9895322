"""``/overview``: the Overview's second path, for a link opened as a server's very first request.

A server's first session runs in Streamlit's pages-folder mode, which knows only this folder's files:
without this file ``/overview`` would show "Page not found" before app.py's navigation takes over.
:func:`analytics.app.ui.app_navigation` reruns the request through app.py, where the Overview is a
hidden page at this path beside the default one at ``/``. app.py never lists this file, so outside
folder mode it never runs.
"""

from analytics.app import ui

ui.app_navigation()
