"""Personas: every customer, searchable, 50 a page; one customer's consent, history and messages."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from pages import conversation, ui

ui.require_page("personas")

from core.consent import customers, personas
from core import phones  # noqa: E402
from core.models import Channel, MessageStatus, SmsStatus, Source  # noqa: E402
from core.messaging.texting import get_defaults  # noqa: E402

FLASH = "persona_flash"
CURSORS = "persona_cursors"  # keyset cursors of the pages before this one: [None, c1, c2, ...]
FILTER_SIG = "persona_filter_sig"
CHANNEL_LABELS = {
    Channel.sms_reply: "Text from the customer",
    Channel.signup_form: "Sign-up form",
    Channel.text_to_join: "Text To Join",
    Channel.csv_import: "CSV import",
    Channel.pos_sync: "POS sync",
    Channel.dashboard: "Dashboard (the shop)",
}


def _open(customer_id: int | None) -> None:
    if customer_id is None:
        st.query_params.pop("customer", None)
    else:
        st.query_params["customer"] = str(customer_id)


def _flash() -> None:
    msg = st.session_state.pop(FLASH, None)
    if msg:
        st.success(msg, icon=":material/check_circle:")


_when = conversation.when


# --- the list ---------------------------------------------------------------------------

def _add_problems(s, *, phone: str, **details) -> dict[str, str]:
    """What is wrong with a customer about to be added: the phone and each detail, all at once."""
    problems: dict[str, str] = {}
    try:
        phones.normalize_mobile(phone, get_defaults(s).default_region)
    except phones.NotAMobile as exc:
        problems["phone"] = exc.sentence
    except phones.InvalidPhone as exc:
        problems["phone"] = ("Type the customer's mobile phone number." if exc.reason == "empty"
                             else f"That phone number can't be used: {exc.reason}.")
    try:
        customers.validate_details(**details)
    except customers.InvalidDetails as exc:
        problems.update(exc.errors)
    return problems


def _add_customer(s) -> None:
    with st.expander("Add a customer", icon=":material/person_add:"):
        st.caption("Adds the customer as **not opted in**. To text them, send an opt-in request from their "
                   "page: they join by replying Y or YES.")
        with st.form("persona_add", clear_on_submit=False, border=False):
            c1, c2, c3, c4 = st.columns(4)
            phone = c1.text_input("Mobile phone", key="persona_add_phone", placeholder="(415) 555-0123")
            first = c2.text_input("First name", key="persona_add_first")
            last = c3.text_input("Last name", key="persona_add_last")
            email = c4.text_input("Email (optional)", key="persona_add_email")
            if st.form_submit_button("Add customer", key="persona_add_submit", icon=":material/add:"):
                # every problem at once (phone and details), so the owner fixes them in one go
                problems = _add_problems(s, phone=phone, first_name=first, last_name=last, email=email)
                try:
                    if problems:
                        raise customers.InvalidDetails(problems)
                    c = customers.add_customer(s, phone=phone, first_name=first, last_name=last, email=email,
                                               by=ui.actor())
                except phones.InvalidPhone as exc:
                    st.error(f"That phone number can't be used: {exc.reason}.", icon=":material/error:")
                except ui.OwnerError as exc:  # InvalidDetails: one line per field; NotAllowed
                    ui.show_error(exc)
                else:
                    st.session_state[FLASH] = f"Added {ui.plain(c.name) or 'the customer'}: not opted in yet."
                    _open(c.id)
                    st.rerun()


def _pager_reset_if_filters_changed(sig) -> None:
    if st.session_state.get(FILTER_SIG) != sig or CURSORS not in st.session_state:
        st.session_state[FILTER_SIG] = sig
        st.session_state[CURSORS] = [None]


def _next(cursor) -> None:
    st.session_state[CURSORS].append(cursor)


def _previous() -> None:
    if len(st.session_state[CURSORS]) > 1:
        st.session_state[CURSORS].pop()


def show_list(s, region: str) -> None:
    _flash()
    c1, c2, c3 = st.columns([3, 2, 2], vertical_alignment="bottom")
    query = c1.text_input("Search", key="persona_search", placeholder="Name, email or phone number",
                          help="A phone in any format, or its last 4 or more digits. Names and emails match "
                               "from their start.")
    statuses = c2.multiselect("SMS status", list(SmsStatus), key="persona_status", placeholder="Any status",
                              format_func=lambda x: x.badge)
    sources = c3.multiselect("Source", list(Source), key="persona_source", placeholder="Any source",
                             format_func=lambda x: x.label)
    _add_customer(s)

    sig = (query.strip(), tuple(statuses), tuple(sources))
    _pager_reset_if_filters_changed(sig)
    stack = st.session_state[CURSORS]
    filtered = bool(query.strip() or statuses or sources)
    total = personas.count(s, query=query, statuses=statuses, sources=sources, region=region)
    page = personas.search(s, query=query, statuses=statuses, sources=sources, after=stack[-1], region=region)
    if page.hint:
        st.info(page.hint, icon=":material/dialpad:")
        return
    if total == 0 and not filtered:
        st.info("**No customers yet.** Customers arrive when they fill in your sign-up form (Settings > "
                "Sign-up Forms), text your Text To Join number, come in through a POS sync (Settings > "
                "Integrations) or an import from your previous provider (Settings > Import) — or add one "
                "by hand with **Add a customer** above.", icon=":material/group_add:")
        return
    if not page.rows:
        st.info("No customers match this search. Check the spelling, try part of the name, or the last "
                "4 digits of the phone number.", icon=":material/search_off:")
        return

    first_n = (len(stack) - 1) * personas.PAGE_SIZE + 1
    noun = "customer" if total == 1 else "customers"
    shown = f"{first_n:,}–{first_n + len(page.rows) - 1:,} of **{total:,}** {noun}"
    st.markdown(shown + (" matching" if filtered else ""))

    widths = [2, 1.5, 2.4, 1.5, 1.3, 1.3, 0.8]
    head = st.columns(widths)
    for col, label in zip(head, ["Name", "Phone", "Email", "Source", "Created", "SMS"]):
        col.markdown(f"**{label}**")
    for row in personas.table_rows(page.rows, region):
        cols = st.columns(widths, vertical_alignment="center")
        cols[0].text(row["name"])
        cols[1].text(row["phone"])
        cols[2].text(row["email"] or "—", wrap=False)
        cols[3].text(row["source"], wrap=False)
        cols[4].text(row["created"])
        cols[5].markdown(ui.badge(row["status"]))
        cols[6].button("View", key=f"view_{row['id']}", on_click=_open, args=(row["id"],), type="tertiary")

    p1, p2, p3 = st.columns([1, 1, 4], vertical_alignment="center")
    p1.button("Previous", key="persona_prev", on_click=_previous, disabled=len(stack) <= 1,
              icon=":material/chevron_left:")
    p2.button("Next", key="persona_next", on_click=_next, args=(page.next_cursor,), disabled=not page.has_more,
              icon=":material/chevron_right:", icon_position="right")
    p3.caption(f"Page {len(stack):,} of {max(1, -(-total // personas.PAGE_SIZE)):,}")


# --- one customer -----------------------------------------------------------------------

def _request(customer_id: int) -> None:
    with ui.session() as s:
        try:
            msg = customers.request_opt_in(s, customer_id=customer_id, by=ui.actor())
        except ui.OwnerError as exc:
            st.session_state["persona_action_error"] = str(exc)
            return
        if msg.status is MessageStatus.blocked:
            st.session_state["persona_action_error"] = f"Not sent: {msg.reason}."
        elif msg.status is MessageStatus.queued:
            st.session_state[FLASH] = f"Opt-in request queued: it goes out at {_when(msg.send_at)}."
        else:
            st.session_state[FLASH] = "Opt-in request sent: the customer is pending until they reply Y or YES."


def _opt_out(customer_id: int) -> None:
    reason = st.session_state.get(f"persona_optout_reason_{customer_id}", "")
    with ui.session() as s:
        try:
            customers.record_opt_out(s, customer_id=customer_id, reason=reason, by=ui.actor())
        except ui.OwnerError as exc:
            st.session_state["persona_action_error"] = str(exc)
            return
    st.session_state[FLASH] = "Opt-out recorded. Nothing but a text of START from the customer can change it."
    st.session_state[f"persona_optout_reason_{customer_id}"] = ""


def _details_form(s, v) -> None:
    c = v.customer
    with st.form(f"persona_details_{c.id}"):
        st.markdown("**Details**")
        a, b = st.columns(2)
        first = a.text_input("First name", value=c.first_name, key=f"persona_first_{c.id}", max_chars=100)
        last = b.text_input("Last name", value=c.last_name, key=f"persona_last_{c.id}", max_chars=100)
        email = st.text_input("Email", value=c.email, key=f"persona_email_{c.id}")
        a, b = st.columns(2)
        birthday = a.date_input("Birthday", value=c.birthday, key=f"persona_birthday_{c.id}",
                                min_value=dt.date(1900, 1, 1), max_value=dt.date.today(), format="YYYY-MM-DD")
        zip_code = b.text_input("Zip code", value=c.zip, key=f"persona_zip_{c.id}", max_chars=10)
        st.text_input("Mobile phone", value=v.phone_display, key=f"persona_phone_{c.id}", disabled=True,
                      help="The phone can't be changed: a new number is a new customer without consent. "
                           "Add it with **Add a customer** and send it an opt-in request.")
        may_edit = ui.can("edit_customer")
        if not may_edit:
            st.caption("Your role can't change a customer's details: ask a manager or the owner.")
        if st.form_submit_button("Save details", key=f"persona_save_{c.id}", icon=":material/save:",
                                 disabled=not may_edit):
            try:
                customers.update_details(s, customer_id=c.id, first_name=first, last_name=last, email=email,
                                         birthday=birthday, zip=zip_code, by=ui.actor())
            except ui.OwnerError as exc:  # InvalidDetails: one line per field; NotAllowed
                ui.show_error(exc)
            else:
                st.session_state[FLASH] = "Details saved."
                st.rerun()


def _actions(s, v) -> None:
    c = v.customer
    with st.container(border=True):
        st.markdown("**Consent actions**")
        error = st.session_state.pop("persona_action_error", None)
        if error:
            st.error(error, icon=":material/error:")
        st.button("Send opt-in request", key="persona_request", icon=":material/send:", type="primary",
                  disabled=not v.can_request_opt_in, on_click=_request, args=(c.id,), width="stretch")
        if v.request_refusal:
            st.caption(f"Can't send. {ui.plain(v.request_refusal)}.")
        else:
            st.caption("Texts the opt-in request. The customer joins only by replying Y or YES.")
        st.divider()
        if v.can_record_opt_out:
            st.text_input("Reason for the opt-out", key=f"persona_optout_reason_{c.id}",
                          placeholder="e.g. asked in store not to be texted", max_chars=500)
        st.button("Record opt-out", key="persona_optout", icon=":material/block:",
                  disabled=not v.can_record_opt_out, on_click=_opt_out, args=(c.id,), width="stretch")
        if v.opt_out_refusal:
            st.caption(ui.plain(v.opt_out_refusal))
        if ui.can("export"):
            st.divider()
            engine, by = ui.engine(), ui.actor()

            def _proof() -> bytes:  # runs on the click: the download is recorded in the activity trail
                with ui.Session(engine) as fresh:
                    return customers.proof_of_consent_csv(fresh, c.id, by=by)

            st.download_button("Download proof of consent (CSV)", key="persona_proof", icon=":material/download:",
                               data=_proof, mime="text/csv", width="stretch",
                               file_name=f"proof-of-consent-{c.phone.lstrip('+')}.csv")
            st.caption("Every consent change with its evidence and who made it, for a carrier or an auditor.")


def _ledger(v) -> None:
    st.subheader("Consent history", anchor=False)
    if not v.ledger:
        st.caption("No consent events yet: this customer has never been asked or opted in.")
        return
    rows = []
    for event, evidence in v.ledger:
        old = event.old_status.label if event.old_status else "—"
        rows.append({"When": _when(event.occurred_at), "Change": f"{old} → {event.new_status.label}",
                     "How": CHANNEL_LABELS.get(Channel(event.channel), str(event.channel)), "Evidence": evidence})
    st.dataframe(rows, hide_index=True, width="stretch", key="persona_ledger",
                 column_config={"Evidence": st.column_config.TextColumn(width="large")})


def _thread(v) -> None:
    st.subheader("Messages", anchor=False)
    if not v.thread:
        st.caption("No texts with this customer yet.")
        return
    with st.container(height=420 if len(v.thread) > 3 else "content", key="persona_thread"):
        conversation.bubbles(v.thread)


def show_customer(s, customer_id: str) -> None:
    st.button("All customers", key="persona_back", on_click=_open, args=(None,), icon=":material/arrow_back:",
              type="tertiary")
    try:
        v = personas.view(s, int(customer_id))
    except (ValueError, customers.NotFound):
        st.error("There is no such customer (it may have been a link to another shop).", icon=":material/error:")
        return
    _flash()
    c = v.customer
    ui.training_mark(f"viewed:{c.id}")  # walkthrough steps check what the trainee opened (training shop only)
    left, right = st.columns([3, 1.3], vertical_alignment="top")
    with left:
        st.markdown(f"## {ui.plain(c.name) if c.name else '(no name)'}")
        added = c.created_at.strftime("%d %b %Y").lstrip("0") if c.created_at else ""
        st.caption(ui.plain(f"{v.phone_display} · {v.source_label} · added {added}"))
    with right:
        st.markdown(f"### SMS {ui.badge(v.status)}")
    st.info(ui.plain(v.sentence), icon=":material/verified_user:" if v.status is SmsStatus.opted_in
            else ":material/info:")
    a, b = st.columns([2, 1.3])
    with a:
        _details_form(s, v)
    with b:
        _actions(s, v)
    _ledger(v)
    _thread(v)


st.title("Personas", anchor=False)
with ui.session() as s:
    region = get_defaults(s).default_region
    selected = st.query_params.get("customer")
    if selected:
        show_customer(s, selected)
    else:
        show_list(s, region)
