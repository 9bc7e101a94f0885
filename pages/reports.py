"""Data Analytics > Reports: where consent stands for a date range, with charts, tables and CSV downloads."""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from core.reports import charts, figures, period
from core.models import SmsStatus
from pages import ui

ui.require_page("reports")

GREEN, RED, AMBER, GREY, BLUE = "#2e7d32", "#c62828", "#ef8f00", "#9e9e9e", "#1565c0"

st.title("Reports", anchor=False)
st.caption(
    "Where your customers' consent stands, for the days you pick (your shop's calendar). Pending "
    "double opt-in requests, one customer a row, are in **Data Analytics › Member Club**."
)

with ui.session() as s:
    today = period.local_today(s)
    forms = charts.form_choices(s)

c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
first = c1.date_input("From", value=today - dt.timedelta(days=29), key="rep_from", format="YYYY-MM-DD")
last = c2.date_input("To", value=today, key="rep_to", format="YYYY-MM-DD")
by = c3.segmented_control("Group by", ["day", "week"], default="day", key="rep_by", format_func=str.capitalize) or "day"

try:
    with ui.session() as s:
        head = figures.headline(s, first, last)
        p = head.period
        trend = charts.opt_ins_and_outs(s, p, by=by)
        sources = charts.by_source(s, p)
        funnel = charts.funnel(s, p)
except period.ReportError as exc:
    ui.show_error(exc)
    st.stop()


def pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.0%}"


def delta(status: SmsStatus) -> str | None:
    n = head.change[status]
    return f"{n:+,} in this range" if n else None


as_of = "today" if last >= today else f"the end of {last:%d %b %Y}"
st.subheader(f"Customers as of {as_of}", anchor=False)
m = st.columns(5)
m[0].metric("Opted in", f"{head.counts[SmsStatus.opted_in]:,}", delta(SmsStatus.opted_in))
m[1].metric("Pending", f"{head.counts[SmsStatus.pending]:,}", delta(SmsStatus.pending), delta_color="off")
m[2].metric("Opted out", f"{head.counts[SmsStatus.opted_out]:,}", delta(SmsStatus.opted_out), delta_color="inverse")
m[3].metric(
    "Not opted in", f"{head.counts[SmsStatus.not_opted_in]:,}", delta(SmsStatus.not_opted_in), delta_color="off"
)
m[4].metric("Opt-in rate", pct(head.opt_in_rate), help="Opted in ÷ all customers.")

st.subheader(f"Double opt-in requests, {p.start:%d %b} – {p.end:%d %b %Y}", anchor=False)
m = st.columns(4)
m[0].metric(
    "Requests sent",
    f"{head.requests_sent:,}",
    help=f"Opt-in requests that went out in the range, to {head.customers_asked:,} customers.",
)
m[1].metric("Confirmed", f"{head.confirmed:,}", help="Pending customers who replied Y or YES in the range.")
m[2].metric("Confirmation rate", pct(head.confirmation_rate), help="Confirmed ÷ customers sent a request.")
m[3].metric(
    "Median time to confirm",
    figures.duration_text(head.median_time_to_confirm),
    help="From the opt-in request to the customer's Y/YES, for the confirmations in the range.",
)


def chart_block(key: str, title: str, caption: str, chart, table: pd.DataFrame) -> None:
    with st.container(border=True, key=f"rep_{key}"):
        st.markdown(f"**{title}**")
        st.caption(caption)
        _chart_body(key, chart, table)


def _chart_body(key: str, chart, table: pd.DataFrame) -> None:
    """The chart, its table view and its CSV (an empty range says so instead)."""
    if table.empty:
        st.info("Nothing in this range yet.", icon=":material/info:")
        return
    st.altair_chart(chart, width="stretch")
    with st.expander("Table", icon=":material/table:"):
        st.dataframe(table, hide_index=True, width="stretch", key=f"rep_table_{key}")
    if not ui.can("export"):  # staff read the reports; downloads are exports
        return
    engine, by = ui.engine(), ui.actor()

    def _table_file() -> bytes:  # on the click: the download is recorded
        with ui.Session(engine) as fresh:
            return charts.export_table(fresh, table, name=f"{key} {p.start} to {p.end}", by=by)

    st.download_button(
        "Download CSV",
        data=_table_file,
        file_name=f"{key}-{p.start}-{p.end}.csv",
        mime="text/csv",
        key=f"rep_csv_{key}",
        icon=":material/download:",
    )


def _long(table: pd.DataFrame, by_column: str, value_name: str) -> pd.DataFrame:
    """One row per bar or point, as altair wants it (dates as timestamps)."""
    if table.empty:
        return table
    out = table.melt(by_column, var_name="What", value_name=value_name)
    if by_column in ("Day", "Week of"):
        out[by_column] = pd.to_datetime(out[by_column])
    return out


period_name = "Week of" if by == "week" else "Day"
trend_df = pd.DataFrame([{period_name: r[by], "Opt-ins": r["opt_ins"], "Opt-outs": r["opt_outs"]} for r in trend])
if not trend_df.empty and not (trend_df["Opt-ins"].sum() or trend_df["Opt-outs"].sum()):
    trend_df = trend_df.iloc[0:0]
