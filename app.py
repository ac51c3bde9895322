"""metagraph-lens: the entry point (`streamlit run app.py [-- --db PATH]`) and the Overview page.

The navigation lists the Overview first, then every page in pages/ in its numbered order
(1_Validators.py, 2_Miner.py, ...), so pages added by other modules appear without touching this file.
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from analytics.app import ui
from analytics.views import export, health

PAGES_DIR = Path(__file__).resolve().parent / "pages"
OVERVIEW_PATH = "overview"  # /overview opens the Overview, as "/" does


def overview() -> None:
    """Every subnet of one snapshot: size, mechanisms and split, emission, consensus health."""
    db = ui.page_setup(
        "Overview",
        intro="Consensus health of every subnet in one snapshot. Pick a subnet below to open its validators.",
    )
    snapshot_id = ui.snapshot_picker(db)
    table = ui.table("subnets", db, snapshot_id, None)

    meta = ui.provenance(db, snapshot_id)
    row = meta.iloc[0]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Subnets", len(table))
    c2.metric("Block", f"{int(row['block']):,}")
    c3.metric("Taken", f"{row['taken_at']:%Y-%m-%d}", help=f"{row['taken_at']:%Y-%m-%d %H:%M} UTC")
    c4.metric(
        "Validators out of consensus",
        f"{int(table['out_of_consensus'].sum()) if len(table) else 0:,}",
        help=f"critical or major. {health.rules()}",
    )

    if table.empty:
        st.info(
            f"Snapshot {snapshot_id} holds no subnet. Collect a new snapshot with `python -m analytics collect`."
        )
        return

    st.subheader("Subnets")
    st.caption(
        "Stake-weighted Tv: the validators' validator trust weighted by their stake (1 = nobody clipped). "
        f"Health, the same on every page: {health.rules()} Select a row to open the subnet."
    )
    event = st.dataframe(
        ui.style_tv(table, "stake_weighted_tv"),
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="subnets_table",
        column_order=[c for c in table.columns if not c.startswith("tv_")],
        column_config={
            "netuid": st.column_config.NumberColumn("Subnet", format="%d", width="small"),
            "name": st.column_config.TextColumn("Name", width="medium"),
            "uids": st.column_config.NumberColumn("UIDs", width="small"),
            "validators": st.column_config.NumberColumn(
                "Validators", width="small", help="UIDs holding a validator permit"
            ),
            "mechanisms": st.column_config.NumberColumn("Mech.", width="small", help="incentive mechanisms"),
            "split": st.column_config.TextColumn("Emission split", help="share of each mechanism"),
            "epoch_emission_alpha": st.column_config.NumberColumn(
                "Emission per epoch (α)", format="localized", step=0.01, help="alpha distributed by one epoch"
            ),
            "tempo": st.column_config.NumberColumn(
                "Tempo", width="small", help="an epoch runs every tempo blocks"
            ),
            "stake_weighted_tv": st.column_config.NumberColumn(
                "Stake-weighted Tv",
                format="%.3f",
                help=f"coloured by health: {health.tv_scale()}",
            ),
            "out_of_consensus": st.column_config.NumberColumn(
                "Out of consensus", help="validators whose health is critical or major"
            ),
        },
        placeholder="",
    )
    ui.csv_download(table, export.csv_filename("subnets", None, None, snapshot_id), key="subnets")

    selected = event.selection.rows if event is not None else []
    netuid = int(table.iloc[selected[0]]["netuid"]) if selected else None
    if netuid is not None:
        st.subheader(f"Subnet {netuid}")
        params = {"snapshot": str(snapshot_id), "netuid": str(netuid)}
        cols = st.columns(5)
        for col, (page, label) in zip(
            cols,
            [
                ("pages/1_Validators.py", "Validators"),
                ("pages/2_Miner.py", "Miner weights vs consensus"),
                ("pages/3_Validator_detail.py", "Validator detail"),
                ("pages/4_Weight_matrix.py", "Weight matrix"),
                ("pages/5_History.py", "History"),
            ],
            strict=True,
        ):
            col.page_link(page, label=label, query_params=params, icon=":material/arrow_forward:")

    st.subheader("Consensus health by subnet")
    chart = table.assign(subnet=[f"SN{n}" for n in table["netuid"]])
    fig = export.health_bars(chart["subnet"], chart)
    fig.update_layout(
        barmode="stack",
        height=380,
        bargap=0.15,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        yaxis_title="validators",
        xaxis={"type": "category", "tickangle": -90 if len(chart) > 24 else 0},
        legend=ui.legend_on_top("health"),
    )
    st.plotly_chart(fig, width="stretch", key="subnets_chart")
    ui.csv_download(table, export.csv_filename("subnets", None, None, snapshot_id), key="subnets_chart")

    with st.expander("Where this snapshot comes from"):
        st.dataframe(meta, hide_index=True, width="stretch", placeholder="")
        ui.csv_download(meta, export.csv_filename("provenance", None, None, snapshot_id), key="provenance")


def _page_order(path: Path) -> tuple[int, str]:
    match = re.match(r"(\d+)_", path.name)
    return (int(match.group(1)) if match else 10_000, path.name)


def main() -> None:
    # A dashboard for stakers, not a Streamlit workspace: no "Deploy" / "Clear cache" in the menu.
    st.set_option("client.toolbarMode", "viewer")
    ui.app_navigation()  # a server's first run is in Streamlit's pages-folder mode: rerun outside it
    pages = [
        st.Page(overview, title="Overview", icon=":material/insights:", url_path="home", default=True),
        # The default page is served at "/" whatever its url_path, so "/overview" needs a page of its own
        # (hidden from the menu) or the browser shows "Page not found" before falling back to "/"
        # (pages/overview.py is the same path for Streamlit's pages-folder mode; see ui.app_navigation).
        st.Page(overview, title="Overview", url_path=OVERVIEW_PATH, visibility="hidden"),
    ]
    numbered = [p for p in PAGES_DIR.glob("*.py") if re.match(r"\d+_", p.name)]  # not pages/overview.py
    pages += [st.Page(str(p)) for p in sorted(numbered, key=_page_order)]
    st.navigation(pages).run()


main()
