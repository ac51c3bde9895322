"""View builders: the tables and figures that the Streamlit pages and the CLI share (no Streamlit here)."""
