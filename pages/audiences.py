"""Audiences: customers picked by conditions (all must hold), counted live, previewed, saved, exported."""

from __future__ import annotations

import datetime as dt

import streamlit as st
from sqlmodel import Session

from core import paging
from core.audiences import conditions as aud_conditions
from core.audiences import export as aud_export
from core.audiences import query as aud_query
from core.audiences import saved as aud_saved
from core.consent import age, optouts
from core.messaging import texting
from core.models import SmsStatus
from pages import ui
import widgets

ui.require_page("audiences")

ROWS = "aud_rows"  # the condition rows on screen: [{"id": n, "trait": key}, ...]
NEXT_ID = "aud_next_id"
LOADED = "aud_loaded"  # id of the saved audience being edited, or None
PAGES = "aud_pages"  # keyset cursors of the pages before the one shown
FLASH = "aud_flash"
SAVED_FLASH = "aud_saved_flash"
STATUS_OPTIONS = [s.value for s in SmsStatus]


def _new_row(trait_key: str = "opt_in_status") -> dict:
    st.session_state[NEXT_ID] = st.session_state.get(NEXT_ID, 0) + 1
    return {"id": st.session_state[NEXT_ID], "trait": trait_key}


def _wkey(row: dict, part: str) -> str:
    # widget keys carry the trait, so changing a row's trait starts its operator and value afresh
    return f"aud_{part}_{row['id']}_{row['trait']}"


def _put_values(row: dict, cond: dict) -> None:
    """Set a row's widgets to a (normalised) condition's operator and value."""
    st.session_state[_wkey(row, "op")] = cond["op"]
    kind = aud_conditions.TRAITS[cond["trait"]].ops[cond["op"]]
    v = cond["value"]
    vk = _wkey(row, "val") + "_" + cond["op"].replace(" ", "_")
    if kind == "date":
        st.session_state[vk] = dt.date.fromisoformat(v)
    elif kind == "dates":
        st.session_state[vk + "_a"], st.session_state[vk + "_b"] = (dt.date.fromisoformat(d) for d in v)
    elif kind is not None:
        st.session_state[vk] = v


def _set_conditions(conditions: list[dict]) -> None:
    st.session_state[NEXT_ID] = 0  # rows number from 1 again: stable keys after New audience or Load
    rows = []
    for cond in conditions:
        row = _new_row(cond["trait"])
        st.session_state[_wkey(row, "trait")] = cond["trait"]
        _put_values(row, cond)
        rows.append(row)
    st.session_state[ROWS] = rows
    st.session_state[PAGES] = []


def _start() -> None:
    _set_conditions([{"trait": "opt_in_status", "op": aud_conditions.IS_TRUE, "value": None}])
    st.session_state[LOADED] = None
    st.session_state["aud_name"] = ""


def _add_row() -> None:
    row = _new_row("opt_in_status")
    st.session_state[_wkey(row, "trait")] = "opt_in_status"
    st.session_state[ROWS].append(row)


def _remove_row(row_id: int) -> None:
    st.session_state[ROWS] = [r for r in st.session_state[ROWS] if r["id"] != row_id]


def _trait_changed(row_id: int) -> None:
    for row in st.session_state[ROWS]:
        if row["id"] == row_id:
            old = _wkey(row, "trait")
            new_trait = st.session_state[old]
            row["trait"] = new_trait
            st.session_state[_wkey(row, "trait")] = new_trait
            _put_values(row, aud_conditions.blank_condition(new_trait))


def _load() -> None:
    picked = st.session_state.get("aud_pick")
    if picked is None:
        return
    try:
        with ui.session() as s:
            saved = aud_saved.get_saved(s, picked)
            conditions = aud_saved.load_conditions(saved)
            name = saved.name
    except aud_conditions.AudienceError as exc:
        st.session_state[FLASH] = ("error", str(exc))
        return
    _set_conditions(conditions)
    st.session_state[LOADED] = picked
    st.session_state["aud_name"] = name
    st.session_state[FLASH] = ("success", f"Loaded “{widgets.plain(name)}”. Change the conditions, then Save changes.")


def _month_name(m: int) -> str:
    return aud_conditions.MONTHS[m - 1]


