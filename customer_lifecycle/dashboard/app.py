"""The lifecycle dashboard (Streamlit): six pages over the published marts.

Run it with `python -m customer_lifecycle dashboard` (or `make dashboard`), not directly. The
sidebar holds the filters, which every page shares: a range of months and a channel. A page says
which of its figures a filter does not apply to. The filters can also be given in the address,
e.g. /funnel?from=2025-03&to=2025-06&channel=email.

Figures are shown as the marts define them: counts as counts, money in the reporting currency
with cents, rates (shares 0..1 in the marts) as percentages.
"""
from __future__ import annotations

import math
from datetime import date

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from customer_lifecycle.dashboard import data

ALL_CHANNELS = "All channels"
WIN_BACK_COLOUR = "rgba(214, 39, 40, 0.75)"
AT_RISK_RECOVERY_COLOUR = "rgba(255, 165, 0, 0.6)"
OTHER_MOVE_COLOUR = "rgba(150, 150, 150, 0.35)"


# --- Formatting ---------------------------------------------------------------------------------

def count(value) -> str:
    """A whole number with thousands separators; a dash when missing."""
    return "–" if _missing(value) else f"{int(round(float(value))):,}"


def money(value) -> str:
    """An amount in the reporting currency, to the cent; a dash when missing."""
    return "–" if _missing(value) else f"{float(value):,.2f}"


def share(value) -> str:
    """A rate stored as a share 0..1, shown as a percentage; a dash when missing (null rate)."""
    return "–" if _missing(value) else f"{float(value):.1%}"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def month_label(month) -> str:
    return pd.Timestamp(month).strftime("%Y-%m")


def show_chart(fig: go.Figure, monthly: bool = False) -> None:
    """A plotly figure across the page; `monthly`: its x axis is months (ticks one a month at most)."""
    fig.update_layout(margin={"l": 10, "r": 10, "t": 50, "b": 10})
    if monthly:
        fig.update_xaxes(tickformat="%Y-%m", dtick="M1", tickangle=-45)
    st.plotly_chart(fig, width="stretch")


def metric_row(figures: dict[str, str], per_row: int = 4) -> None:
    """Metrics (label -> formatted value) in rows of `per_row`."""
    items = list(figures.items())
    for start in range(0, len(items), per_row):
        for column, (label, value) in zip(st.columns(per_row), items[start:start + per_row]):
            column.metric(label, value)


# --- Filters ------------------------------------------------------------------------------------

def _month_from_address(text: str | None, choices: list[date]) -> date | None:
    """The month of a `YYYY-MM` address parameter, if it is one of the choices."""
    if not text:
        return None
    return next((m for m in choices if month_label(m) == text.strip()), None)


def sidebar_filters() -> data.Filters:
    """The month range and channel chosen in the sidebar (first set from the address, if given)."""
    months = data.months()
    if not months:
        st.warning("The build has no months of data: nothing to show.")
        st.stop()
    channels = [ALL_CHANNELS, *data.channels()]
    # Choices a new build no longer offers are dropped; a new session starts from the address.
    if any(m not in months for m in st.session_state.get("months", ())):
        del st.session_state["months"]
    if st.session_state.get("channel", ALL_CHANNELS) not in channels:
        del st.session_state["channel"]
    params = st.query_params
    first = _month_from_address(params.get("from"), months) or months[0]
    last = _month_from_address(params.get("to"), months) or months[-1]
    wanted = params.get("channel")
    with st.sidebar:
        st.header("Filters")
        first, last = st.select_slider("Months", options=months, value=(min(first, last), max(first, last)),
                                       key="months", format_func=month_label)
        channel = st.selectbox("Channel", channels, index=channels.index(wanted) if wanted in channels else 0,
                               key="channel")
        record = data.build_record()
        if record:
            st.caption(f"Build {str(record['build_id'])[:8]}, finished {pd.Timestamp(record['finished_at']):%Y-%m-%d %H:%M}; "
                       f"data {pd.Timestamp(record['data_first_day']):%Y-%m-%d} to {pd.Timestamp(record['as_of_date']):%Y-%m-%d}.")
        st.caption(f"Reading {data.describe_source()}.")
    return data.Filters(first, last, None if channel == ALL_CHANNELS else channel)


def range_caption(f: data.Filters) -> str:
    return f"{month_label(f.first_month)} to {month_label(f.last_month)}"


def channel_note(f: data.Filters, applies_to: str | None) -> None:
    """Say what the channel filter applies to on this page (or that it applies to nothing here)."""
    if applies_to is None:
        st.info(f"The channel filter does not apply on this page: these marts have no channel"
                f"{'' if f.channel is None else f' (showing all channels, not only {f.channel})'}.")
    else:
        st.caption(f"Channel filter: {f.channel or 'all channels'}; it applies to {applies_to}.")


