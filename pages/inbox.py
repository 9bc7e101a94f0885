"""Inbox: text the shop as any customer and watch the rulebook act; possible opt-outs; the message log."""

from __future__ import annotations

import zlib

import streamlit as st

import widgets
from pages import ui

ui.require_page("inbox")

from core.consent import personas  # noqa: E402
from core.messaging import inbox, inbox_view, messages, outbox  # noqa: E402
from core import paging, phones  # noqa: E402
from core.models import Customer, Direction, MessageKind, MessageStatus  # noqa: E402
from core.messaging.texting import get_defaults  # noqa: E402

QUICK_REPLIES = ("YES", "STOP", "START", "HELP")
LOG_CURSORS = "log_cursors"  # keyset cursors of the log pages before the one shown (widgets.pager)
DUE_BADGES = {"overdue": "red", "due_soon": "orange", "open": "gray"}


def _sender_phone(s) -> str:
    """The phone the simulator texts from: the picked customer's, or the number typed."""
    if st.session_state.get("inbox_mode", "customer") == "customer":
        picked = st.session_state.get("inbox_customer")
        c = s.get(Customer, picked) if picked else None
        return c.phone if c else ""
    return str(st.session_state.get("inbox_phone", "") or "").strip()


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
            st.session_state["inbox_error"] = widgets.plain(inbox_view.not_a_phone(phone, exc.reason))
            return
        except ui.OwnerError as exc:  # InvalidMessage, NotAllowed
            st.session_state["inbox_error"] = str(exc)
            return
    st.session_state["inbox_last"] = inbox_view.delivered_sentence(len(out))
    unkept = [m for m in out if m.id is None]  # the age gate's refusal: sent, and nothing about them kept
    if unkept:
        st.session_state["inbox_unkept"] = unkept[0].body
    if typed:
        st.session_state["inbox_message"] = ""


def _who(s, region: str) -> None:
    mode = st.segmented_control(
        "Text as",
        ["customer", "phone"],
        key="inbox_mode",
        default="customer",
        format_func=lambda m: "A customer" if m == "customer" else "Any phone number",
        selection_mode="single",
        required=True,
    )
    if mode == "phone":
        st.text_input(
            "Phone number",
            key="inbox_phone",
            placeholder="(415) 555-0199",
            help="Any mobile number, in any format. A number the shop doesn't know becomes a customer "
            "when its text asks to join (or is a keyword).",
        )
        return
    a, b = st.columns([1, 2])
    query = a.text_input("Find a customer", key="inbox_find", placeholder="Name, email or phone")
    page = personas.search(s, query=query, limit=20, region=region)
    labels = {c.id: inbox_view.customer_label(c, region) for c in page.rows}
    current = st.session_state.get("inbox_customer")
    if not query.strip() and current and current not in labels:  # keep the customer being texted listed
        c = s.get(Customer, current)
        if c is not None:
            labels = {c.id: inbox_view.customer_label(c, region), **labels}
    # a new search is a new picker, so it opens on its first match
    key = "inbox_pick" if not query.strip() else f"inbox_pick_{zlib.crc32(query.strip().encode())}"
    picked = b.selectbox(
        "Customer",
        list(labels),
        key=key,
        format_func=lambda i: labels.get(i, str(i)),
        placeholder="No customer matches" if query else "No customers yet",
        index=0 if labels else None,
    )
    st.session_state["inbox_customer"] = picked
    if page.hint:
        a.caption(page.hint)


def _status(s, phone: str) -> None:
    status = inbox_view.sender_status(s, phone)
    if status is None:
        return
    c = status.customer
    if c is None:
        st.markdown("**SMS** :gray-badge[new number]")
    else:
        st.markdown(f"**{widgets.plain(c.name) or '(no name)'}** &nbsp; **SMS** {widgets.badge(c.sms_status)}")
    st.caption(widgets.plain(status.sentence))


def simulator(s, d) -> None:
    region = d.default_region
    st.caption(
        "Pretend to be a customer: text the shop and watch the consent rules answer. "
        "Nothing is really sent — every text is logged under Message log."
    )
    _who(s, region)
    st.radio(
        "Texting the shop's",
        ["main", "join"],
        key="inbox_to",
        horizontal=True,
        format_func=lambda w: (
            f"Main number {phones.format_display(d.main_number, region)}"
            if w == "main"
            else f"Text To Join number {phones.format_display(d.join_number, region)}"
        ),
    )
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
                widgets.bubbles(thread, d.timezone)
            else:
                st.caption(
                    "No texts yet. Type one below, or tap a quick reply."
                    if phone
                    else "Pick a customer (or type a phone number) to start a conversation."
                )
        error = st.session_state.pop("inbox_error", None)
        if error:
            st.error(error, icon=":material/error:")
        last = st.session_state.pop("inbox_last", None)
        if last:
            st.caption(last)
        unkept = st.session_state.pop("inbox_unkept", None)
        if unkept:
            st.info(
                f"Replied: “{widgets.plain(unkept)}” — under age, so this conversation is not kept (only a count of "
                "refusals is).",
                icon=":material/cake:",
            )
        a, b = st.columns([5, 1], vertical_alignment="bottom")
        a.text_input(
            "Message",
            key="inbox_message",
            placeholder="Type what the customer texts, e.g. YES",
            label_visibility="collapsed",
        )
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
            inbox.decide_review(
                s, review_id=review_id, confirm=confirm, reason=reason, override=override, by=ui.actor()
            )
        except inbox.NewerConsent as exc:
            st.session_state[f"review_ask_again_{review_id}"] = str(exc)
            return
        except ui.OwnerError as exc:  # InvalidMessage, CustomerError, NotAllowed
            st.session_state[f"review_error_{review_id}"] = str(exc)
            return
    st.session_state["review_flash"] = (
        "Opt-out confirmed: the customer is opted out." if confirm else "Dismissed: the customer's status is unchanged."
    )


