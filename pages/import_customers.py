"""Settings > Import: bring an opt-in list from another provider, a spreadsheet or a POS export (§8)."""

from __future__ import annotations

import pandas as pd
import phonenumbers
import streamlit as st

from core.importing import importer
from core.messaging import texting
from pages import ui

ui.require_page("import")

NONE = "— not in this file —"
INFO, DRY, RESULT, FILE_ID, OLDER = "import_info", "import_dry", "import_result", "import_file_id", "import_older"
REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
INTERRUPTED = ("This stopped before the end: the database could not be reached. Try again; an import that was "
               "cut off finishes where it stopped when you import the same file again (nothing is imported or "
               "texted twice).")


def _map_key(field: str) -> str:
    return f"import_map_{field}"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _figures(report: importer.ImportReport, key: str, requests: bool) -> None:
    groups = importer.summary(report)
    figures = [f for name in ("customers", "consent") + (("requests",) if requests else ()) for f in groups[name]]
    for start in range(0, len(figures), 4):
        for col, fig in zip(st.columns(4), figures[start:start + 4]):
            col.metric(fig.label, f"{fig.value:,}", help=fig.help)
    if report.invalid or report.warnings:
        title = _plural(len(report.invalid), "row") + " not imported"
        if report.warnings:
            title += ", " + _plural(len(report.warnings), "value") + " dropped"
        with st.expander(title, expanded=bool(report.invalid)):
            shown = sorted(report.invalid + report.warnings, key=lambda e: e.row)[:500]
            st.dataframe(pd.DataFrame([{"Row": e.row, "Column": e.column, "Value": e.value, "Reason": e.reason,
                                        "What happens": "imported without this value" if e.imported
                                        else "row not imported"} for e in shown]),
                         hide_index=True, width="stretch", key=f"{key}_table",
                         column_config={"Row": st.column_config.NumberColumn(width="small"),
                                        "Column": st.column_config.TextColumn(width="small"),
                                        "Reason": st.column_config.TextColumn(width="large")})
            if len(report.invalid) + len(report.warnings) > len(shown):
                st.caption(f"The first {len(shown):,} are shown; the download has them all.")
            st.download_button("Download these rows (CSV)", data=report.errors_csv(), mime="text/csv",
                               file_name=f"{report.file_name.rsplit('.', 1)[0]}-not-imported.csv",
                               key=f"{key}_download", icon=":material/download:")


def _run(action, first_words: str, upload, **options) -> importer.ImportReport:
    """Run the check or the import with a progress bar; a problem is shown (never a traceback) and the
    page stops there."""
    bar = st.progress(0.0, text=first_words)
    try:
        # ImportProblem: what to fix in the file; anything else (the database went away, the disk filled
        # up...) is logged and the owner reads what to do
        with ui.guard(f"importing {upload.name}", advice=INTERRUPTED):
            with ui.session() as s:
                return action(s, upload, file_name=upload.name,
                              progress=lambda f, text: bar.progress(min(1.0, max(0.0, f)), text=text), **options)
    finally:
        bar.empty()
    st.stop()


st.title("Import", anchor=False)
st.caption("Bring customers from another texting provider, a spreadsheet or a POS export. Check the file first: "
           "nothing changes until you click **Import**. Importing the same file again changes nothing.")

with ui.session() as s:
    defaults = texting.get_defaults(s)
brand, tz = defaults.brand, defaults.timezone

tab_import, tab_history = st.tabs(["Import a file", "Import history"])

