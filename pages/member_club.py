"""Data Analytics > Member Club: pending double opt-in requests, with "Resend the request"."""

from __future__ import annotations

import streamlit as st
from sqlmodel import Session

import widgets
from core import paging
from core.reports import member_club
from core.messaging import texting
from pages import ui

ui.require_page("member-club")

PAGES = "mc_pages"  # keyset cursors of the pages before the one shown
RESULT = "mc_result"  # what the last resend did, shown after the rerun
TABLE_GEN = "mc_table_gen"  # a new table widget after a resend, so no row stays ticked

st.title("Member Club", anchor=False)
st.caption(
    "Pending double opt-in requests: customers who were sent an opt-in request and have not replied "
    "**Y** or **YES** yet, longest waiting first."
)

widgets.flash(RESULT, icon=":material/outgoing_mail:")

with ui.session() as s:
    defaults = texting.get_defaults(s)
    after = widgets.page_cursor(PAGES)
    page = member_club.pending_requests(s, after=after)
    if not page.rows and after is not None:  # the list shrank under us: back to the start
        widgets.first_page(PAGES)
        page = member_club.pending_requests(s)

st.metric("Waiting for a reply", f"{page.total:,}")
if not page.total:
    st.info(
        "Nobody is waiting: every opt-in request has been answered (or none was sent yet). Requests go out "
        "from sign-up forms, the Text To Join number, POS syncs and the customer's page in Personas.",
        icon=":material/check_circle:",
    )
    st.stop()

table = member_club.member_club_table(page.rows)
event = st.dataframe(
    table,
    key=f"mc_table_{st.session_state.get(TABLE_GEN, 0)}",
    on_select="rerun",
    selection_mode="multi-row",
    hide_index=True,
    width="stretch",
    height=min(38 + 35 * len(table), 600),
)
selected_rows = [i for i in event.selection.rows if i < len(page.rows)]
selected_ids = [page.rows[i]["id"] for i in selected_rows]

widgets.pager(
    "mc",
    PAGES,
    page_size=paging.PAGE_SIZE,
    shown=len(page.rows),
    total=page.total,
    next_after=page.next_cursor,
    note="Tick rows to choose them (the box in the header ticks the whole page).",
)

with st.container(border=True, key="mc_resend_box"):
    n = len(selected_ids)
    label = f"Resend the request to {n} customer{'s' if n != 1 else ''}" if n else "Resend the request"
    if st.button(label, key="mc_resend", type="primary", disabled=not n, icon=":material/send:"):
        with ui.session() as s:
            summary = member_club.resend(s, selected_ids, by=ui.actor())
        widgets.set_flash(
            RESULT, "  \n".join(member_club.summary_sentences(summary)), "success" if not summary.blocked else "warning"
        )
        st.session_state[TABLE_GEN] = st.session_state.get(TABLE_GEN, 0) + 1
        st.rerun()
    st.caption(
        f"The request limits apply: at most {defaults.max_opt_in_requests} opt-in requests per phone in "
        "total and never two within 24 hours; a customer over a limit is refused and the reason shown. "
        f"In quiet hours (outside {defaults.window_start:%H:%M}–{defaults.window_end:%H:%M} in the "
        "customer's time) a request waits in the queue and goes out when the window opens."
    )

engine, by = ui.engine(), ui.actor()


def _export_file() -> bytes:
    # runs when the button is clicked, on a thread of its own: its own session. The CSV is
    # built from the streamed chunks (Streamlit sends a download as one piece).
    with Session(engine) as s:
        return b"".join(member_club.pending_export(s, by=by))


widgets.download(
    "Export CSV",
    _export_file,
    file_name="member-club-pending.csv",
    key="mc_export",
    caption="Every waiting customer, not only this page. Phones are written as **tel:+14158675309** "
    "so a spreadsheet keeps them as text; cells starting with = + - @ get a leading "
    "apostrophe.",
)
