"""Inbox: text the shop as any customer and watch the rulebook act; possible opt-outs; the message log."""

from __future__ import annotations

import datetime as dt
import zlib

import streamlit as st

from pages import conversation, ui

ui.require_page("inbox")

from core.consent import customers, personas
from core.messaging import inbox, messages, outbox
from core import phones  # noqa: E402
from core.models import Customer, Direction, MessageKind, MessageStatus, SmsStatus  # noqa: E402
from core.messaging.texting import get_defaults  # noqa: E402

QUICK_REPLIES = ("YES", "STOP", "START", "HELP")
LOG_CURSORS = "log_cursors"
LOG_SIG = "log_filter_sig"


_when = conversation.when


def _sender_phone(s) -> str:
    """The phone the simulator texts from: the picked customer's, or the number typed."""
    if st.session_state.get("inbox_mode", "customer") == "customer":
        picked = st.session_state.get("inbox_customer")
        c = s.get(Customer, picked) if picked else None
        return c.phone if c else ""
    return str(st.session_state.get("inbox_phone", "") or "").strip()


def _not_a_phone(typed: str, reason: str) -> str:
    """A sentence for a phone the simulator cannot text from (the typed message stays in its box)."""
    reason = (reason or "").strip().rstrip(".")
    why = "" if not reason or reason.lower() == "not a phone number" else f" ({reason})"
    return (f"That is not a phone number{why}: “{ui.plain(typed[:40])}”. Type a mobile number such as (415) 555-0199, "
            "or pick a customer.")


def _send(body: str | None = None) -> None:
    """Deliver one text from the simulated customer to the shop (a button callback)."""
    typed = body is None
    text = st.session_state.get("inbox_message", "") if typed else body
    st.session_state.pop("inbox_error", None)
    with ui.session() as s:
        phone = _sender_phone(s)
        if not phone:
            st.session_state["inbox_error"] = "Pick a customer, or type the phone number that texts the shop."
            return
        d = get_defaults(s)
        to = d.join_number if st.session_state.get("inbox_to", "main") == "join" else d.main_number
        try:
            out = inbox.receive(s, phone=phone, body=text, to=to, by=ui.actor())
        except phones.InvalidPhone as exc:
            st.session_state["inbox_error"] = _not_a_phone(phone, exc.reason)
            return
        except ui.OwnerError as exc:  # InvalidMessage, NotAllowed
            st.session_state["inbox_error"] = str(exc)
            return
    st.session_state["inbox_last"] = (f"Delivered. {len(out)} automatic repl{'y' if len(out) == 1 else 'ies'}."
                                      if out else "Delivered. No automatic reply: the rules log it only.")
    if typed:
        st.session_state["inbox_message"] = ""


def _customer_label(c: Customer, region: str) -> str:
    return f"{c.name or '(no name)'} · {phones.format_display(c.phone, region)} · {SmsStatus(c.sms_status).badge}"


def _who(s, region: str) -> None:
    mode = st.segmented_control("Text as", ["customer", "phone"], key="inbox_mode", default="customer",
                                format_func=lambda m: "A customer" if m == "customer" else "Any phone number",
                                selection_mode="single", required=True)
    if mode == "phone":
        st.text_input("Phone number", key="inbox_phone", placeholder="(415) 555-0199",
                      help="Any mobile number, in any format. A number the shop doesn't know becomes a customer "
                           "when its text asks to join (or is a keyword).")
        return
    a, b = st.columns([1, 2])
    query = a.text_input("Find a customer", key="inbox_find", placeholder="Name, email or phone")
    page = personas.search(s, query=query, limit=20, region=region)
    labels = {c.id: _customer_label(c, region) for c in page.rows}
    current = st.session_state.get("inbox_customer")
    if not query.strip() and current and current not in labels:  # keep the customer being texted listed
        c = s.get(Customer, current)
        if c is not None:
            labels = {c.id: _customer_label(c, region), **labels}
    # a new search is a new picker, so it opens on its first match
    key = "inbox_pick" if not query.strip() else f"inbox_pick_{zlib.crc32(query.strip().encode())}"
    picked = b.selectbox("Customer", list(labels), key=key, format_func=lambda i: labels.get(i, str(i)),
                         placeholder="No customer matches" if query else "No customers yet",
                         index=0 if labels else None)
    st.session_state["inbox_customer"] = picked
    if page.hint:
        a.caption(page.hint)


def _status(s, phone: str) -> None:
    try:
        e164 = phones.normalize(phone, get_defaults(s).default_region) if phone else ""
    except phones.InvalidPhone:
        e164 = ""
    c = customers.get_by_phone(s, e164) if e164 else None
    if c is None:
        if e164:
            st.markdown("**SMS** :gray-badge[new number]")
            st.caption("Not a customer yet. Texting the Text To Join number, Y/YES or START makes them one.")
        return
    s.refresh(c)
    events = customers.ledger(s, c.id)
    st.markdown(f"**{ui.plain(c.name) or '(no name)'}** &nbsp; **SMS** {ui.badge(c.sms_status)}")
    st.caption(ui.plain(customers.status_sentence(c, events[0] if events else None)))


