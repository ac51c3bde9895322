"""Streamlit glue for pages without a database that take their input as forms and editable tables (the
Mechanism lab): a registry field as a URL-bound widget, an editable table that starts from an example and
can be loaded from a CSV, result tables with a CSV behind them, and error messages that quote user text
literally."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from analytics.app import ui
from analytics.model.mechanisms import MechanismInputError
from analytics.model.mechanisms.registry import Field, Table
from analytics.views.mechanisms import example_frame, read_table_csv

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")
_WORD_JOINER = "\u2060"


def plain(text: str) -> str:
    """Backslash-escape Markdown so a message quoting user input is shown as typed, never as markup.

    The renderer turns a bare URL into a link even when its characters are escaped, so ``://`` and
    ``www.`` get an invisible word joiner: a crafted link's text cannot become a clickable link."""
    text = text.replace("://", f":{_WORD_JOINER}//").replace("www.", f"www{_WORD_JOINER}.")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def show_error(error: Exception) -> None:
    st.error(plain(str(error)), icon="⚠️")


def link_binding_for_whole_number(key: str) -> str | None:
    """``"query-params"``, unless the link's value reads as an infinite number (``1e400``, ``inf``):
    Streamlit 1.67 turns a URL value into an int before its range check and raises on those. Such a
    value is dropped and the input starts unbound at its default, like any other unreadable setting."""
    raw = st.query_params.get(key)
    try:
        infinite = raw is not None and not np.isfinite(float(raw))
    except ValueError:
        infinite = False
    if infinite:
        del st.query_params[key]
        return None
    return "query-params"


def field(spec: Field, where: Any = st, **overrides: Any) -> Any:
    """The widget of a registry field, bound to the URL under its key (``overrides`` e.g. ``value=``)."""
    if spec.kind == "choice":
        choices = dict(spec.choices or {})
        return where.radio(
            spec.label, list(choices), format_func=choices.__getitem__, key=spec.key, bind="query-params"
        )
    if spec.kind == "text":
        return where.text_input(
            spec.label, overrides.get("value", spec.default), key=spec.key, bind="query-params"
        )
    whole = isinstance(spec.default, int)
    return where.number_input(
        spec.label,
        value=overrides.get("value", spec.default),
        step=spec.step,
        format=spec.format,
        help=spec.help,
        key=spec.key,
        bind=link_binding_for_whole_number(spec.key) if whole else "query-params",
    )


def _column_config(table: Table) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for c in table.columns:
        if c.kind == "text":
            config[c.name] = st.column_config.TextColumn(c.label)
        else:
            config[c.name] = st.column_config.NumberColumn(c.label, step=c.step, format=c.format, help=c.help)
    return config


def editable(table: Table) -> pd.DataFrame:
    """An editable table that starts from its example, can be loaded from a CSV and reset; returns the edits.

    The starting table lives in ``st.session_state[name + "_base"]``; loading or resetting swaps it and
    renews the editor's key so earlier cell edits do not land on the new rows.
    """
    name = table.name
    base_key, version_key, loaded_key = f"{name}_base", f"{name}_version", f"{name}_loaded"
    if base_key not in st.session_state:
        st.session_state[base_key] = example_frame(table)
    version = st.session_state.setdefault(version_key, 0)
    edited = st.data_editor(
        st.session_state[base_key],
        key=f"{name}_{version}",
        num_rows="dynamic",
        hide_index=True,
        column_config=_column_config(table),
    )
    with st.popover("Load a CSV or reset this table"):
        example_df = example_frame(table)
        st.caption(f"Columns: {', '.join(example_df.columns)} (a header row, comma-separated).")
        uploaded = st.file_uploader("CSV file", type="csv", key=f"{name}_upload")
        if uploaded is not None and st.session_state.get(loaded_key) != uploaded.file_id:
            try:
                st.session_state[base_key] = read_table_csv(uploaded, example_df)
            except MechanismInputError as error:
                show_error(error)
            else:
                st.session_state[loaded_key] = uploaded.file_id
                st.session_state[version_key] = version + 1
                st.rerun()
        if st.button("Reset to the example", key=f"{name}_reset"):
            st.session_state[base_key] = example_df
            st.session_state[version_key] = version + 1
            st.rerun()
        ui.csv_download(edited, f"{name}.csv", key=f"input_{name}", label="Download this table as CSV")
    return edited


def attempt(compute: Callable[[], Any]) -> Any:
    """``compute()``, or None after showing its MechanismInputError (the section then stops)."""
    try:
        return compute()
    except MechanismInputError as error:
        show_error(error)
        return None
