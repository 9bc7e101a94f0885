"""Settings > Integrations: POS sources, their double opt-in date setting, and syncs of their exports (§7)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import widgets
from core.importing import page_model, pos
from core.importing.limits import MAX_FILE_MB
from core.importing.report import ImportProblem, ImportReport, NoPhoneColumn
from core.reports import period
from core.messaging import texting
from pages import ui

ui.require_page("integrations")

FLASH = "pos_flash"
CONFIRM_DELETE = "pos_confirm_delete"


def _reasons(reasons: dict[str, int], key: str) -> None:
    if reasons:
        st.dataframe(
            pd.DataFrame([{"Refused because": k, "Phones": v} for k, v in reasons.items()]),
            hide_index=True,
            width="stretch",
            key=key,
        )


def _sync_result(report: ImportReport, key: str) -> None:
    widgets.metric_grid(page_model.sync_figures(report))
    _reasons(report.request_reasons, f"{key}_reasons")
    if report.invalid or report.warnings:
        widgets.download(
            f"Download the {page_model.plural(len(report.invalid), 'row')} not imported (CSV)",
            report.errors_csv(),
            file_name=page_model.errors_file_name(report.file_name),
            key=f"{key}_errors",
        )


st.title("Integrations", anchor=False)
st.caption(
    "Your point-of-sale (POS) systems. Upload a POS customer export to sync its customers into Opt-In Desk. "
    "POS data never opts anyone in and never lifts an opt-out; a customer who has a phone number can get a "
    "double opt-in request when the date setting below is on."
)
widgets.flash(FLASH)

with ui.session() as s:
    tz = texting.get_defaults(s).timezone
    sources = pos.list_sources(s)
    today = period.local_today(s)

with st.popover("Add a POS source", icon=":material/add:"):
    new_name = st.text_input(
        "Name",
        key="pos_new_name",
        placeholder="Dutchie",
        help="The POS system's name, as you want to see it in reports and audiences.",
    )
    if st.button("Add source", key="pos_add", type="primary"):
        try:
            with ui.session() as s:
                created = pos.create_source(s, name=new_name, by=ui.actor())
        except pos.PosError as exc:
            ui.show_error(exc)
        else:
            st.session_state[FLASH] = (
                f"Added {widgets.plain(created.name)}. Set its date, then upload its customer export."
            )
            st.rerun()

if not sources:
    st.info(
        "No POS source yet. Add one (Dutchie, Square, Treez, ...), then upload the customer export it makes.",
        icon=":material/sync:",
    )
else:
    st.dataframe(pd.DataFrame(page_model.source_rows(sources, tz)), hide_index=True, width="stretch", key="pos_table")

for r in sources:
    src = r.source
    sid = src.id
    with st.container(border=True, key=f"pos_src_{sid}"):
        # one row that keeps the button whole on a narrow screen (a fixed column cut it to "De…")
        head = st.container(
            horizontal=True, horizontal_alignment="distribute", vertical_alignment="center", key=f"pos_head_{sid}"
        )
        head.subheader(widgets.plain(src.name), anchor=False)
        if head.button("Delete", key=f"pos_delete_{sid}", icon=":material/delete:"):
            st.session_state[CONFIRM_DELETE] = sid
        st.caption(
            widgets.plain(f"{page_model.plural(r.contacts, 'contact')} synced. {page_model.last_sync_line(src, tz)}")
        )
        if st.session_state.get(CONFIRM_DELETE) == sid:
            st.warning(
                f"Delete {widgets.plain(src.name)}? Its list of synced contacts goes; the customers, their "
                "consent history and messages stay.",
                icon=":material/warning:",
            )
            y, n, _ = st.columns([1, 1, 3])
            if y.button("Yes, delete", key=f"pos_delete_yes_{sid}", type="primary"):
                with ui.session() as s:
                    pos.delete_source(s, source_id=sid, by=ui.actor())
                st.session_state.pop(CONFIRM_DELETE, None)
                st.session_state[FLASH] = f"Deleted {widgets.plain(src.name)}."
                st.rerun()
            if n.button("Keep it", key=f"pos_delete_no_{sid}"):
                st.session_state.pop(CONFIRM_DELETE, None)
                st.rerun()

        left, right = st.columns(2, gap="large")
        with left:
            date_key = f"pos_date_{sid}"
            if date_key not in st.session_state:
                st.session_state[date_key] = src.request_after
            chosen = st.date_input(
                pos.LABEL,
                key=date_key,
                format="MM/DD/YYYY",
                help="Empty = off. Contacts first synced from this source on or after this date "
                "(midnight, your time zone) who are not opted in get one opt-in request. "
                "Pick an earlier date to go back in time and ask again.",
            )
            if src.request_after:
                with ui.session() as s:
                    n = pos.contacts_synced_after(s, sid, src.request_after)
                st.caption(page_model.date_on_sentence(src.request_after, n, r.contacts))
                if warning := page_model.future_date_warning(src.request_after, today, tz):
                    st.warning(warning, icon=":material/schedule:")
            else:
                st.caption("**Off**: syncs send no opt-in requests.")
            buttons = st.container(horizontal=True, key=f"pos_date_buttons_{sid}")
            if buttons.button(
                "Save date",
                key=f"pos_date_save_{sid}",
                type="primary",
                disabled=chosen is None or chosen == src.request_after,
            ):
                with ui.session() as s:
                    done = pos.set_request_after(s, sid, chosen, by=ui.actor())
                st.session_state[f"pos_reeval_{sid}"] = done
                st.session_state[FLASH] = widgets.plain(page_model.date_saved_sentence(src.name, chosen, done))
                st.rerun()
            if buttons.button("Turn off", key=f"pos_date_off_{sid}", disabled=src.request_after is None):
                with ui.session() as s:
                    pos.set_request_after(s, sid, None, by=ui.actor())
                st.session_state.pop(date_key, None)
                st.session_state[FLASH] = f"Turned off: syncs of {widgets.plain(src.name)} send no opt-in requests."
                st.rerun()
            reeval = st.session_state.get(f"pos_reeval_{sid}")
            if reeval is not None and reeval.reasons:
                st.caption("Refused when the date was saved:")
                _reasons(reeval.reasons, f"pos_reeval_reasons_{sid}")
        with right:
            export = st.file_uploader(
                "Upload a POS customer export (CSV or Excel)",
                type=["csv", "txt", "tsv", "xlsx"],
                key=f"pos_file_{sid}",
                max_upload_size=MAX_FILE_MB,
            )
            if st.button(
                "Sync", key=f"pos_sync_{sid}", type="primary", disabled=export is None, icon=":material/sync:"
            ):
                bar = st.progress(0.0, text="Reading the export")
                try:
                    with ui.session() as s:
                        report = pos.sync(
                            s,
                            by=ui.actor(),
                            source_id=sid,
                            file=export,
                            file_name=export.name,
                            progress=lambda f, t: bar.progress(min(1.0, f), text=t),
                        )
                except NoPhoneColumn as exc:  # this page has no column mapping: say what to do here
                    bar.empty()
                    st.error(
                        widgets.plain(str(exc).replace(" Choose the phone column in the mapping.", ""))
                        + " Rename the phone "
                        "column in the export to Phone and sync it again. Nothing was saved.",
                        icon=":material/error:",
                    )
                except ImportProblem as exc:
                    bar.empty()
                    ui.show_error(exc)
                except Exception as exc:  # never a traceback on screen: logged, with its reference shown
                    bar.empty()
                    ui.apologise(
                        exc,
                        f"syncing {export.name}",
                        advice="The sync stopped before the end. What was saved stays; sync the same "
                        "export again to finish it (nobody is texted twice).",
                    )
                else:
                    st.session_state[f"pos_result_{sid}"] = report
                    st.rerun()
        result = st.session_state.get(f"pos_result_{sid}")
        if result is not None:
            st.markdown(f"**Sync of {widgets.plain(result.file_name)}**")
            _sync_result(result, f"pos_result_{sid}")