def simulator(s, d, region: str) -> None:
    st.caption("Pretend to be a customer: text the shop and watch the consent rules answer. "
               "Nothing is really sent — every text is logged under Message log.")
    _who(s, region)
    st.radio("Texting the shop's", ["main", "join"], key="inbox_to", horizontal=True,
             format_func=lambda w: (f"Main number {phones.format_display(d.main_number, region)}" if w == "main"
                                    else f"Text To Join number {phones.format_display(d.join_number, region)}"))
    phone = _sender_phone(s)
    with st.container(border=True):
        _status(s, phone)
        thread = []
        if phone:
            try:
                thread = inbox.thread(s, phones.normalize(phone, region), limit=100)
            except phones.InvalidPhone:
                thread = []
        with st.container(height=380, key="inbox_conversation"):
            if thread:
                conversation.bubbles(thread)
            else:
                st.caption("No texts yet. Type one below, or tap a quick reply." if phone else
                           "Pick a customer (or type a phone number) to start a conversation.")
        error = st.session_state.pop("inbox_error", None)
        if error:
            st.error(error, icon=":material/error:")
        last = st.session_state.pop("inbox_last", None)
        if last:
            st.caption(last)
        a, b = st.columns([5, 1], vertical_alignment="bottom")
        a.text_input("Message", key="inbox_message", placeholder="Type what the customer texts, e.g. YES",
                     label_visibility="collapsed")
        b.button("Send", key="inbox_send", on_click=_send, icon=":material/send:", type="primary", width="stretch")
        quick = st.container(horizontal=True, key="inbox_quick")
        quick.caption("Quick replies:")
        for word in QUICK_REPLIES:
            quick.button(word, key=f"inbox_quick_{word}", on_click=_send, args=(word,))


# --- possible opt-outs ----------------------------------------------------------------------

def _decide(review_id: int, confirm: bool, override: bool = False) -> None:
    reason = st.session_state.get(f"review_reason_{review_id}", "")
    with ui.session() as s:
        try:
            inbox.decide_review(s, review_id=review_id, confirm=confirm, reason=reason, override=override,
                                by=ui.actor())
        except inbox.NewerConsent as exc:
            st.session_state[f"review_ask_again_{review_id}"] = str(exc)
            return
        except ui.OwnerError as exc:  # InvalidMessage, CustomerError, NotAllowed
            st.session_state[f"review_error_{review_id}"] = str(exc)
            return
    st.session_state["review_flash"] = ("Opt-out confirmed: the customer is opted out." if confirm
                                        else "Dismissed: the customer's status is unchanged.")


