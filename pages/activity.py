"""Activity (owner and manager): who did what, filterable by person, kind and date; exportable."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import streamlit as st
from sqlmodel import Session

import widgets
from core.clock import shop_time
from pages import ui

ui.require_page("activity")

from core import activity  # noqa: E402
from core.messaging.texting import get_defaults  # noqa: E402
from core.audiences.query import utc_start_of  # noqa: E402

CURSORS = "activity_cursors"  # keyset cursors of the pages before the one shown (widgets.pager)

st.title("Activity", anchor=False)
st.caption(
    "Who did what: every consent change made in the dashboard, import, POS date change, template and form "
    "change, review decision and export, with the person who did it. Newest first."
)

with ui.session() as s:
    tz = get_defaults(s).timezone
    with Session(ui.main_engine()) as main:
        people = activity.people_choices(main)
    today = dt.datetime.now(ZoneInfo(tz)).date()
    a, b, c = st.columns([1.2, 1.5, 1.3])
    person = a.selectbox(
        "Person",
        [None] + [pid for pid, _ in people],
        key="activity_person",
        format_func=lambda pid: "Everyone" if pid is None else dict(people).get(pid, "?"),
    )
    kinds = b.multiselect(
        "Kind",
        [k.value for k in activity.Kind],
        key="activity_kinds",
        format_func=lambda k: activity.Kind(k).label,
        placeholder="Every kind",
    )
    span = c.date_input(
        "Dates",
        value=(today - dt.timedelta(days=29), today),
        key="activity_dates",
        max_value=today,
        format="MM/DD/YYYY",
    )
    start, end = (
        span
        if isinstance(span, (tuple, list)) and len(span) == 2
        else ((span[0], span[0]) if isinstance(span, (tuple, list)) and span else (span, span))
    )
    f = activity.filters(
        person_id=person,
        kinds=kinds,
        start=utc_start_of(start, tz) if start else None,
        end=utc_start_of(end + dt.timedelta(days=1), tz) if end else None,
    )

    after = widgets.page_cursor(CURSORS, (person, tuple(kinds), str(start), str(end)))
    total = activity.count(s, f)
    items, next_after = activity.page(s, f, after=after)
    if not items:
        st.info(
            "Nothing in this range. Changes appear here as people use the dashboard."
            if not (person or kinds)
            else "Nothing matches these filters in this range.",
            icon=":material/history:",
        )
    else:
        rows = activity.rows(items)
        for row, item in zip(rows, items):  # the shop's time, with its zone
            row.pop("When (UTC)")
            row["When"] = shop_time(item.at, tz)
        st.dataframe(
            [
                {"When": r["When"], "Person": r["Person"], "Role": r["Role"], "Kind": r["Kind"], "What": r["What"]}
                for r in rows
            ],
            hide_index=True,
            width="stretch",
            key="activity_table",
            column_config={"What": st.column_config.TextColumn(width="large")},
        )
        widgets.pager(
            "activity", CURSORS, page_size=activity.PAGE_SIZE, shown=len(items), total=total, next_after=next_after
        )

    engine, by = ui.engine(), ui.actor()

    def _export_file() -> bytes:  # on the click, its own session: the export itself is recorded
        with Session(engine) as fresh:
            return b"".join(activity.export(fresh, f, by=by))

    widgets.download(
        "Export CSV",
        _export_file,
        file_name=f"activity-{start}-{end}.csv",
        key="activity_export",
        disabled=total == 0,
        caption="Every row matching the filters. Opens safely in a spreadsheet: a cell starting with "
        "= + - @ gets a leading apostrophe, so it is shown as text, never run as a formula. "
        "Times in the file are UTC.",
    )