long = _long(trend_df, period_name, "Customers")
trend_chart = (
    alt.Chart(long)
    .mark_bar()
    .encode(
        x=alt.X(
            f"yearmonthdate({period_name}):O",
            title=None,
            axis=alt.Axis(format="%d %b", labelAngle=-45, labelOverlap=True),
        ),
        xOffset=alt.XOffset("What:N", sort=["Opt-ins", "Opt-outs"]),
        y=alt.Y("Customers:Q", title="Customers", axis=alt.Axis(tickMinStep=1)),
        color=alt.Color(
            "What:N",
            scale=alt.Scale(domain=["Opt-ins", "Opt-outs"], range=[GREEN, RED]),
            title=None,
            legend=alt.Legend(orient="top"),
        ),
        tooltip=[alt.Tooltip(f"{period_name}:T", format="%a %d %b %Y"), "What:N", "Customers:Q"],
    )
    .properties(height=260)
)
chart_block(
    "opt_ins_outs",
    f"Opt-ins and opt-outs per {by}",
    "Customers who became opted in or opted out (by texting STOP, for instance), by the day it happened.",
    trend_chart,
    trend_df,
)

cols = st.columns(2)
with cols[0]:
    source_df = pd.DataFrame(
        [{"Source": r["source"], "Opt-ins": r["opt_ins"], "Opt-outs": r["opt_outs"]} for r in sources]
    )
    long = _long(source_df, "Source", "Customers")
    source_chart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("Source:N", sort=None, title=None, axis=alt.Axis(labelLimit=220)),
            yOffset=alt.YOffset("What:N", sort=["Opt-ins", "Opt-outs"]),
            x=alt.X("Customers:Q", title="Customers", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "What:N",
                scale=alt.Scale(domain=["Opt-ins", "Opt-outs"], range=[GREEN, RED]),
                title=None,
                legend=alt.Legend(orient="top"),
            ),
            tooltip=["Source:N", "What:N", "Customers:Q"],
        )
        .properties(height=max(140, 46 * len(source_df)))
    )
    chart_block(
        "by_source",
        "By source",
        "Where the customers who opted in or out in this range came from; POS sources by name.",
        source_chart,
        source_df,
    )

with cols[1]:
    funnel_df = pd.DataFrame(
        [{"Stage": r["stage"], "Customers": r["customers"], "Share": pct(r["share"])} for r in funnel]
    )
    if funnel_df["Customers"].iloc[0] == 0:
        funnel_df = funnel_df.iloc[0:0]
    bars = (
        alt.Chart(funnel_df)
        .mark_bar()
        .encode(
            y=alt.Y("Stage:N", sort=list(charts.FUNNEL_STAGES), title=None),
            x=alt.X("Customers:Q", title="Customers", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "Stage:N", scale=alt.Scale(domain=list(charts.FUNNEL_STAGES), range=[AMBER, GREEN, RED]), legend=None
            ),
            tooltip=["Stage:N", "Customers:Q", "Share:N"],
        )
    )
    labels = bars.mark_text(align="left", dx=4).encode(text="Share:N", color=alt.value("#333"))
    chart_block(
        "funnel",
        "Double opt-in funnel",
        "Customers sent their first opt-in request in this range: how "
        "many confirmed with Y/YES (so far), and how many of those later opted out.",
        (bars + labels).properties(height=160),
        funnel_df,
    )

form_names = {None: "All forms", **{i: n for i, n in forms}}
with st.container(border=True, key="rep_forms"):
    t1, t2 = st.columns([3, 2], vertical_alignment="top")
    t1.markdown(f"**Sign-up form views and submissions per {by}**")
    t1.caption("Views are counted per UTC day; submissions by your shop's calendar.")
    pick = t2.selectbox(
        "Sign-up form",
        list(form_names),
        format_func=lambda i: form_names[i],
        key="rep_form",
        label_visibility="collapsed",
    )
    with ui.session() as s:
        activity = charts.form_activity(s, p, form_id=pick, by=by)
    form_df = pd.DataFrame(
        [{period_name: r[by], "Views": r["views"], "Submissions": r["submissions"]} for r in activity]
    )
    if not form_df.empty and not (form_df["Views"].sum() or form_df["Submissions"].sum()):
        form_df = form_df.iloc[0:0]
    long = _long(form_df, period_name, "Count")
    form_chart = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{period_name}:T", title=None, axis=alt.Axis(format="%d %b")),
            y=alt.Y("Count:Q", title=None, axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "What:N",
                scale=alt.Scale(domain=["Views", "Submissions"], range=[BLUE, GREEN]),
                title=None,
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[alt.Tooltip(f"{period_name}:T", format="%a %d %b %Y"), "What:N", "Count:Q"],
        )
        .properties(height=240)
    )
    _chart_body("forms", form_chart, form_df)

with st.container(border=True, key="rep_queue_box"):
    with ui.session() as s:
        queued_total, queued = figures.queued_messages(s)
    st.markdown("**Queued messages**")
    if not queued_total:
        st.caption("Nothing is waiting: every message has gone out.")
    else:
        st.caption(
            f"{queued_total:,} message{'s' if queued_total != 1 else ''} wait for the sending window "
            "(quiet hours, in the customer's time); each goes out at the time shown (your shop's time)."
            + (f" The first {len(queued)} are listed." if queued_total > len(queued) else "")
        )
        st.dataframe(queued, hide_index=True, width="stretch", key="rep_queue")