with tab_import:
    upload = st.file_uploader(
        "Customer file (CSV or Excel .xlsx)", type=["csv", "txt", "tsv", "xlsx"], key="import_file",
        max_upload_size=importer.MAX_FILE_MB,
        help=f"Up to {importer.MAX_FILE_MB} MB (about 2 million customers). Any encoding Excel or a provider "
             "uses; comma, semicolon or tab separated.")
    if upload is None:
        for k in (INFO, DRY, FILE_ID):
            st.session_state.pop(k, None)
        st.info("Upload the file your previous texting provider, your POS or your spreadsheet exports. We look for "
                "columns named **Phone** (or Mobile, Cell, SMS), **First name**, **Last name**, **Email** and an "
                "opt-in column (**SMS opt-in**, Subscribed, Consent, Status) or an opt-out column; you can change "
                "the choice before importing.", icon=":material/upload_file:")
    else:
        if st.session_state.get(FILE_ID) != upload.file_id:  # a new file: read it, guess its columns
            st.session_state[FILE_ID] = upload.file_id
            st.session_state.pop(DRY, None)
            st.session_state.pop(RESULT, None)
            try:
                info = importer.sniff(upload, file_name=upload.name)
            except importer.ImportProblem as exc:
                info = str(exc)
            st.session_state[INFO] = info
            if not isinstance(info, str):
                for field, header in importer.guess_mapping(info.headers).items():
                    st.session_state[_map_key(field)] = header or NONE
                st.session_state["import_region"] = defaults.default_region
        info = st.session_state[INFO]
        if isinstance(info, str):
            st.error(ui.plain(info), icon=":material/error:")
            st.stop()

        kind = "Excel workbook" if info.kind == "xlsx" else f"{info.encoding}, {info.delimiter_name}-separated"
        size = (f"{info.size / 1024 / 1024:,.1f} MB" if info.size >= 1024 * 1024
                else f"{info.size / 1024:,.0f} KB" if info.size >= 1024 else _plural(info.size, "byte"))
        st.markdown(f"**{ui.plain(info.name)}** · {size} · {kind} · {len(info.headers)} columns")
        if info.header_looks_like_data:
            st.warning("The first row looks like a customer, not column names. Add a header row (Phone, First "
                       "name, ...) to the file, or the first customer will be skipped.", icon=":material/warning:")
        st.dataframe(pd.DataFrame(info.preview, columns=info.headers), hide_index=True, width="stretch",
                     key="import_preview")

        st.subheader("Columns", anchor=False)
        st.caption("What each column holds. Columns not chosen here are ignored.")
        options = [NONE] + info.headers
        fields = list(importer.FIELDS.items())
        for start in range(0, len(fields), 4):
            cols = st.columns(4)
            for col, (field, label) in zip(cols, fields[start:start + 4]):
                if st.session_state.get(_map_key(field)) not in options:
                    st.session_state[_map_key(field)] = NONE
                col.selectbox(label, options, key=_map_key(field))
        mapping = {f: (None if st.session_state[_map_key(f)] == NONE else st.session_state[_map_key(f)])
                   for f in importer.FIELDS}

        st.subheader("Consent", anchor=False)
        region = st.columns([1, 2])[0].selectbox(
            "Country of phone numbers written without a country code", REGIONS, key="import_region",
            format_func=lambda r: f"{r} (+{phonenumbers.country_code_for_region(r)})")
        may_attest = ui.can("attest_import")  # the owner's alone
        attested = st.checkbox(f"These customers agreed to receive marketing texts from {ui.plain(brand)}",
                               key="import_attested", disabled=not may_attest,
                               help="Tick only if you can show their consent. Without it, rows that say opted in "
                                    "import as not opted in. Rows that say opted out are always recorded."
                               + ("" if may_attest else " Only the shop's owner can attest consent.")) and may_attest
        send_requests = st.checkbox("Send a double opt-in request to imported customers who are not opted in",
                                    key="import_send_requests",
                                    help="At most 2 requests per phone, never 2 within 24 hours; outside "
                                         "08:00–20:00 customer time they wait for the morning.")
        settings = (upload.file_id, tuple(mapping.items()), region, attested, send_requests)

        if mapping["phone"] is None:
            st.error("Choose the column that holds phone numbers.", icon=":material/error:")
            st.stop()
        if st.button("Check the file", key="import_check", icon=":material/fact_check:",
                     type="secondary" if st.session_state.get(DRY, (None,))[0] == settings else "primary"):
            report = _run(importer.dry_run, "Reading the file", upload, mapping=mapping, default_region=region,
                          attested=attested, send_requests=send_requests)
            st.session_state[DRY] = (settings, report)
            st.session_state.pop(RESULT, None)

        result = st.session_state.get(RESULT)
        dry = st.session_state.get(DRY)
        if result is not None and result[0] == settings:
            report = result[1]
            st.success(f"Imported {ui.plain(report.file_name)}: {report.created:,} new, {report.updated:,} updated, "
                       f"{report.unchanged:,} unchanged.", icon=":material/check_circle:")
            _figures(report, "import_report", send_requests)
        elif dry is not None and dry[0] == settings:
            report = dry[1]
            st.subheader("Check result", anchor=False)
            st.caption("What the import will do. Nothing has changed yet.")
            _figures(report, "import_dry", send_requests)
            if report.phones == 0:
                st.error("No row has a usable phone number: check the phone column above.", icon=":material/error:")
            elif st.button(f"Import {report.phones:,} customers", key="import_go", type="primary",
                           icon=":material/upload:"):
                done = _run(importer.import_csv, "Importing", upload, mapping=mapping, default_region=region,
                            attested=attested, send_requests=send_requests, by=ui.actor())
                st.session_state[RESULT] = (settings, done)
                st.rerun()
        elif dry is not None:
            st.info("You changed the settings: check the file again before importing.", icon=":material/info:")

with tab_history:
    with ui.session() as s:
        runs = importer.history(s, limit=20, before_id=st.session_state.get(OLDER),
                                origin="csv_import")
        if not runs and st.session_state.get(OLDER) is None:
            st.info("No imports yet. Each import is listed here with its file, counts and the rows it could not "
                    "import.", icon=":material/history:")
        else:
            st.dataframe(pd.DataFrame(importer.history_rows(runs, tz)), hide_index=True, width="stretch",
                         key="import_history_table")
            with_errors = [r for r in runs if (r.counts or {}).get("invalid") or (r.counts or {}).get("warnings")]
            if with_errors:
                c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
                chosen = c1.selectbox("Rows an import could not take", with_errors, key="import_history_run",
                                      format_func=lambda r: f"{r.file_name} — {importer.local_time(r.started_at, tz)} "
                                                            f"({(r.counts or {}).get('invalid', 0):,} rows)")
                engine, by, run_id = ui.engine(), ui.actor(), chosen.id

                def _errors_file() -> bytes:  # on the click: the download is recorded
                    with ui.Session(engine) as fresh:
                        return importer.run_errors_csv(fresh, run_id, by=by)

                c2.download_button("Download (CSV)", data=_errors_file, mime="text/csv",
                                   file_name=f"{chosen.file_name.rsplit('.', 1)[0]}-not-imported.csv",
                                   key="import_history_download", icon=":material/download:")
            nav = st.columns([1, 1, 4])
            if len(runs) == 20 and nav[0].button("Older", key="import_history_older"):
                st.session_state[OLDER] = runs[-1].id
                st.rerun()
            if st.session_state.get(OLDER) is not None and nav[1].button("Newest", key="import_history_newest"):
                st.session_state.pop(OLDER, None)
                st.rerun()
