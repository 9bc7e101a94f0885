"""Settings > Import: bring an opt-in list from another provider, a spreadsheet or a POS export (§8)."""

from __future__ import annotations

import pandas as pd
import phonenumbers
import streamlit as st

import widgets
from core.importing import deactivation, page_model
from core.importing.cache import ImportCache
from core.importing.limits import MAX_FILE_MB
from core.importing.mapping import FIELDS, guess_mapping
from core.importing.reading import sniff
from core.importing.report import ImportProblem, ImportReport
from core.importing.service import dry_run, import_csv, run_errors_csv
from core.messaging import texting
from pages import ui

ui.require_page("import")

NONE = page_model.NONE
INFO, DRY, RESULT, FILE_ID = "import_info", "import_dry", "import_result", "import_file_id"
HISTORY = "import_history_cursors"  # keyset cursors of the history pages before the one shown (widgets.pager)
REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
INTERRUPTED = (
    "This stopped before the end: the database could not be reached. Try again; an import that was "
    "cut off finishes where it stopped when you import the same file again (nothing is imported or "
    "texted twice)."
)


def _map_key(field: str) -> str:
    return f"import_map_{field}"


def _figures(report: ImportReport, key: str) -> None:
    widgets.metric_grid(page_model.figures(report, requests=False))  # an import never sends a text
    found = page_model.problems(report)
    if found is None:
        return
    with st.expander(found.title, expanded=bool(report.invalid)):
        st.dataframe(
            pd.DataFrame(found.rows),
            hide_index=True,
            width="stretch",
            key=f"{key}_table",
            column_config={
                "Row": st.column_config.NumberColumn(width="small"),
                "Column": st.column_config.TextColumn(width="small"),
                "Reason": st.column_config.TextColumn(width="large"),
            },
        )
        if found.more:
            st.caption(f"The first {len(found.rows):,} are shown; the download has them all.")
        widgets.download(
            "Download these rows (CSV)",
            report.errors_csv(),
            file_name=page_model.errors_file_name(report.file_name),
            key=f"{key}_download",
        )


def _cache() -> ImportCache:
    """This browser session's import cache: the check's work is reused by the import that follows it."""
    if "import_cache" not in st.session_state:
        st.session_state["import_cache"] = ImportCache()
    return st.session_state["import_cache"]


def _run(action, first_words: str, upload, **options) -> ImportReport:
    """Run the check or the import with a progress bar; a problem is shown (never a traceback) and the
    page stops there."""
    bar = st.progress(0.0, text=first_words)
    try:
        # ImportProblem: what to fix in the file; anything else (the database went away, the disk filled
        # up...) is logged and the owner reads what to do
        with ui.guard(f"importing {upload.name}", advice=INTERRUPTED):
            with ui.session() as s:
                return action(
                    s,
                    upload,
                    file_name=upload.name,
                    cache=_cache(),
                    progress=lambda f, text: bar.progress(min(1.0, max(0.0, f)), text=text),
                    **options,
                )
    finally:
        bar.empty()
    st.stop()


st.title("Import", anchor=False)
st.caption(
    "Bring customers from another texting provider, a spreadsheet or a POS export. Check the file first: "
    "nothing changes until you click **Import**. Importing the same file again changes nothing."
)
st.caption(
    ":material/sms_failed: **An import never sends a text.** Imported customers keep the consent the file "
    "proves; to ask the others, send opt-in requests from Personas or Member Club."
)

with ui.session() as s:
    defaults = texting.get_defaults(s)
brand, tz = defaults.brand, defaults.timezone

tab_import, tab_deactivated, tab_history = st.tabs(["Import a file", "Deactivated numbers", "Import history"])

