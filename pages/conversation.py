"""Chat bubbles for a thread of texts: shared by Personas (a customer's messages) and the Inbox simulator.

Not a page (app.py lists pages explicitly). Bodies are shown with st.text: never Markdown or HTML.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

import streamlit as st

from core.models import Direction, Message, MessageStatus
from pages import ui

STATUS_BADGES = {
    MessageStatus.sent: ":green-badge[sent]",
    MessageStatus.blocked: ":red-badge[blocked]",
    MessageStatus.queued: ":orange-badge[queued]",
    MessageStatus.sending: ":blue-badge[sending]",  # live texting: waiting for the sender
    MessageStatus.delivered: ":green-badge[delivered]",
    MessageStatus.undelivered: ":red-badge[undelivered]",
    MessageStatus.failed: ":red-badge[failed]",
}


def when(value: dt.datetime | None) -> str:
    return value.strftime("%d %b %Y, %H:%M UTC").lstrip("0") if value else ""


def bubbles(thread: Iterable[Message]) -> None:
    """Customer texts as "user" bubbles; the shop's automatic replies with their kind and status."""
    for m in thread:
        inbound = m.direction is Direction.inbound
        with st.chat_message("user" if inbound else "assistant",
                             avatar=":material/person:" if inbound else ":material/storefront:"):
            st.text(m.body)
            if inbound:
                st.caption(when(m.created_at))
                continue
            line = f"{STATUS_BADGES.get(m.status, m.status.value)} {m.kind.label if m.kind else ''} · {when(m.created_at)}"
            if m.status is MessageStatus.queued and m.send_at:
                line += f" · goes out {when(m.send_at)}"
            st.caption(line)
            if m.reason:
                st.caption(ui.plain(m.reason))
