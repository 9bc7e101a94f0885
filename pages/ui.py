"""What every page shares: the engine, a session, the owner check, badges.

Pages call core; this module only wires Streamlit to it.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from typing import Iterator

import streamlit as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import db
from core.models import SmsStatus

OWNER_KEY = "owner_signed_in"
TRAINING_KEY = "training_db_url"  # set while this browser session works in the training shop


@st.cache_resource(show_spinner=False)
def _engine_for(url: str) -> Engine:
    engine = db.make_engine(url)
    db.init_db(engine)
    return engine


def main_url() -> str:
    return db.database_url(os.environ.get("DATABASE_URL") or None)


def engine() -> Engine:
    """The training shop's engine while a walkthrough runs in this browser, else the shop's."""
    url = st.session_state.get(TRAINING_KEY) or main_url()
    return _engine_for(url)


def main_engine() -> Engine:
    return _engine_for(main_url())


@contextmanager
def session() -> Iterator[Session]:
    with Session(engine()) as s:
        yield s


def in_training() -> bool:
    return bool(st.session_state.get(TRAINING_KEY))


def is_signed_in() -> bool:
    return bool(st.session_state.get(OWNER_KEY))


def require_owner() -> None:
    """Every owner page calls this first: a signed-out visitor sees nothing of it."""
    if not is_signed_in():
        st.error("Sign in to see this page.")
        st.stop()
    if in_training():
        training_banner()
    _release_due()


def training_banner() -> None:
    """On every page while a walkthrough runs: say so, and offer the way back."""
    left, right = st.columns([3, 1.2], vertical_alignment="center")
    left.warning("**Training shop** — nothing you do here touches the real shop's customers. "
                 "Your progress is on the Walkthrough page.", icon=":material/school:")
    if right.button("Leave training", key="leave_training_banner", icon=":material/logout:",
                    help="Back to the real shop", width="stretch"):
        leave_training()
        st.rerun()


def leave_training() -> None:
    st.session_state.pop(TRAINING_KEY, None)


def training_mark(name: str, value: str | None = None) -> None:
    """Remember, in the training shop only, something a walkthrough step checks (e.g. a customer viewed)."""
    if not in_training():
        return
    from core import training
    from core.models import utcnow

    try:
        with session() as s:
            training.mark(s, name, value or utcnow().isoformat())
    except Exception:  # a mark is a convenience for the walkthrough; never break the page for it
        pass


def _release_due() -> None:
    """Queued messages whose time has come go out whenever a page loads (no background process)."""
    from core import outbox

    try:
        with session() as s:
            if outbox.due_count(s):
                outbox.release_due(s)
    except Exception:  # never let the release break a page; the log shows what is queued
        pass


def sidebar() -> None:
    from core import texting

    with st.sidebar:
        try:
            with session() as s:
                brand = texting.get_defaults(s).brand
        except Exception:
            brand = "Opt-In Desk"
        st.markdown(f"### {plain(brand)}")
        st.caption(f"Opt-In Desk · {db.describe(engine())}")
        if in_training():
            st.caption(":orange[Training shop]")
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            st.session_state.clear()
            st.rerun()


STATUS_COLORS = {
    SmsStatus.opted_in: "green",
    SmsStatus.pending: "orange",
    SmsStatus.not_opted_in: "red",
    SmsStatus.opted_out: "red",
}


def badge(status: SmsStatus | str) -> str:
    """Markdown badge: green ✓ when opted in, red ✕ with the reason word otherwise (§1)."""
    status = SmsStatus(status)
    return f":{STATUS_COLORS[status]}-badge[{status.badge}]"


def show_error(exc: Exception) -> None:
    """A named error from core, as the owner should read it: one line per field when it names several."""
    per_field = getattr(exc, "errors", None)
    for message in (per_field.values() if isinstance(per_field, dict) and per_field else [str(exc)]):
        st.error(plain(message), icon=":material/error:")  # messages quote typed names and file names


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


def pager(prefix: str, state_key: str, *, page_size: int, shown: int, total: int, next_after,
          note: str = "") -> None:
    """Previous / Next under a keyset-paginated table. `session_state[state_key]` holds the cursors
    of the pages before the one shown; buttons are keyed `<prefix>_prev` and `<prefix>_next`."""
    cursors = st.session_state.get(state_key) or []
    first = len(cursors) * page_size + 1
    p1, p2, p3 = st.columns([1, 1, 4], vertical_alignment="center")
    if p1.button("Previous", key=f"{prefix}_prev", disabled=not cursors, icon=":material/chevron_left:"):
        st.session_state[state_key] = cursors[:-1]
        st.rerun()
    if p2.button("Next", key=f"{prefix}_next", disabled=next_after is None, icon=":material/chevron_right:"):
        st.session_state[state_key] = cursors + [next_after]
        st.rerun()
    p3.caption(f"Showing {first:,}–{first + shown - 1:,} of {total:,}" + (f". {note}" if note else ""))
