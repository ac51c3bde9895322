"""Streamlit glue shared by app.py and pages/: pickers, cached loaders, CSV downloads, page setup."""