def _value_widget(row: dict, op: str, kind: str | None, sources: list[str]):
    vk = _wkey(row, "val") + "_" + op.replace(" ", "_")
    if kind is None:
        st.caption(aud_conditions.TRAITS[row["trait"]].help or " ")
        return None
    if kind == "statuses":
        st.session_state.setdefault(vk, [SmsStatus.opted_in.value])
        return st.multiselect(
            "Statuses",
            STATUS_OPTIONS,
            key=vk,
            label_visibility="collapsed",
            format_func=lambda v: SmsStatus(v).label,
            placeholder="Choose statuses",
        )
    if kind == "sources":
        chosen = st.session_state.get(vk, [])
        options = sources + [t for t in chosen if t not in sources]  # a deleted POS source stays visible
        return st.multiselect(
            "Sources",
            options,
            key=vk,
            label_visibility="collapsed",
            placeholder="Choose sources",
            format_func=lambda t: aud_conditions.source_token_label(t) + ("" if t in sources else " (deleted)"),
        )
    if kind == "date":
        st.session_state.setdefault(vk, dt.date.today())
        return st.date_input("Day", key=vk, label_visibility="collapsed", format="YYYY-MM-DD").isoformat()
    if kind == "dates":
        st.session_state.setdefault(vk + "_a", dt.date.today() - dt.timedelta(days=30))
        st.session_state.setdefault(vk + "_b", dt.date.today())
        a, b = st.columns(2)
        first = a.date_input("From", key=vk + "_a", format="YYYY-MM-DD")
        last = b.date_input("To", key=vk + "_b", format="YYYY-MM-DD")
        return [first.isoformat(), last.isoformat()]
    if kind == "month":
        st.session_state.setdefault(vk, dt.date.today().month)
        return st.selectbox("Month", list(range(1, 13)), key=vk, label_visibility="collapsed", format_func=_month_name)
    if kind == "months":
        st.session_state.setdefault(vk, [dt.date.today().month])
        return st.multiselect(
            "Months",
            list(range(1, 13)),
            key=vk,
            label_visibility="collapsed",
            format_func=_month_name,
            placeholder="Choose months",
        )
    if kind == "zip":
        return st.text_input("Zip code", key=vk, label_visibility="collapsed", placeholder="94110", max_chars=10)
    if kind == "days":
        st.session_state.setdefault(vk, 7)
        return st.number_input("Days", key=vk, min_value=0, max_value=36500, step=1, label_visibility="collapsed")
    raise AssertionError(kind)


# --- the page -------------------------------------------------------------------------------------------------

if ROWS not in st.session_state:
    _start()

st.title("Audiences", anchor=False)
st.caption(
    "Pick customers by conditions; a customer is in the audience when **every** condition holds. "
    "**Performed Event / Opt-in status is true** lists everyone who opted in; set it to **is false** "
    "for everyone else (not opted in, pending or opted out)."
)
widgets.flash(FLASH)

with ui.session() as s:
    saved_list = aud_saved.list_saved(s)
    sources = aud_conditions.source_options(s)
    defaults = texting.get_defaults(s)
    region, timezone = defaults.default_region, defaults.timezone

# --- saved audiences
with st.container(border=True, key="aud_saved_box"):
    names = {a.id: a.name for a in saved_list}
    if "aud_pick_next" in st.session_state:  # just saved: show it as the chosen one
        st.session_state["aud_pick"] = st.session_state.pop("aud_pick_next")
    if st.session_state.get("aud_pick") not in names:
        st.session_state["aud_pick"] = None
    c1, c2, c3, c4 = st.columns([4, 1.1, 1.7, 1.3], vertical_alignment="bottom")
    c1.selectbox(
        "Saved audiences",
        list(names),
        key="aud_pick",
        format_func=lambda i: names[i],
        placeholder="No saved audiences yet" if not names else "Choose a saved audience",
    )
    c2.button("Load", key="aud_load", on_click=_load, disabled=not names, icon=":material/folder_open:")
    c3.button("New audience", key="aud_new", on_click=_start, icon=":material/add:")
    with c4.popover("Delete", icon=":material/delete:", disabled=st.session_state.get("aud_pick") is None):
        pick = st.session_state.get("aud_pick")
        st.write(f"Delete the saved audience “{widgets.plain(names.get(pick, ''))}”? Its customers are not touched.")
        if st.button("Delete it", key="aud_delete", type="primary"):
            try:
                with ui.session() as s:
                    gone = aud_saved.delete_saved(s, pick, by=ui.actor())
            except ui.OwnerError as exc:  # AudienceError, NotAllowed
                ui.show_error(exc)
            else:
                if st.session_state.get(LOADED) == pick:
                    st.session_state[LOADED] = None
                st.session_state[FLASH] = ("success", f"Deleted “{widgets.plain(gone)}”.")
                st.rerun()

# --- conditions
st.subheader("Conditions", anchor=False)
conditions = []
for row in st.session_state[ROWS]:
    t = aud_conditions.TRAITS[row["trait"]]
    with st.container(key=f"aud_row_{row['id']}"):
        c1, c2, c3, c4 = st.columns([3, 2, 4, 0.6], vertical_alignment="top")
        tk = _wkey(row, "trait")
        st.session_state.setdefault(tk, row["trait"])
        c1.selectbox(
            "Trait",
            list(aud_conditions.TRAITS),
            key=tk,
            format_func=lambda k: aud_conditions.TRAITS[k].label,
            label_visibility="collapsed",
            on_change=_trait_changed,
            args=(row["id"],),
        )
        ok = _wkey(row, "op")
        if st.session_state.get(ok) not in t.ops:
            st.session_state[ok] = next(iter(t.ops))
        op = c2.selectbox("Operator", list(t.ops), key=ok, label_visibility="collapsed")
        with c3:
            value = _value_widget(row, op, t.ops[op], sources)
        c4.button(
            "",
            key=f"aud_remove_{row['id']}",
            icon=":material/close:",
            help="Remove this condition",
            on_click=_remove_row,
            args=(row["id"],),
        )
    conditions.append({"trait": row["trait"], "op": op, "value": value})
