"""Settings > Integrations: POS sources, their double opt-in date setting, and syncs of their exports (§7)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from core.importing import importer, pos
from core.reports import reports
from core.messaging import texting
from pages import ui

ui.require_page("integrations")

FLASH = "pos_flash"
CONFIRM_DELETE = "pos_confirm_delete"


def _when(at: dt.datetime | None, tz: str) -> str:
    return importer.local_time(at, tz)


def _day(d: dt.date) -> str:
    return d.strftime("%d %b %Y").lstrip("0")


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _reasons(reasons: dict[str, int], key: str) -> None:
    if reasons:
        st.dataframe(pd.DataFrame([{"Refused because": k, "Phones": v} for k, v in reasons.items()]),
                     hide_index=True, width="stretch", key=key)


def _sync_result(report: importer.ImportReport, key: str) -> None:
    groups = importer.summary(report)
    figures = [f for name in ("customers", "consent", "requests") for f in groups[name]]
    for start in range(0, len(figures), 4):
        for col, fig in zip(st.columns(4), figures[start:start + 4]):
            col.metric(fig.label, f"{fig.value:,}", help=fig.help)
    _reasons(report.request_reasons, f"{key}_reasons")
    if report.invalid or report.warnings:
        st.download_button(f"Download the {_plural(len(report.invalid), 'row')} not imported (CSV)",
                           data=report.errors_csv(),
                           file_name=f"{report.file_name.rsplit('.', 1)[0]}-not-imported.csv", mime="text/csv",
                           key=f"{key}_errors", icon=":material/download:")


def _last_sync_line(src, tz: str) -> str:
    c = src.last_counts or {}
    if src.last_sync_at is None:
        return "Not synced yet."
    parts = [f"Last sync {_when(src.last_sync_at, tz)}"]
    if c.get("file"):
        parts.append(ui.plain(str(c["file"])))
    if "created" in c:
        parts.append(f"{c.get('created', 0):,} new, {c.get('updated', 0):,} updated, "
                     f"{_plural(c.get('invalid', 0), 'row')} not imported")
        parts.append(f"requests: {c.get('requests_sent', 0):,} sent, {c.get('requests_queued', 0):,} queued, "
                     f"{c.get('requests_blocked', 0):,} refused")
    return " · ".join(parts)


st.title("Integrations", anchor=False)
st.caption("Your point-of-sale (POS) systems. Upload a POS customer export to sync its customers into Opt-In Desk. "
           "POS data never opts anyone in and never lifts an opt-out; a customer who has a phone number can get a "
           "double opt-in request when the date setting below is on.")
if st.session_state.get(FLASH):
    st.success(st.session_state.pop(FLASH), icon=":material/check_circle:")

with ui.session() as s:
    tz = texting.get_defaults(s).timezone
    sources = pos.list_sources(s)
    today = reports.local_today(s)

with st.popover("Add a POS source", icon=":material/add:"):
    new_name = st.text_input("Name", key="pos_new_name", placeholder="Dutchie",
                             help="The POS system's name, as you want to see it in reports and audiences.")
    if st.button("Add source", key="pos_add", type="primary"):
        try:
            with ui.session() as s:
                created = pos.create_source(s, name=new_name, by=ui.actor())
        except pos.PosError as exc:
            ui.show_error(exc)
        else:
            st.session_state[FLASH] = f"Added {ui.plain(created.name)}. Set its date, then upload its customer export."
            st.rerun()

if not sources:
    st.info("No POS source yet. Add one (Dutchie, Square, Treez, ...), then upload the customer export it makes.",
            icon=":material/sync:")
else:
    st.dataframe(pd.DataFrame([{
        "Source": r.name, "Last sync": _when(r.source.last_sync_at, tz), "Contacts synced": r.contacts,
        "Double opt-in request after": _day(r.source.request_after) if r.source.request_after else "off",
    } for r in sources]), hide_index=True, width="stretch", key="pos_table")

for r in sources:
    src = r.source
    sid = src.id
    with st.container(border=True, key=f"pos_src_{sid}"):
        # one row that keeps the button whole on a narrow screen (a fixed column cut it to "De…")
        head = st.container(horizontal=True, horizontal_alignment="distribute", vertical_alignment="center",
                            key=f"pos_head_{sid}")
        head.subheader(ui.plain(src.name), anchor=False)
        if head.button("Delete", key=f"pos_delete_{sid}", icon=":material/delete:"):
            st.session_state[CONFIRM_DELETE] = sid
        st.caption(f"{_plural(r.contacts, 'contact')} synced. {_last_sync_line(src, tz)}")
        if st.session_state.get(CONFIRM_DELETE) == sid:
            st.warning(f"Delete {ui.plain(src.name)}? Its list of synced contacts goes; the customers, their "
                       "consent history and messages stay.", icon=":material/warning:")
            y, n, _ = st.columns([1, 1, 3])
            if y.button("Yes, delete", key=f"pos_delete_yes_{sid}", type="primary"):
                with ui.session() as s:
                    pos.delete_source(s, source_id=sid, by=ui.actor())
                st.session_state.pop(CONFIRM_DELETE, None)
                st.session_state[FLASH] = f"Deleted {ui.plain(src.name)}."
                st.rerun()
            if n.button("Keep it", key=f"pos_delete_no_{sid}"):
                st.session_state.pop(CONFIRM_DELETE, None)
                st.rerun()

        left, right = st.columns(2, gap="large")
        with left:
            date_key = f"pos_date_{sid}"
            if date_key not in st.session_state:
                st.session_state[date_key] = src.request_after
            chosen = st.date_input(pos.LABEL, key=date_key, format="MM/DD/YYYY",
                                   help="Empty = off. Contacts first synced from this source on or after this date "
                                        "(midnight, your time zone) who are not opted in get one opt-in request. "
                                        "Pick an earlier date to go back in time and ask again.")
            if src.request_after:
                with ui.session() as s:
                    n = pos.contacts_synced_after(s, sid, src.request_after)
                st.caption(f"**On** since {_day(src.request_after)}: {n:,} of the {_plural(r.contacts, 'contact')} "
                           "were first synced after it. Requests respect quiet hours and the limit of 2 per phone.")
                if src.request_after > today:
                    st.warning(f"{_day(src.request_after)} has not started yet in your shop's time zone ({tz}; "
                               f"today is {_day(today)}): syncs send no requests until then. Pick today or an "
                               "earlier date to ask contacts now.", icon=":material/schedule:")
            else:
                st.caption("**Off**: syncs send no opt-in requests.")
            buttons = st.container(horizontal=True, key=f"pos_date_buttons_{sid}")
            if buttons.button("Save date", key=f"pos_date_save_{sid}", type="primary", disabled=chosen is None
                         or chosen == src.request_after):
                with ui.session() as s:
                    done = pos.set_request_after(s, sid, chosen, by=ui.actor())
                st.session_state[f"pos_reeval_{sid}"] = done
                st.session_state[FLASH] = (f"Saved: {ui.plain(src.name)} asks contacts synced after {_day(chosen)}. "
                                           f"{done.sent:,} requests sent now, {done.queued:,} queued for quiet hours, "
                                           f"{done.blocked:,} refused.")
                st.rerun()
            if buttons.button("Turn off", key=f"pos_date_off_{sid}", disabled=src.request_after is None):
                with ui.session() as s:
                    pos.set_request_after(s, sid, None, by=ui.actor())
                st.session_state.pop(date_key, None)
                st.session_state[FLASH] = f"Turned off: syncs of {ui.plain(src.name)} send no opt-in requests."
                st.rerun()
            reeval = st.session_state.get(f"pos_reeval_{sid}")
            if reeval is not None and reeval.reasons:
                st.caption("Refused when the date was saved:")
                _reasons(reeval.reasons, f"pos_reeval_reasons_{sid}")
        with right:
            export = st.file_uploader("Upload a POS customer export (CSV or Excel)", type=["csv", "txt", "tsv", "xlsx"],
                                      key=f"pos_file_{sid}", max_upload_size=importer.MAX_FILE_MB)
            if st.button("Sync", key=f"pos_sync_{sid}", type="primary", disabled=export is None,
                         icon=":material/sync:"):
                bar = st.progress(0.0, text="Reading the export")
                try:
                    with ui.session() as s:
                        report = pos.sync(s, by=ui.actor(), source_id=sid, file=export, file_name=export.name,
                                          progress=lambda f, t: bar.progress(min(1.0, f), text=t))
                except importer.NoPhoneColumn as exc:  # this page has no column mapping: say what to do here
                    bar.empty()
                    st.error(ui.plain(str(exc).replace(" Choose the phone column in the mapping.", "")) + " Rename the phone "
                             "column in the export to Phone and sync it again. Nothing was saved.",
                             icon=":material/error:")
                except importer.ImportProblem as exc:
                    bar.empty()
                    ui.show_error(exc)
                except Exception as exc:  # never a traceback on screen: logged, with its reference shown
                    bar.empty()
                    ui.apologise(exc, f"syncing {export.name}",
                                 advice="The sync stopped before the end. What was saved stays; sync the same "
                                        "export again to finish it (nobody is texted twice).")
                else:
                    st.session_state[f"pos_result_{sid}"] = report
                    st.rerun()
        result = st.session_state.get(f"pos_result_{sid}")
        if result is not None:
            st.markdown(f"**Sync of {ui.plain(result.file_name)}**")
            _sync_result(result, f"pos_result_{sid}")