# --- Pages --------------------------------------------------------------------------------------

def page_stages() -> None:
    """1. Persons in each lifecycle stage at the end of the range, and over time."""
    f = FILTERS
    st.title("Lifecycle stages")
    monthly = data.stage_monthly(f)
    last = monthly[monthly["stage_month"] == monthly["stage_month"].max()]
    at_end = dict(zip(last["stage"], last["persons_at_month_end"]))
    st.subheader(f"Persons in each stage at the end of {month_label(f.last_month)}")
    st.caption("fct_lifecycle_stage_monthly: every person, anonymous visitors included; the latest month "
               "counts at as_of_date (now).")
    metric_row({stage: count(at_end.get(stage, 0)) for stage in data.STAGES})
    channel_note(f, "the customers by current stage chart (the customers' acquisition channel); "
                    "the monthly stage counts have no channel")
    fig = go.Figure()
    for stage in data.STAGES:
        rows = monthly[monthly["stage"] == stage]
        fig.add_trace(go.Scatter(x=rows["stage_month"], y=rows["persons_at_month_end"], name=stage,
                                 mode="lines", stackgroup="persons"))
    fig.update_layout(title=f"Persons per stage at month end, {range_caption(f)}", yaxis_title="persons")
    show_chart(fig, monthly=True)

    customers = data.customers_by_current_stage(f)
    if customers.empty:
        st.info(f"No customer was acquired through {f.channel}.")
        return
    fig = go.Figure()
    for channel, rows in customers.groupby("acquisition_channel", dropna=False):
        fig.add_trace(go.Bar(x=rows["stage"], y=rows["customers"], name=str(channel)))
    fig.update_layout(barmode="stack", title="Customers by current stage (dim_customers) and acquisition channel",
                      xaxis={"categoryorder": "array", "categoryarray": list(data.STAGES)}, yaxis_title="customers")
    show_chart(fig)


def page_flows() -> None:
    """2. Moves between stages in the range as a Sankey, win-backs highlighted."""
    f = FILTERS
    st.title("Stage flows")
    channel_note(f, None)
    moves = data.transitions(f)
    wins = moves[moves["is_reactivation"].astype(bool)]
    metric_row({"Moves": count(moves["transitions"].sum()),
                "Win-backs": count(wins["transitions"].sum()),
                "Moves into churned": count(moves.loc[moves["to_stage"] == "churned", "transitions"].sum()),
                "Back from at_risk": count(moves.loc[_is_at_risk_recovery(moves), "transitions"].sum())})
    st.caption("A win-back is a move out of churned (fct_lifecycle_transitions.is_reactivation; only an order "
               "leaves churned), drawn in red. A move from at_risk to another active stage (drawn in amber) is "
               "a recovery before churn, not a win-back: at_risk customers are still active customers.")
    if moves.empty:
        st.info("No moves between stages in these months.")
        return
    show_chart(sankey(moves, f"Moves between stages, {range_caption(f)}"))
    by_month = data.transitions_by_month(f)
    fig = go.Figure()
    for flag, name in ((False, "other moves"), (True, "win-backs")):
        rows = by_month[by_month["is_reactivation"].astype(bool) == flag]
        fig.add_trace(go.Bar(x=rows["transition_month"], y=rows["transitions"], name=name,
                             marker_color=WIN_BACK_COLOUR if flag else "rgba(100, 100, 100, 0.6)"))
    fig.update_layout(barmode="stack", title="Moves per month", yaxis_title="moves")
    show_chart(fig, monthly=True)


def _is_at_risk_recovery(moves: pd.DataFrame) -> pd.Series:
    return (moves["from_stage"] == "at_risk") & moves["to_stage"].isin(data.ACTIVE_STAGES)


def sankey(moves: pd.DataFrame, title: str) -> go.Figure:
    """Stages left (from) to stages right (to), one link per kind of move, width = moves."""
    sources = [s for s in data.STAGES if s in set(moves["from_stage"])]
    targets = [s for s in data.STAGES if s in set(moves["to_stage"])]
    labels = [f"{s} (from)" for s in sources] + [f"{s} (to)" for s in targets]
    colours = [WIN_BACK_COLOUR if win else AT_RISK_RECOVERY_COLOUR if recovery else OTHER_MOVE_COLOUR
               for win, recovery in zip(moves["is_reactivation"].astype(bool), _is_at_risk_recovery(moves))]
    fig = go.Figure(go.Sankey(
        node={"label": labels, "pad": 12},
        link={"source": [sources.index(s) for s in moves["from_stage"]],
              "target": [len(sources) + targets.index(t) for t in moves["to_stage"]],
              "value": moves["transitions"].astype(float), "color": colours,
              "customdata": ["win-back" if w else "" for w in moves["is_reactivation"].astype(bool)],
              "hovertemplate": "%{source.label} → %{target.label}: %{value} moves %{customdata}<extra></extra>"}))
    fig.update_layout(title=title, height=520)
    return fig