st.button("Add condition", key="aud_add", on_click=_add_row, icon=":material/add:")

# --- count, preview, save, export
try:
    clean, invalid = aud_conditions.normalize(conditions), ""
except aud_conditions.InvalidCondition as exc:
    # no count until the row is fixed; the name typed below and every other row stay as they are
    clean, invalid, total = None, str(exc), 0

if invalid:
    st.warning(f"{invalid} Fix it to see the count; nothing else is lost.", icon=":material/warning:")
else:
    with ui.session() as s:
        for warning in aud_saved.problems(s, clean):
            st.warning(warning, icon=":material/warning:")
        total = aud_query.count(s, clean)
        preview = aud_query.page(s, clean, after=widgets.page_cursor(PAGES, repr(clean)))

    st.metric("Customers in this audience", f"{total:,}")
    st.caption(widgets.plain(aud_conditions.describe(clean)))
    with ui.session() as s:
        required, hidden = age.min_age(s), age.unverified_count(s)
    if hidden:
        st.caption(
            f":material/cake: Age gate {required}+: {hidden:,} customer{'s' if hidden != 1 else ''} whose age "
            "is not verified (or who are under age) are left out of every audience and export."
        )

if not invalid and total == 0:
    st.info(
        "No customer matches all of these conditions. Remove a condition or widen one.",
        icon=":material/filter_alt_off:",
    )
elif not invalid:
    st.dataframe(
        aud_query.display_rows(preview.rows, region, timezone),
        key="aud_preview",
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(preview.rows), 560),
    )
    widgets.pager(
        "aud", PAGES, page_size=paging.PAGE_SIZE, shown=len(preview.rows), total=total, next_after=preview.next_cursor
    )

left, right = st.columns(2)
with left.container(border=True, key="aud_save_box"):
    loaded = st.session_state.get(LOADED)
    st.text_input("Audience name", key="aud_name", max_chars=aud_saved.MAX_NAME, placeholder="Opted-in regulars")
    b1, b2 = st.columns(2)
    as_new = b1.button(
        "Save as new",
        key="aud_save_new",
        icon=":material/save:",
        disabled=bool(invalid),
        type="primary" if loaded is None else "secondary",
    )
    changes = b2.button(
        "Save changes",
        key="aud_save",
        disabled=loaded is None or bool(invalid),
        icon=":material/save_as:",
        type="primary" if loaded is not None else "secondary",
    )
    if invalid:
        st.caption("Fix the condition above to save.")
    if as_new or changes:
        try:
            with ui.session() as s:
                row = aud_saved.save(
                    s,
                    by=ui.actor(),
                    name=st.session_state["aud_name"],
                    conditions=clean,
                    audience_id=loaded if changes else None,
                )
        except ui.OwnerError as exc:  # AudienceError, NotAllowed
            ui.show_error(exc)
        else:
            st.session_state[LOADED] = row.id
            st.session_state[SAVED_FLASH] = f"Saved “{widgets.plain(row.name)}” ({total:,} customers right now)."
            st.session_state["aud_pick_next"] = row.id
            st.rerun()
    if st.session_state.get(SAVED_FLASH):
        widgets.flash(SAVED_FLASH)
    elif loaded is not None and loaded in names:
        st.caption(
            f"Editing “{widgets.plain(names[loaded])}”. Save changes replaces its conditions; Save as new keeps it."
        )

with right.container(border=True, key="aud_export_box"):
    engine, by = ui.engine(), ui.actor()

    def _export_file() -> bytes:
        # runs when the button is clicked, on a thread of its own: its own session. The CSV is
        # built from the streamed chunks (Streamlit sends a download as one piece).
        with Session(engine) as s:
            return b"".join(aud_export.export_csv(s, clean, by=by))

    widgets.download(
        "Export CSV",
        _export_file,
        file_name="audience.csv",
        key="aud_export",
        disabled=bool(invalid) or total == 0,
        caption="Opens safely in a spreadsheet: a cell that starts with = + - @ gets a leading "
        "apostrophe so it is shown as text, never run as a formula. Phones are written as "
        "**tel:+14158675309**: the tel: prefix keeps the spreadsheet from turning the number "
        "into a plain number or a formula; everything after tel: is the phone in "
        "international (E.164) form.",
    )

    def _opt_out_file() -> bytes:
        with Session(engine) as s:
            return b"".join(optouts.export(s, by=by))

    widgets.download(
        "Export the opt-out list",
        _opt_out_file,
        file_name="opt-out-list.csv",
        key="aud_optouts",
        caption="Every opted-out phone with when, how and where they came from, for your other texting "
        "tools (whatever the conditions above say).",
    )
