"""Personas: every customer, searchable, 50 a page; one customer's consent, history and messages."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import streamlit as st

import widgets
from core.clock import shop_time
from pages import ui

ui.require_page("personas")

from core.consent import customers, deletion, optouts, personas  # noqa: E402

from core.consent import evidence
from core import paging  # noqa: E402
from core.models import OPT_OUT_CHANNELS, Channel, MessageStatus, SmsStatus, Source  # noqa: E402
from core.messaging.texting import get_defaults  # noqa: E402
from core.messaging import outbox  # noqa: E402

FLASH = "persona_flash"
CURSORS = "persona_cursors"  # keyset cursors of the pages before the one shown (widgets.pager)
OPT_OUT_ERROR = "persona_optout_error"  # (field, message) beside the input it is about


def _open(customer_id: int | None) -> None:
    if customer_id is None:
        st.query_params.pop("customer", None)
    else:
        st.query_params["customer"] = str(customer_id)


# --- the list ---------------------------------------------------------------------------


def _add_customer(s) -> None:
    with st.expander("Add a customer", icon=":material/person_add:"):
        st.caption(
            "Adds the customer as **not opted in**. To text them, send an opt-in request from their "
            "page: they join by replying Y or YES."
        )
        with st.form("persona_add", clear_on_submit=False, border=False):
            c1, c2, c3, c4 = st.columns(4)
            phone = c1.text_input("Mobile phone", key="persona_add_phone", placeholder="(415) 555-0123")
            first = c2.text_input("First name", key="persona_add_first")
            last = c3.text_input("Last name", key="persona_add_last")
            email = c4.text_input("Email (optional)", key="persona_add_email")
            if st.form_submit_button("Add customer", key="persona_add_submit", icon=":material/add:"):
                try:  # every problem at once (phone and details), so the owner fixes them in one go
                    c = personas.add(s, phone=phone, first_name=first, last_name=last, email=email, by=ui.actor())
                except ui.OwnerError as exc:  # InvalidDetails: one line per field; NotAllowed
                    ui.show_error(exc)
                else:
                    st.session_state[FLASH] = f"Added {widgets.plain(c.name) or 'the customer'}: not opted in yet."
                    _open(c.id)
                    st.rerun()


def _opt_out_list(s) -> None:
    with st.expander("Opt-out list", icon=":material/block:"):
        n = optouts.count(s)
        st.caption(
            f"{n:,} opted-out phone{'s' if n != 1 else ''}, with when, how and where they came from, for "
            "your other texting tools. Phones are written tel:+1..., safe to open in a spreadsheet."
        )
        if ui.can("export"):  # staff don't export
            engine, by = ui.engine(), ui.actor()

            def _file() -> bytes:  # on the click: the download is recorded in the activity trail
                with ui.Session(engine) as fresh:
                    return b"".join(optouts.export(fresh, by=by))

            widgets.download(
                "Download the opt-out list (CSV)",
                _file,
                file_name="opt-out-list.csv",
                key="persona_optouts",
                disabled=n == 0,
            )
        else:
            st.caption("Downloading it is for a manager or the owner.")
        held = optouts.suppressed_count(s)
        if held:
            st.caption(
                f"Not listed: {held:,} deleted customer{'s' if held != 1 else ''}, whose numbers were erased; "
                "they stay suppressed here."
            )


def show_list(s, region: str, timezone: str) -> None:
    widgets.flash(FLASH)
    c1, c2, c3 = st.columns([3, 2, 2], vertical_alignment="bottom")
    query = c1.text_input(
        "Search",
        key="persona_search",
        placeholder="Name, email or phone number",
        help="A phone in any format, or its last 4 or more digits. Names and emails match from their start.",
    )
    statuses = c2.multiselect(
        "SMS status", list(SmsStatus), key="persona_status", placeholder="Any status", format_func=lambda x: x.badge
    )
    sources = c3.multiselect(
        "Source", list(Source), key="persona_source", placeholder="Any source", format_func=lambda x: x.label
    )
    _add_customer(s)
    _opt_out_list(s)

    after = widgets.page_cursor(CURSORS, (query.strip(), tuple(statuses), tuple(sources)))
    filtered = bool(query.strip() or statuses or sources)
    total = personas.count(s, query=query, statuses=statuses, sources=sources, region=region)
    page = personas.search(s, query=query, statuses=statuses, sources=sources, after=after, region=region)
    if page.hint:
        st.info(page.hint, icon=":material/dialpad:")
        return
    if total == 0 and not filtered:
        st.info(
            "**No customers yet.** Customers arrive when they fill in your sign-up form (Settings > "
            "Sign-up Forms), text your Text To Join number, come in through a POS sync (Settings > "
            "Integrations) or an import from your previous provider (Settings > Import) — or add one "
            "by hand with **Add a customer** above.",
            icon=":material/group_add:",
        )
        return
    if not page.rows:
        st.info(
            "No customers match this search. Check the spelling, try part of the name, or the last "
            "4 digits of the phone number.",
            icon=":material/search_off:",
        )
        return

    first_n = widgets.page_start(CURSORS, paging.PAGE_SIZE)
    noun = "customer" if total == 1 else "customers"
    shown = f"{first_n:,}–{first_n + len(page.rows) - 1:,} of **{total:,}** {noun}"
    st.markdown(shown + (" matching" if filtered else ""))

    widths = [2, 1.5, 2.4, 1.5, 1.3, 1.3, 0.8]
    head = st.columns(widths)
    for col, label in zip(head, ["Name", "Phone", "Email", "Source", "Created", "SMS"]):
        col.markdown(f"**{label}**")
    for row in personas.table_rows(page.rows, region, timezone):
        cols = st.columns(widths, vertical_alignment="center")
        cols[0].text(row["name"])
        cols[1].text(row["phone"])
        cols[2].text(row["email"] or "—", wrap=False)
        cols[3].text(row["source"], wrap=False)
        cols[4].text(row["created"])
        cols[5].markdown(widgets.badge(row["status"]))
        cols[6].button("View", key=f"view_{row['id']}", on_click=_open, args=(row["id"],), type="tertiary")

    widgets.pager(
        "persona", CURSORS, page_size=paging.PAGE_SIZE, shown=len(page.rows), total=total, next_after=page.next_cursor
    )


# --- one customer -----------------------------------------------------------------------


def _request(customer_id: int) -> None:
    with ui.session() as s:
        done = personas.request_opt_in(s, customer_id, by=ui.actor())
    st.session_state[FLASH if done.ok else "persona_action_error"] = done.sentence


def _received_utc(customer_id: int, tz: str) -> dt.datetime | None:
    """The date and time the owner typed (the shop's local time) as UTC; None when left as they were."""
    day = st.session_state.get(f"persona_optout_day_{customer_id}")
    at = st.session_state.get(f"persona_optout_time_{customer_id}")
    if not isinstance(day, dt.date) or not isinstance(at, dt.time):
        return None
    return dt.datetime.combine(day, at, tzinfo=ZoneInfo(tz)).astimezone(dt.timezone.utc).replace(tzinfo=None)


def _opt_out(customer_id: int, tz: str) -> None:
    """Rulebook §10: an opt-out received by phone, email, in person, letter or web page, with when and who."""
    st.session_state.pop(OPT_OUT_ERROR, None)
    state = st.session_state
    with ui.session() as s:
        try:
            done = customers.record_revocation(
                s,
                customer_id=customer_id,
                channel=state.get(f"persona_optout_channel_{customer_id}"),
                received_at=_received_utc(customer_id, tz),
                by=ui.actor(),
                taken_by=state.get(f"persona_optout_by_{customer_id}", ""),
                reason=state.get(f"persona_optout_reason_{customer_id}", ""),
            )
        except customers.InvalidOptOut as exc:
            st.session_state[OPT_OUT_ERROR] = (exc.field, str(exc))
            return
        except ui.OwnerError as exc:  # CustomerError, NotAllowed
            st.session_state["persona_action_error"] = str(exc)
            return
        parts = ["Opt-out recorded. Nothing but a text of START from the customer can change it."]
        if done.deadline:
            parts.append(
                f"Recorded after the 10-business-day deadline ({done.deadline:%a %-d %b %Y})."
                if done.late
                else f"Within the 10-business-day deadline ({done.deadline:%a %-d %b %Y})."
            )
        msg = done.confirmation
        if msg is None:
            parts.append("No confirmation text (turned off in Texting Defaults).")
        elif msg.status is MessageStatus.sent:
            parts.append("One confirmation text went to the customer.")
        elif msg.status is MessageStatus.queued:
            parts.append(f"The confirmation text goes at {shop_time(msg.send_at, tz)} ({msg.reason}).")
        else:
            parts.append(f"No confirmation text: {msg.reason}.")
    st.session_state[FLASH] = " ".join(parts)
    for name in ("reason", "day", "time"):
        st.session_state.pop(f"persona_optout_{name}_{customer_id}", None)


def _delete(customer_id: int) -> None:
    with ui.session() as s:
        try:
            done = deletion.delete_customer_data(
                s,
                customer_id=customer_id,
                by=ui.actor(),
                reason=st.session_state.get(f"persona_delete_reason_{customer_id}", ""),
            )
        except ui.OwnerError as exc:  # AlreadyDeleted says when; NotAllowed
            st.session_state["persona_action_error"] = str(exc)
            return
    st.session_state[FLASH] = (
        f"Deleted: the customer's details, {done.messages:,} text{'s' if done.messages != 1 else ''} "
        f"and {done.events:,} consent event{'s' if done.events != 1 else ''} are gone. Their "
        "number stays suppressed: no import, POS sync or form can subscribe it again; only "
        "their own sign-up or START/YES text can."
    )
    st.query_params.pop("customer", None)


def _delete_section(c) -> None:
    with st.expander("Delete this customer's data", icon=":material/delete_forever:"):
        st.caption(
            "For a customer who asks to be forgotten. Their name, email, birthday, texts and consent history "
            "are deleted for good. What stays is a suppression record (a one-way code of the number, the "
            "date and the reason), so a later import or POS sync can't subscribe them again."
        )
        st.text_input(
            "Reason (optional)", key=f"persona_delete_reason_{c.id}", placeholder=deletion.DEFAULT_REASON, max_chars=500
        )
        sure = st.checkbox("Yes, delete this customer's data for good", key=f"persona_delete_sure_{c.id}")
        st.button(
            "Delete this customer's data",
            key="persona_delete",
            type="primary",
            icon=":material/delete:",
            disabled=not sure,
            on_click=_delete,
            args=(c.id,),
        )


def _details_form(s, v) -> None:
    c = v.customer
    with st.form(f"persona_details_{c.id}"):
        st.markdown("**Details**")
        a, b = st.columns(2)
        first = a.text_input("First name", value=c.first_name, key=f"persona_first_{c.id}", max_chars=100)
        last = b.text_input("Last name", value=c.last_name, key=f"persona_last_{c.id}", max_chars=100)
        email = st.text_input("Email", value=c.email, key=f"persona_email_{c.id}")
        a, b = st.columns(2)
        birthday = a.date_input(
            "Birthday",
            value=c.birthday,
            key=f"persona_birthday_{c.id}",
            min_value=dt.date(1900, 1, 1),
            max_value=dt.date.today(),
            format="YYYY-MM-DD",
        )
        zip_code = b.text_input("Zip code", value=c.zip, key=f"persona_zip_{c.id}", max_chars=10)
        st.text_input(
            "Mobile phone",
            value=v.phone_display,
            key=f"persona_phone_{c.id}",
            disabled=True,
            help="The phone can't be changed: a new number is a new customer without consent. "
            "Add it with **Add a customer** and send it an opt-in request.",
        )
        may_edit = ui.can("edit_customer")
        if not may_edit:
            st.caption("Your role can't change a customer's details: ask a manager or the owner.")
        if st.form_submit_button(
            "Save details", key=f"persona_save_{c.id}", icon=":material/save:", disabled=not may_edit
        ):
            try:
                customers.update_details(
                    s,
                    customer_id=c.id,
                    first_name=first,
                    last_name=last,
                    email=email,
                    birthday=birthday,
                    zip=zip_code,
                    by=ui.actor(),
                )
            except ui.OwnerError as exc:  # InvalidDetails: one line per field; NotAllowed
                ui.show_error(exc)
            else:
                st.session_state[FLASH] = "Details saved."
                st.rerun()


def _optout_error(field: str) -> None:
    found = st.session_state.get(OPT_OUT_ERROR)
    if found and found[0] == field:
        st.error(ui.plain(found[1]), icon=":material/error:")


def _optout_inputs(c, tz: str) -> None:
    """How, when and by whom the opt-out was received (§10); the date and time are the shop's."""
    now_local = dt.datetime.now(dt.timezone.utc).astimezone(ZoneInfo(tz))
    st.selectbox(
        "How did the customer ask?",
        [*OPT_OUT_CHANNELS, Channel.dashboard],
        key=f"persona_optout_channel_{c.id}",
        format_func=lambda ch: "Other (say why below)" if ch is Channel.dashboard else ch.label,
    )
    _optout_error("channel")
    a, b = st.columns(2)
    a.date_input("Received on", value=now_local.date(), key=f"persona_optout_day_{c.id}", format="YYYY-MM-DD")
    b.time_input(
        "At",
        value=now_local.time().replace(second=0, microsecond=0),
        step=dt.timedelta(minutes=1),
        key=f"persona_optout_time_{c.id}",
    )
    st.caption(f"Your shop's time ({tz}). The 10-business-day deadline counts from here.")
    _optout_error("received_at")
    me = ui.actor().name
    st.text_input(
        "Taken by",
        key=f"persona_optout_by_{c.id}",
        placeholder=f"You ({me})",
        max_chars=100,
        help="Who received the opt-out, if it wasn't you (e.g. a colleague who took the call). The "
        "activity trail names you as the one who entered it.",
    )
    _optout_error("by")
    st.text_input(
        "Note", key=f"persona_optout_reason_{c.id}", placeholder="e.g. called to say no more texts", max_chars=500
    )
    _optout_error("reason")


def _actions(s, v) -> None:
    c = v.customer
    tz = get_defaults(s).timezone
    with st.container(border=True):
        st.markdown("**Consent actions**")
        error = st.session_state.pop("persona_action_error", None)
        if error:
            st.error(error, icon=":material/error:")
        st.button(
            "Send opt-in request",
            key="persona_request",
            icon=":material/send:",
            type="primary",
            disabled=not v.can_request_opt_in,
            on_click=_request,
            args=(c.id,),
            width="stretch",
        )
        if v.request_refusal:
            st.caption(f"Can't send. {widgets.plain(v.request_refusal)}.")
        else:
            st.caption("Texts the opt-in request. The customer joins only by replying Y or YES.")
        st.divider()
        if v.can_record_opt_out:
            _optout_inputs(c, tz)
        st.button(
            "Record opt-out",
            key="persona_optout",
            icon=":material/block:",
            disabled=not v.can_record_opt_out,
            on_click=_opt_out,
            args=(c.id, tz),
            width="stretch",
        )
        if v.opt_out_refusal:
            st.caption(widgets.plain(v.opt_out_refusal))
        if ui.can("export"):
            st.divider()
            engine, by = ui.engine(), ui.actor()

            def _proof() -> bytes:  # runs on the click: the download is recorded in the activity trail
                with ui.Session(engine) as fresh:
                    return evidence.proof_of_consent_csv(fresh, c.id, by=by)

            st.download_button(
                "Download proof of consent (CSV)",
                key="persona_proof",
                icon=":material/download:",
                data=_proof,
                mime="text/csv",
                width="stretch",
                file_name=f"proof-of-consent-{c.phone.lstrip('+')}.csv",
            )
            st.caption("Every consent change with its evidence and who made it, for a carrier or an auditor.")
        if ui.can("delete_customer_data"):
            st.divider()
            _delete_section(c)


def _ledger(v) -> None:
    st.subheader("Consent history", anchor=False)
    if not v.ledger:
        st.caption("No consent events yet: this customer has never been asked or opted in.")
        return
    st.dataframe(
        v.ledger_rows,
        hide_index=True,
        width="stretch",
        key="persona_ledger",
        column_config={"Evidence": st.column_config.TextColumn(width="large")},
    )


def _thread(v) -> None:
    st.subheader("Messages", anchor=False)
    if not v.thread:
        st.caption("No texts with this customer yet.")
        return
    with st.container(height=420 if len(v.thread) > 3 else "content", key="persona_thread"):
        widgets.bubbles(v.thread, v.timezone)


def show_customer(s, customer_id: str) -> None:
    st.button(
        "All customers", key="persona_back", on_click=_open, args=(None,), icon=":material/arrow_back:", type="tertiary"
    )
    try:
        v = personas.view(s, int(customer_id))
    except (ValueError, customers.NotFound):
        gone = deletion.deleted_on(s, int(customer_id)) if str(customer_id).isdigit() else None
        if gone is not None:
            widgets.flash(FLASH)
            err = st.session_state.pop("persona_action_error", None)
            if err:
                st.error(err, icon=":material/error:")
            st.info(
                f"This customer's data was deleted on {gone.strftime('%d %b %Y').lstrip('0')}. Their number "
                "stays suppressed.",
                icon=":material/delete_forever:",
            )
        else:
            st.error("There is no such customer (it may have been a link to another shop).", icon=":material/error:")
        return
    widgets.flash(FLASH)
    c = v.customer
    ui.training_mark(f"viewed:{c.id}")  # walkthrough steps check what the trainee opened (training shop only)
    left, right = st.columns([3, 1.3], vertical_alignment="top")
    with left:
        st.markdown(f"## {widgets.plain(c.name) if c.name else '(no name)'}")
        st.caption(widgets.plain(v.headline))
    with right:
        st.markdown(f"### SMS {widgets.badge(v.status)}")
    st.info(
        widgets.plain(v.sentence),
        icon=":material/verified_user:" if v.status is SmsStatus.opted_in else ":material/info:",
    )
    if c.unreachable:  # live texting: the carrier said texts cannot reach this phone
        st.warning(ui.plain(outbox.unreachable_reason(c)) + ".", icon=":material/phonelink_erase:")
    a, b = st.columns([2, 1.3])
    with a:
        _details_form(s, v)
    with b:
        _actions(s, v)
    _ledger(v)
    _thread(v)


st.title("Personas", anchor=False)
with ui.session() as s:
    defaults = get_defaults(s)
    selected = st.query_params.get("customer")
    if selected:
        show_customer(s, selected)
    else:
        show_list(s, defaults.default_region, defaults.timezone)