def page_funnel() -> None:
    """3. Funnel steps and drop-off, overall and by channel and device."""
    f = FILTERS
    st.title("Funnel drop-off")
    funnels = data.funnel_names()
    if not funnels:
        st.info("No funnel has entries in this build.")
        return
    funnel = st.selectbox("Funnel", funnels) if len(funnels) > 1 else funnels[0]
    channel_note(f, "every figure on this page (the channel of the entry session)")
    entries = data.funnel_entries(f, funnel)
    metric_row({"Entries": count(entries["entries"]), "Converted": count(entries["converted"]),
                "Conversion rate": share(entries["converted"] / entries["entries"] if entries["entries"] else None)},
               per_row=3)
    st.caption(f"Funnel {funnel}, entries {range_caption(f)} (fct_funnel_sessions, fct_funnel_steps). The share "
               "reaching a step is entries that reached steps 1..k over all entries.")
    steps = data.funnel_steps(f, funnel)
    if steps.empty:
        st.info("No entries in these months through this channel.")
        return
    fig = go.Figure(go.Funnel(y=steps["step_name"], x=steps["entries_reaching_step"], textinfo="value+percent initial"))
    fig.update_layout(title=f"Funnel {funnel}: entries reaching each step")
    show_chart(fig)
    for by in data.FUNNEL_BREAKDOWNS:
        rows = data.funnel_steps(f, funnel, by=by)
        fig = go.Figure()
        for value, group in rows.groupby(by):
            fig.add_trace(go.Scatter(x=group["step_name"], y=group["overall_conversion_rate"], name=str(value),
                                     mode="lines+markers", customdata=group["drop_off"],
                                     hovertemplate="%{x}: %{y:.1%} of entries (drop-off %{customdata})"))
        fig.update_layout(title=f"Share of entries reaching each step, by {by}", yaxis_tickformat=".0%",
                          yaxis_range=[0, 1.05])
        show_chart(fig)


def page_retention() -> None:
    """4. The cohort retention heatmap and churn per month."""
    f = FILTERS
    st.title("Retention and churn")
    churn = data.churn_monthly(f)
    if not churn.empty:
        latest = churn.iloc[-1]
        st.subheader(f"Churn in {month_label(latest['churn_month'])}")
        metric_row({"Churn rate": share(latest["churn_rate"]), "Churned customers": count(latest["churned_customers"]),
                    "Won back": count(latest["reactivated_customers"]), "Active at month end": count(latest["active_at_end"])})
    channel_note(f, "the cohorts (customers acquired through the channel, fct_retention_cohorts_by_channel); "
                    "churn per month (fct_churn_monthly) has no channel")
    cohorts = data.retention_cohorts(f)
    if cohorts.empty:
        st.info("No cohort starts in these months" + (f" for channel {f.channel}." if f.channel else "."))
    else:
        grid = cohorts.pivot(index="cohort_month", columns="months_since_first_order", values="retention_rate")
        sizes = cohorts.groupby("cohort_month")["cohort_size"].max()
        fig = go.Figure(go.Heatmap(
            z=grid.values, x=list(grid.columns),
            y=[f"{month_label(m)} ({count(sizes[m])})" for m in grid.index],
            colorscale="Blues", zmin=0, zmax=1, colorbar={"tickformat": ".0%"},
            text=[[share(v) if not _missing(v) else "" for v in row] for row in grid.values],
            texttemplate="%{text}", hovertemplate="cohort %{y}, month %{x}: %{text}<extra></extra>"))
        fig.update_layout(title="Retention: share of each cohort (size in brackets) ordering in month n",
                          xaxis_title="months since first order", yaxis={"autorange": "reversed"}, height=560)
        show_chart(fig)
    if churn.empty:
        return
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for column, name in (("new_customers", "new"), ("reactivated_customers", "won back"),
                         ("churned_customers", "churned")):
        fig.add_trace(go.Bar(x=churn["churn_month"], y=churn[column], name=name), secondary_y=False)
    fig.add_trace(go.Scatter(x=churn["churn_month"], y=churn["churn_rate"], name="churn rate", mode="lines+markers"),
                  secondary_y=True)
    fig.update_layout(title="Customers per month: new, won back, churned; churn rate", barmode="group")
    fig.update_yaxes(title_text="customers", secondary_y=False)
    fig.update_yaxes(title_text="churn rate", tickformat=".0%", secondary_y=True, rangemode="tozero")
    show_chart(fig, monthly=True)