def reviews(s) -> None:
    st.caption(
        'Texts that sound like an opt-out without being a keyword ("please stop texting me"). '
        "Decide each within 10 business days of receiving it: confirm to opt the customer out, "
        "or dismiss it with a reason."
    )
    widgets.flash("review_flash")
    cards = inbox_view.review_cards(s, limit=100)
    if not cards:
        st.info("Nothing to review: no possible opt-outs are waiting.", icon=":material/inbox:")
        return
    for card in cards:
        r, c = card.review, card.customer
        with st.container(border=True, key=f"review_{r.id}"):
            # the deadline badge under the text, not in a narrow column: it stays whole on a small screen
            st.text(f"“{r.body}”")
            st.markdown(f":{DUE_BADGES[card.due]}-badge[{card.due_text}]")
            st.caption(widgets.plain(card.who) + " · " + (widgets.badge(c.sms_status) if c else ""))
            err = st.session_state.pop(f"review_error_{r.id}", None)
            if err:
                st.error(err, icon=":material/error:")
            if card.newer:
                st.warning(widgets.plain(card.newer), icon=":material/warning:")
            ask = st.session_state.pop(f"review_ask_again_{r.id}", None)
            if ask:
                st.warning(widgets.plain(ask), icon=":material/help:")
                st.button(
                    "Confirm the opt-out anyway",
                    key=f"review_override_{r.id}",
                    on_click=_decide,
                    args=(r.id, True, True),
                    type="primary",
                    icon=":material/block:",
                )
            row = st.container(horizontal=True, vertical_alignment="bottom", key=f"review_actions_{r.id}")
            row.button(
                "Confirm opt-out",
                key=f"review_confirm_{r.id}",
                on_click=_decide,
                args=(r.id, True),
                type="primary",
                icon=":material/block:",
            )
            row.text_input(
                "Reason to dismiss",
                key=f"review_reason_{r.id}",
                placeholder="e.g. asked us to stop texting a different number",
            )
            row.button("Dismiss", key=f"review_dismiss_{r.id}", on_click=_decide, args=(r.id, False))


# --- the message log ---------------------------------------------------------------------------


def _release() -> None:
    with ui.session() as s:
        summary = outbox.release_due(s)
    st.session_state["log_flash"] = messages.release_sentence(summary)


def message_log(s, region: str, timezone: str) -> None:
    widgets.flash("log_flash", icon=":material/outbox:")
    q = messages.queue_summary(s)
    a, b = st.columns([3, 1], vertical_alignment="center")
    if q.queued:
        a.markdown(q.headline(timezone))
    else:
        a.caption("No messages are queued for quiet hours.")
    b.button("Release due messages", key="log_release", on_click=_release, icon=":material/outbox:", width="stretch")

    c1, c2, c3, c4 = st.columns(4)
    direction = c1.selectbox(
        "Direction",
        [None, Direction.inbound, Direction.outbound],
        key="log_direction",
        format_func=lambda x: {
            None: "Both",
            Direction.inbound: "Received (from customers)",
            Direction.outbound: "Sent (by the shop)",
        }[x],
    )
    kinds = c2.multiselect(
        "Kind", list(MessageKind), key="log_kind", format_func=lambda k: k.label, placeholder="Any kind"
    )
    statuses = c3.multiselect(
        "Status", list(MessageStatus), key="log_status", format_func=lambda x: x.value, placeholder="Any status"
    )
    phone = c4.text_input("Phone", key="log_phone", placeholder="Any format, or the last 4 digits")

    sig = (direction, tuple(kinds), tuple(statuses), phone.strip())
    after = widgets.page_cursor(LOG_CURSORS, sig)
    try:
        total = messages.count(s, direction=direction, kinds=kinds, statuses=statuses, phone=phone, region=region)
        page = messages.page(
            s, direction=direction, kinds=kinds, statuses=statuses, phone=phone, after=after, region=region
        )
    except messages.InvalidFilter as exc:
        ui.show_error(exc)
        return
    if not page.rows:
        st.info(
            "No messages match these filters."
            if any(sig[1:]) or direction
            else "No messages yet. Texts appear here as customers text the shop and the shop replies.",
            icon=":material/sms:",
        )
        return
    first = widgets.page_start(LOG_CURSORS, paging.PAGE_SIZE)
    st.markdown(f"{first:,}–{first + len(page.rows) - 1:,} of **{total:,}** messages, newest first")
    st.dataframe(
        messages.log_rows(page.rows, region, timezone),
        hide_index=True,
        width="stretch",
        key="log_table",
        height=640,
        column_config={
            "text": st.column_config.TextColumn("text", width="large"),
            "reason": st.column_config.TextColumn("reason", width="medium"),
            "segments": st.column_config.NumberColumn("segments", width="small"),
        },
    )
    widgets.pager(
        "log", LOG_CURSORS, page_size=paging.PAGE_SIZE, shown=len(page.rows), total=total, next_after=page.next_cursor
    )


st.title("Inbox")
with ui.session() as s:
    d = get_defaults(s)
    region = d.default_region
    if ui.can("decide_review"):
        sim_tab, review_tab, log_tab = st.tabs(["Simulator", "Possible opt-outs", "Message log"], key="inbox_tab")
        with review_tab:
            reviews(s)
    else:  # deciding a possible opt-out is a manager's or the owner's
        sim_tab, log_tab = st.tabs(["Simulator", "Message log"], key="inbox_tab")
    with sim_tab:
        simulator(s, d)
    with log_tab:
        message_log(s, region, d.timezone)
