"""The Streamlit widgets every page shares: plain text, status badges, flash messages, a metric grid,
a download block, the chat-thread bubbles and the one Previous / Next pager for every table.

Not a page and not app wiring (that is pages/ui.py: engine, session, sign-in, training and demo, sidebar).
Widgets draw what core computed; they decide nothing about consent.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Hashable, Iterable, Optional, Union

import streamlit as st

from core.clock import shop_time
from core.models import Direction, Message, MessageStatus, SmsStatus

# --- Plain text ---------------------------------------------------------------------------------------------

# What markdown would read in typed text, escaped with a backslash (CommonMark shows "\\x" as "x"): emphasis,
# code, links, headings, tables, HTML, LaTeX ($); a ":" before a non-space (colour and icon directives
# :red[..] :material/x:, emoji shortcodes, http:// links); "&" starting an entity; a list or heading marker
# at the start. A line break would start a new block: it becomes a space.
_MARKUP = re.compile(r"[\\`*_\[\]#|$<>~]|:(?=\S)|&(?=[#A-Za-z0-9])")
_BLOCK_START = re.compile(r"^(\s*(?:\d+(?=[.)]))?)([-+=.)])")  # "- a", "+ a", "= a", "1. a", "1) a"


def plain(text: str) -> str:
    """Text someone typed, safe inside Streamlit markdown: no formatting, links, math or HTML from it."""
    text = str(text).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return _BLOCK_START.sub(r"\1\\\2", _MARKUP.sub(lambda m: "\\" + m.group(), text), count=1)


# --- Badges -------------------------------------------------------------------------------------------------

STATUS_COLORS = {
    SmsStatus.opted_in: "green",
    SmsStatus.pending: "orange",
    SmsStatus.not_opted_in: "red",
    SmsStatus.opted_out: "red",
}


def badge(status: Union[SmsStatus, str]) -> str:
    """Markdown badge: green ✓ when opted in, red ✕ with the reason word otherwise (§1)."""
    status = SmsStatus(status)
    return f":{STATUS_COLORS[status]}-badge[{status.badge}]"


# --- Flash messages: said once, on the page's next run ------------------------------------------------------

_FLASH_BOXES = {"success": st.success, "warning": st.warning, "error": st.error, "info": st.info}


def set_flash(key: str, text: str, kind: str = "success") -> None:
    """Remember a message to show once, after the rerun (e.g. "Saved.")."""
    st.session_state[key] = (kind, text)


def flash(key: str, *, icon: str = ":material/check_circle:") -> None:
    """Show (and forget) the message stored under `key`: a text (shown as success) or (kind, text)."""
    value = st.session_state.pop(key, None)
    if not value:
        return
    kind, text = value if isinstance(value, tuple) else ("success", value)
    _FLASH_BOXES[kind](text, icon=":material/error:" if kind == "error" else icon)


# --- Figures, downloads --------------------------------------------------------------------------------------


def metric_grid(figures: Iterable[Any], *, per_row: int = 4) -> None:
    """Figures (objects with label, value and optional help) as metrics, `per_row` to a row."""
    figures = list(figures)
    for start in range(0, len(figures), per_row):
        for col, fig in zip(st.columns(per_row), figures[start : start + per_row]):
            value = f"{fig.value:,}" if isinstance(fig.value, int) else str(fig.value)
            col.metric(fig.label, value, help=getattr(fig, "help", None) or None)


def download(
    label: str,
    data: Union[bytes, str, Callable[[], bytes]],
    *,
    file_name: str,
    key: str,
    mime: str = "text/csv",
    caption: str = "",
    disabled: bool = False,
    container=None,
) -> None:
    """A download button with what the file holds said under it."""
    where = container or st
    where.download_button(
        label, data=data, file_name=file_name, mime=mime, key=key, disabled=disabled, icon=":material/download:"
    )
    if caption:
        where.caption(caption)


# --- A thread of texts ---------------------------------------------------------------------------------------

MESSAGE_BADGES = {
    MessageStatus.sent: ":green-badge[sent]",
    MessageStatus.blocked: ":red-badge[blocked]",
    MessageStatus.queued: ":orange-badge[queued]",
    MessageStatus.sending: ":blue-badge[sending]",  # live texting: waiting for the sender
    MessageStatus.delivered: ":green-badge[delivered]",
    MessageStatus.undelivered: ":red-badge[undelivered]",
    MessageStatus.failed: ":red-badge[failed]",
}


def bubbles(thread: Iterable[Message], timezone: str) -> None:
    """Customer texts as "user" bubbles; the shop's automatic replies with their kind, status and time
    (the shop's time, with its zone). Bodies are shown with st.text: never Markdown or HTML."""
    for m in thread:
        inbound = m.direction is Direction.inbound
        with st.chat_message(
            "user" if inbound else "assistant", avatar=":material/person:" if inbound else ":material/storefront:"
        ):
            st.text(m.body)
            when = shop_time(m.created_at, timezone)
            if inbound:
                st.caption(when)
                continue
            line = f"{MESSAGE_BADGES.get(m.status, m.status.value)} {m.kind.label if m.kind else ''} · {when}"
            if m.status is MessageStatus.queued and m.send_at:
                line += f" · goes out {shop_time(m.send_at, timezone)}"
            st.caption(line)
            if m.reason:
                st.caption(plain(m.reason))


# --- The one pager -------------------------------------------------------------------------------------------
# Every table pages by keyset: `session_state[state_key]` holds the cursors of the pages before the one shown
# ([] on the first page); core returns the cursor after the last row shown (None on the last page).


def page_cursor(state_key: str, signature: Optional[Hashable] = None) -> Any:
    """The cursor to fetch the shown page with (None: the first page). A new `signature` (the table's
    filters) starts again at the first page."""
    sig_key = f"{state_key}__for"
    if signature is not None and st.session_state.get(sig_key) != signature:
        st.session_state[sig_key] = signature
        st.session_state[state_key] = []
    cursors = st.session_state.setdefault(state_key, [])
    return cursors[-1] if cursors else None


def first_page(state_key: str) -> None:
    """Back to the first page (e.g. the list shrank under the page shown)."""
    st.session_state[state_key] = []


def page_start(state_key: str, page_size: int) -> int:
    """The number of the first row shown (1 on the first page)."""
    return len(st.session_state.get(state_key) or []) * page_size + 1


def _previous(state_key: str) -> None:
    st.session_state[state_key] = (st.session_state.get(state_key) or [])[:-1]


def _next(state_key: str, cursor: Any) -> None:
    st.session_state[state_key] = (st.session_state.get(state_key) or []) + [cursor]


def pager(
    prefix: str, state_key: str, *, page_size: int, shown: int, total: int, next_after: Any, note: str = ""
) -> None:
    """Previous / Next under a keyset-paginated table, and which rows are shown. Buttons are keyed
    `<prefix>_prev` and `<prefix>_next`; Next is off on the last page (`next_after` None)."""
    cursors = st.session_state.get(state_key) or []
    first = len(cursors) * page_size + 1
    row = st.container(horizontal=True, vertical_alignment="center", key=f"{prefix}_pager")  # whole labels at any width
    row.button(
        "Previous",
        key=f"{prefix}_prev",
        disabled=not cursors,
        icon=":material/chevron_left:",
        on_click=_previous,
        args=(state_key,),
    )
    row.button(
        "Next",
        key=f"{prefix}_next",
        disabled=next_after is None,
        icon=":material/chevron_right:",
        icon_position="right",
        on_click=_next,
        args=(state_key, next_after),
    )
    shown_text = f"Showing {first:,}–{first + shown - 1:,} of {total:,}" if shown else f"Showing 0 of {total:,}"
    row.caption(shown_text + (f". {note}" if note else ""))