def page_value() -> None:
    """5. Predicted CLV and P(alive) distributions, and the RFM segments."""
    f = FILTERS
    st.title("Customer value")
    channel_note(f, None)
    totals = data.clv_totals(f)
    horizon = totals.get("horizon_days")
    metric_row({"Customers": count(totals["customers"]),
                f"Predicted CLV, next {count(horizon)} days": money(totals["predicted_clv"]),
                "Mean P(alive)": share(totals["mean_p_alive"])}, per_row=3)
    st.caption(f"Customers whose first purchase fell in {range_caption(f)} (fct_customer_clv). Predicted CLV is "
               "the expected net revenue in the horizon, discounted; P(alive) the BG/NBD probability that a "
               "customer is still active.")
    for measure, title in (("predicted_clv", "Predicted CLV per customer"), ("p_alive", "P(alive) per customer")):
        bins = data.clv_histogram(f, measure)
        if bins.empty:
            st.info(f"No {measure} for these customers (no fitted model, or no customers in these months).")
            continue
        fig = go.Figure(go.Bar(x=(bins["bin_start"] + bins["bin_end"]) / 2, y=bins["customers"],
                               width=bins["bin_end"] - bins["bin_start"], customdata=bins[["bin_start", "bin_end"]],
                               hovertemplate="%{customdata[0]:.2f} to %{customdata[1]:.2f}: %{y} customers<extra></extra>"))
        fig.update_layout(title=title, yaxis_title="customers", bargap=0.05,
                          xaxis_tickformat=".0%" if measure == "p_alive" else None)
        show_chart(fig)
    st.subheader("RFM segments")
    st.caption("fct_rfm_segments, as of as_of_date: neither the months nor the channel apply.")
    segments = data.rfm_segments()
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=segments["segment"], y=segments["customers"], name="customers"), secondary_y=False)
    fig.add_trace(go.Scatter(x=segments["segment"], y=segments["revenue_share"], name="share of net revenue",
                             mode="markers", marker_size=10), secondary_y=True)
    fig.update_layout(title="Customers and share of net revenue per RFM segment")
    fig.update_yaxes(title_text="customers", secondary_y=False)
    fig.update_yaxes(title_text="share of net revenue", tickformat=".0%", secondary_y=True, rangemode="tozero")
    show_chart(fig)


def page_kpis() -> None:
    """6. The monthly KPIs: the last month of the range, and every month of it."""
    f = FILTERS
    st.title("Monthly KPIs")
    channel_note(f, None)
    kpis = data.kpis_monthly(f)
    latest = kpis.iloc[-1]
    st.subheader(f"KPIs of {month_label(latest['kpi_month'])}")
    metric_row({"Net revenue": money(latest["net_revenue"]), "Valid orders": count(latest["valid_orders"]),
                "New customers": count(latest["new_customers"]), "Average order value": money(latest["average_order_value"]),
                "Session conversion rate": share(latest["session_conversion_rate"]),
                "Repeat purchase rate": share(latest["repeat_purchase_rate"]),
                "Churn rate": share(latest["churn_rate"]), "CAC": money(latest["cac"])})
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=kpis["kpi_month"], y=kpis["net_revenue"], name="net revenue"), secondary_y=False)
    fig.add_trace(go.Scatter(x=kpis["kpi_month"], y=kpis["valid_orders"], name="valid orders", mode="lines+markers"),
                  secondary_y=True)
    fig.update_layout(title=f"Net revenue and valid orders, {range_caption(f)}")
    fig.update_yaxes(title_text="net revenue", secondary_y=False)
    fig.update_yaxes(title_text="valid orders", secondary_y=True, rangemode="tozero")
    show_chart(fig, monthly=True)
    fig = go.Figure()
    for column in ("session_conversion_rate", "repeat_purchase_rate", "upsell_rate", "churn_rate", "email_click_rate"):
        fig.add_trace(go.Scatter(x=kpis["kpi_month"], y=kpis[column], name=column.replace("_", " "), mode="lines+markers"))
    fig.update_layout(title="Rates per month", yaxis_tickformat=".0%")
    show_chart(fig, monthly=True)
    st.dataframe(kpis.assign(kpi_month=kpis["kpi_month"].map(month_label)), hide_index=True)


PAGES = [
    st.Page(page_stages, title="Lifecycle stages", url_path="stages", default=True),
    st.Page(page_flows, title="Stage flows", url_path="flows"),
    st.Page(page_funnel, title="Funnel drop-off", url_path="funnel"),
    st.Page(page_retention, title="Retention and churn", url_path="retention"),
    st.Page(page_value, title="Customer value", url_path="value"),
    st.Page(page_kpis, title="Monthly KPIs", url_path="kpis"),
]

st.set_page_config(page_title="Customer lifecycle", layout="wide")
page = st.navigation(PAGES)
try:
    FILTERS = sidebar_filters()
except data.WarehouseMissing as missing:
    st.error(str(missing))
    st.stop()
page.run()