def reviews(s, region: str) -> None:
    st.caption("Texts that sound like an opt-out without being a keyword (\"please stop texting me\"). "
               "Decide each within 10 business days of receiving it: confirm to opt the customer out, "
               "or dismiss it with a reason.")
    flash = st.session_state.pop("review_flash", None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    waiting = inbox.pending_reviews(s, limit=100)
    if not waiting:
        st.info("Nothing to review: no possible opt-outs are waiting.", icon=":material/inbox:")
        return
    today = dt.datetime.now(dt.timezone.utc).date()
    for r in waiting:
        c = s.get(Customer, r.customer_id)
        due = messages.deadline_state(r.deadline, today)
        when = r.deadline.strftime("%d %b %Y").lstrip("0")
        badge = {"overdue": f":red-badge[Overdue: was due {when}]",
                 "due_soon": f":orange-badge[Due soon: {when}]"}.get(due.state, f":gray-badge[Decide by {when}]")
        with st.container(border=True, key=f"review_{r.id}"):
            # the deadline badge under the text, not in a narrow column: it stays whole on a small screen
            st.text(f"“{r.body}”")
            st.markdown(badge)
            who = f"{c.name if c and c.name else '(no name)'} · {phones.format_display(r.phone, region)}"
            st.caption(ui.plain(f"{who} · received {_when(r.received_at)}") + " · "
                       + (ui.badge(c.sms_status) if c else ""))
            err = st.session_state.pop(f"review_error_{r.id}", None)
            if err:
                st.error(err, icon=":material/error:")
            newer = inbox.newer_consent(s, r)
            if newer is not None:
                st.warning(ui.plain(f"Newer text: after this message the customer texted "
                                    f"“{(newer.evidence or {}).get('inbound_text', 'START')}” "
                                    f"({_when(newer.occurred_at)}) and is {newer.new_status.label} now."),
                           icon=":material/warning:")
            ask = st.session_state.pop(f"review_ask_again_{r.id}", None)
            if ask:
                st.warning(ui.plain(ask), icon=":material/help:")
                st.button("Confirm the opt-out anyway", key=f"review_override_{r.id}", on_click=_decide,
                          args=(r.id, True, True), type="primary", icon=":material/block:")
            row = st.container(horizontal=True, vertical_alignment="bottom", key=f"review_actions_{r.id}")
            row.button("Confirm opt-out", key=f"review_confirm_{r.id}", on_click=_decide, args=(r.id, True),
                       type="primary", icon=":material/block:")
            row.text_input("Reason to dismiss", key=f"review_reason_{r.id}",
                           placeholder="e.g. asked us to stop texting a different number")
            row.button("Dismiss", key=f"review_dismiss_{r.id}", on_click=_decide, args=(r.id, False))


# --- the message log ---------------------------------------------------------------------------

def _log_next(cursor) -> None:
    st.session_state[LOG_CURSORS].append(cursor)


def _log_previous() -> None:
    if len(st.session_state[LOG_CURSORS]) > 1:
        st.session_state[LOG_CURSORS].pop()


def _release() -> None:
    with ui.session() as s:
        summary = outbox.release_due(s)
    total = summary.sent + summary.blocked
    st.session_state["log_flash"] = (
        f"Released {total:,} due message{'s' if total != 1 else ''}: {summary.sent:,} sent, "
        f"{summary.blocked:,} blocked." if total else "No queued message is due yet.")


def message_log(s, region: str) -> None:
    flash = st.session_state.pop("log_flash", None)
    if flash:
        st.success(flash, icon=":material/outbox:")
    q = messages.queue_summary(s)
    a, b = st.columns([3, 1], vertical_alignment="center")
    if q.queued:
        a.markdown(f"**{q.queued:,}** message{'s' if q.queued != 1 else ''} queued for quiet hours; "
                   f"the next goes out {_when(q.next_send_at)}.")
    else:
        a.caption("No messages are queued for quiet hours.")
    b.button("Release due messages", key="log_release", on_click=_release, icon=":material/outbox:",
             width="stretch")

    c1, c2, c3, c4 = st.columns(4)
    direction = c1.selectbox("Direction", [None, Direction.inbound, Direction.outbound], key="log_direction",
                             format_func=lambda x: {None: "Both", Direction.inbound: "Received (from customers)",
                                                    Direction.outbound: "Sent (by the shop)"}[x])
    kinds = c2.multiselect("Kind", list(MessageKind), key="log_kind", format_func=lambda k: k.label,
                           placeholder="Any kind")
    statuses = c3.multiselect("Status", list(MessageStatus), key="log_status", format_func=lambda x: x.value,
                              placeholder="Any status")
    phone = c4.text_input("Phone", key="log_phone", placeholder="Any format, or the last 4 digits")

    sig = (direction, tuple(kinds), tuple(statuses), phone.strip())
    if st.session_state.get(LOG_SIG) != sig or LOG_CURSORS not in st.session_state:
        st.session_state[LOG_SIG] = sig
        st.session_state[LOG_CURSORS] = [None]
    stack = st.session_state[LOG_CURSORS]
    try:
        total = messages.count(s, direction=direction, kinds=kinds, statuses=statuses, phone=phone, region=region)
        page = messages.page(s, direction=direction, kinds=kinds, statuses=statuses, phone=phone,
                             after=stack[-1], region=region)
    except messages.InvalidFilter as exc:
        ui.show_error(exc)
        return
    if not page.rows:
        st.info("No messages match these filters." if any(sig[1:]) or direction else
                "No messages yet. Texts appear here as customers text the shop and the shop replies.",
                icon=":material/sms:")
        return
    first = (len(stack) - 1) * personas.PAGE_SIZE + 1
    st.markdown(f"{first:,}–{first + len(page.rows) - 1:,} of **{total:,}** messages, newest first")
    st.dataframe(messages.log_rows(page.rows, region), hide_index=True, width="stretch", key="log_table", height=640,
                 column_config={"text": st.column_config.TextColumn("text", width="large"),
                                "reason": st.column_config.TextColumn("reason", width="medium"),
                                "segments": st.column_config.NumberColumn("segments", width="small")})
    p1, p2, p3 = st.columns([1, 1, 4], vertical_alignment="center")
    p1.button("Previous", key="log_prev", on_click=_log_previous, disabled=len(stack) <= 1,
              icon=":material/chevron_left:")
    p2.button("Next", key="log_next", on_click=_log_next, args=(page.next_cursor,), disabled=not page.has_more,
              icon=":material/chevron_right:", icon_position="right")
    p3.caption(f"Page {len(stack):,} of {max(1, -(-total // personas.PAGE_SIZE)):,}")


st.title("Inbox")
with ui.session() as s:
    d = get_defaults(s)
    region = d.default_region
    if ui.can("decide_review"):
        sim_tab, review_tab, log_tab = st.tabs(["Simulator", "Possible opt-outs", "Message log"], key="inbox_tab")
        with review_tab:
            reviews(s, region)
    else:  # deciding a possible opt-out is a manager's or the owner's
        sim_tab, log_tab = st.tabs(["Simulator", "Message log"], key="inbox_tab")
    with sim_tab:
        simulator(s, d, region)
    with log_tab:
        message_log(s, region)