with tab_import:
    upload = st.file_uploader(
        "Customer file (CSV or Excel .xlsx)",
        type=["csv", "txt", "tsv", "xlsx"],
        key="import_file",
        max_upload_size=MAX_FILE_MB,
        help=f"Up to {MAX_FILE_MB} MB (about 2 million customers). Any encoding Excel or a provider "
        "uses; comma, semicolon or tab separated.",
    )
    if upload is None:
        for k in (INFO, DRY, FILE_ID):
            st.session_state.pop(k, None)
        st.info(
            "Upload the file your previous texting provider, your POS or your spreadsheet exports. We look for "
            "columns named **Phone** (or Mobile, Cell, SMS), **First name**, **Last name**, **Email** and an "
            "opt-in column (**SMS opt-in**, Subscribed, Consent, Status) or an opt-out column, and the old "
            "provider's **consent date** (Consented at, Opt-in date) and **source**, kept as evidence; you can "
            "change the choice before importing.",
            icon=":material/upload_file:",
        )
    else:
        if st.session_state.get(FILE_ID) != upload.file_id:  # a new file: read it, guess its columns
            st.session_state[FILE_ID] = upload.file_id
            st.session_state.pop(DRY, None)
            st.session_state.pop(RESULT, None)
            try:
                info = sniff(upload, file_name=upload.name, cache=_cache())
            except ImportProblem as exc:
                info = str(exc)
            st.session_state[INFO] = info
            if not isinstance(info, str):
                for field, header in guess_mapping(info.headers).items():
                    st.session_state[_map_key(field)] = header or NONE
                st.session_state["import_region"] = defaults.default_region
        info = st.session_state[INFO]
        if isinstance(info, str):
            st.error(widgets.plain(info), icon=":material/error:")
            st.stop()

        st.markdown(f"**{widgets.plain(info.name)}** · {widgets.plain(page_model.file_details(info))}")
        if info.header_looks_like_data:
            st.warning(
                "The first row looks like a customer, not column names. Add a header row (Phone, First "
                "name, ...) to the file, or the first customer will be skipped.",
                icon=":material/warning:",
            )
        st.dataframe(
            pd.DataFrame(info.preview, columns=info.headers), hide_index=True, width="stretch", key="import_preview"
        )

        st.subheader("Columns", anchor=False)
        st.caption("What each column holds. Columns not chosen here are ignored.")
        options = [NONE] + info.headers
        fields = list(FIELDS.items())
        for start in range(0, len(fields), 4):
            cols = st.columns(4)
            for col, (field, label) in zip(cols, fields[start : start + 4]):
                if st.session_state.get(_map_key(field)) not in options:
                    st.session_state[_map_key(field)] = NONE
                col.selectbox(label, options, key=_map_key(field))
        mapping = page_model.mapping({f: st.session_state[_map_key(f)] for f in FIELDS})

        st.subheader("Consent", anchor=False)
        region = st.columns([1, 2])[0].selectbox(
            "Country of phone numbers written without a country code",
            REGIONS,
            key="import_region",
            format_func=lambda r: f"{r} (+{phonenumbers.country_code_for_region(r)})",
        )
        may_attest = ui.can("attest_import")  # the owner's alone
        attested = (
            st.checkbox(
                f"These customers agreed to receive marketing texts from {widgets.plain(brand)}",
                key="import_attested",
                disabled=not may_attest,
                help="Tick only if you can show their consent. Without it, rows that say opted in "
                "import as not opted in. Rows that say opted out are always recorded."
                + ("" if may_attest else " Only the shop's owner can attest consent."),
            )
            and may_attest
        )
        settings = (upload.file_id, tuple(mapping.items()), region, attested)

        if mapping["phone"] is None:
            st.error("Choose the column that holds phone numbers.", icon=":material/error:")
            st.stop()
        if st.button(
            "Check the file",
            key="import_check",
            icon=":material/fact_check:",
            type="secondary" if st.session_state.get(DRY, (None,))[0] == settings else "primary",
        ):
            report = _run(
                dry_run, "Reading the file", upload, mapping=mapping, default_region=region, attested=attested
            )
            st.session_state[DRY] = (settings, report)
            st.session_state.pop(RESULT, None)

        result = st.session_state.get(RESULT)
        dry = st.session_state.get(DRY)
        if result is not None and result[0] == settings:
            report = result[1]
            st.success(
                f"Imported {widgets.plain(report.file_name)}: {report.created:,} new, {report.updated:,} updated, "
                f"{report.unchanged:,} unchanged.",
                icon=":material/check_circle:",
            )
            _figures(report, "import_report")
        elif dry is not None and dry[0] == settings:
            report = dry[1]
            st.subheader("Check result", anchor=False)
            st.caption("What the import will do. Nothing has changed yet.")
            _figures(report, "import_dry")
            if report.phones == 0:
                st.error("No row has a usable phone number: check the phone column above.", icon=":material/error:")
            elif st.button(
                f"Import {report.phones:,} customers", key="import_go", type="primary", icon=":material/upload:"
            ):
                done = _run(
                    import_csv,
                    "Importing",
                    upload,
                    mapping=mapping,
                    default_region=region,
                    attested=attested,
                    by=ui.actor(),
                )
                st.session_state[RESULT] = (settings, done)
                st.rerun()
        elif dry is not None:
            st.info("You changed the settings: check the file again before importing.", icon=":material/info:")

with tab_deactivated:
    st.caption(
        "Carriers publish the numbers they deactivated. A deactivated number is later given to someone "
        "else, so consent given before the deactivation date belonged to its previous owner: those "
        'customers become not opted in (shown in their consent history as "Number deactivated"). '
        "Consent given on or after the date stands. Nothing is texted."
    )
    deact = st.file_uploader(
        "Deactivation file (CSV or Excel: phone and deactivation date)",
        type=["csv", "txt", "tsv", "xlsx"],
        key="deact_file",
    )
    if deact is not None and st.button(
        "Apply the deactivation file", key="deact_go", type="primary", icon=":material/phonelink_erase:"
    ):
        try:
            with ui.session() as s:
                st.session_state["deact_report"] = deactivation.import_deactivations(
                    s, deact, file_name=deact.name, region=defaults.default_region, by=ui.actor()
                )
        except ui.OwnerError as exc:  # ImportProblem, NotAllowed
            ui.show_error(exc)
    dr = st.session_state.get("deact_report")
    if dr is not None:
        st.success(
            f"Applied {widgets.plain(dr.file_name)}: {dr.voided:,} consent{'s' if dr.voided != 1 else ''} voided, "
            f"{dr.kept_later:,} kept (given after the deactivation).",
            icon=":material/check_circle:",
        )
        c = st.columns(4)
        c[0].metric(
            "Voided", f"{dr.voided:,}", help="Opted in or pending before the deactivation date: now not opted in."
        )
        c[1].metric("Consent kept", f"{dr.kept_later:,}", help="Consent given on or after the deactivation date.")
        c[2].metric(
            "Nothing to void",
            f"{dr.nothing_to_void + dr.already:,}",
            help="Not opted in, opted out, or already applied by this file.",
        )
        c[3].metric("Not customers", f"{len(dr.unknown):,}", help="Numbers this shop doesn't know: nothing to do.")
        if dr.unknown or dr.invalid:
            st.caption(
                f"{len(dr.unknown):,} number{'s' if len(dr.unknown) != 1 else ''} in the file "
                f"{'are' if len(dr.unknown) != 1 else 'is'} not your customers (that's normal: carriers list "
                f"every deactivated number)"
                + (f"; {len(dr.invalid):,} row(s) could not be read." if dr.invalid else ".")
            )
            widgets.download(
                "Download the rows not applied (CSV)",
                dr.problems_csv(),
                file_name="deactivations-not-applied.csv",
                key="deact_download",
            )

with tab_history:
    with ui.session() as s:
        history = page_model.history_page(s, after=widgets.page_cursor(HISTORY), origin="csv_import")
        if not history.total:
            st.info(
                "No imports yet. Each import is listed here with its file, counts and the rows it could not import.",
                icon=":material/history:",
            )
        else:
            st.dataframe(
                pd.DataFrame(page_model.history_rows(history.runs, tz)),
                hide_index=True,
                width="stretch",
                key="import_history_table",
            )
            widgets.pager(
                "import_history",
                HISTORY,
                page_size=page_model.HISTORY_PAGE,
                shown=len(history.runs),
                total=history.total,
                next_after=history.next_after,
            )
            with_errors = page_model.with_errors(history.runs)
            if with_errors:
                c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
                chosen = c1.selectbox(
                    "Rows an import could not take",
                    with_errors,
                    key="import_history_run",
                    format_func=lambda r: page_model.run_label(r, tz),
                )
                engine, by, run_id = ui.engine(), ui.actor(), chosen.id

                def _errors_file() -> bytes:  # on the click: the download is recorded
                    with ui.Session(engine) as fresh:
                        return run_errors_csv(fresh, run_id, by=by)

                widgets.download(
                    "Download (CSV)",
                    _errors_file,
                    file_name=page_model.errors_file_name(chosen.file_name),
                    key="import_history_download",
                    container=c2,
                )
