"""The app wiring every page shares: the engine, a session, the owner check, the training and demo
switch, the sidebar. Shared widgets (pager, badges, flash messages...) are in widgets.py.

Pages call core; this module only wires Streamlit to it.
"""

from __future__ import annotations

import logging
import os
import secrets
from contextlib import contextmanager
from typing import Iterator, Mapping, Optional

import streamlit as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import bootstrap, db
from core.errors import OwnerError
from core.staff import accounts, roles
from core.staff.roles import Actor
from widgets import plain

log = logging.getLogger("pages")

LOG_LEVEL_ENV = "OPTIN_DESK_LOG_LEVEL"
_LOG_HANDLER_NAME = "optin_desk"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging() -> None:
    """Send the app's log lines to stderr, at OPTIN_DESK_LOG_LEVEL (DEBUG, INFO, WARNING, ERROR; default INFO).

    Done once per process, here, where the app starts (every page imports this module); core modules only
    call logging.getLogger(__name__). Log lines never hold a password, a token or a full phone number
    (core.phones.redact)."""
    root = logging.getLogger()
    if any(h.get_name() == _LOG_HANDLER_NAME for h in root.handlers):
        return
    wanted = os.environ.get(LOG_LEVEL_ENV, "").strip().upper() or "INFO"
    level = logging.getLevelNamesMapping().get(wanted)
    handler = logging.StreamHandler()
    handler.set_name(_LOG_HANDLER_NAME)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    root.setLevel(level if level is not None else logging.INFO)
    if root.level > logging.DEBUG:  # Alembic's own lines (plugins, context) only when debugging; ours say what ran
        logging.getLogger("alembic").setLevel(logging.WARNING)
    if level is None:
        log.warning("%s=%r is not a log level (DEBUG, INFO, WARNING, ERROR): using INFO", LOG_LEVEL_ENV, wanted)


configure_logging()

OWNER_KEY = "owner_signed_in"  # True alone (tests, earlier sessions): signed in as the built-in owner
PERSON_KEY = "signed_in_person"  # {"id": person id, "token": the session's token} (core/staff/accounts.py)
SIGNED_OUT_KEY = "signed_out_notice"  # why the last session ended, shown once on the sign-in page
TRAINING_KEY = "training_db_url"  # set while this browser session works in the training shop
DEMO_KEY = "demo_db_url"  # set while this browser session explores the demo shop (core/demo.py)
REMOVE_DEMO_KEY = "demo_remove_asked"  # "Remove the demo shop" was pressed: confirm or cancel
DEMO_NOTICE_KEY = "demo_notice"  # left or removed the demo: say so once, on the real shop's next page


@st.cache_resource(show_spinner=False)
def _engine_for(url: str) -> Engine:
    engine = db.make_engine(url)
    bootstrap.init_db(engine)
    return engine


def main_url() -> str:
    return db.database_url(os.environ.get("DATABASE_URL") or None)


def engine() -> Engine:
    """The training shop's engine while a walkthrough runs in this browser, else the demo shop's
    while the owner explores it, else the real shop's."""
    url = st.session_state.get(TRAINING_KEY) or st.session_state.get(DEMO_KEY) or main_url()
    return _engine_for(url)


def main_engine() -> Engine:
    return _engine_for(main_url())


@contextmanager
def session() -> Iterator[Session]:
    with Session(engine()) as s:
        yield s


def in_training() -> bool:
    return bool(st.session_state.get(TRAINING_KEY))


def in_demo() -> bool:
    """This browser tab shows the demo shop (and no walkthrough runs over it)."""
    return bool(st.session_state.get(DEMO_KEY)) and not in_training()


def current_actor() -> Optional[Actor]:
    """Who is signed in in this browser session, read fresh from the real shop's database (a changed role
    applies at once; an ended session signs out here and says why), or None."""
    info = st.session_state.get(PERSON_KEY)
    if info:
        try:
            with Session(main_engine()) as s:
                return accounts.check_session(s, person_id=info["id"], token=info["token"])
        except accounts.SessionEnded as exc:
            sign_out(notice=str(exc))
            return None
    if st.session_state.get(OWNER_KEY):
        with Session(main_engine()) as s:
            return accounts.owner_actor(s)
    return None


def is_signed_in() -> bool:
    return current_actor() is not None


def actor() -> Actor:
    """The signed-in person, checked now: pass it as `by=` to every core call (callbacks run before the
    page's require_page, so this checks the session itself). After the session ended it is roles.NOBODY,
    which core refuses (NotAllowed), never the shop acting unchecked."""
    who = current_actor()
    return who if who is not None else roles.NOBODY


def signed_in(person_id: int, token: str, *, builtin_owner: bool = False) -> None:
    """Remember a new sign-in in this browser session (core made the session row). OWNER_KEY keeps its
    meaning: True when the shop's built-in owner is signed in."""
    st.session_state.pop(SIGNED_OUT_KEY, None)
    st.session_state[PERSON_KEY] = {"id": person_id, "token": token}
    if builtin_owner:
        st.session_state[OWNER_KEY] = True


def sign_out(*, notice: str = "") -> None:
    """End this browser session's sign-in (its row too) and forget everything it held."""
    info = st.session_state.get(PERSON_KEY)
    if info:
        try:
            with Session(main_engine()) as s:
                accounts.sign_out(s, token=info["token"])
        except Exception:  # the browser session is cleared anyway; the row times out
            log.exception("could not end the session row at sign-out")
    st.session_state.clear()
    if notice:
        st.session_state[SIGNED_OUT_KEY] = notice


def require_page(page: str) -> Actor:
    """Every signed-in page calls this first with its url path: a signed-out visitor sees nothing of it; a
    person whose role may not open it (core/staff/roles.PAGES) reads a calm line saying so. Returns who is
    signed in."""
    who = current_actor()
    if who is None:
        st.error("Sign in to see this page.")
        st.stop()
    if not roles.may_open(who.role, page):
        st.info(
            f"This page is not available for your role ({who.role.label}). The pages in the menu are "
            "the ones you can use; ask the shop's owner if you need this one.",
            icon=":material/lock:",
        )
        st.stop()
    if in_training():
        training_banner()
    elif in_demo():
        demo_banner()
    elif notice := st.session_state.pop(DEMO_NOTICE_KEY, None):
        st.success(notice, icon=":material/check_circle:")
    _release_due()
    return who


def require_owner() -> Actor:
    """A page for the owner alone (a page not yet in the roles table)."""
    return require_page("")


def can(action: str) -> bool:
    """The signed-in person's role may do this (core/staff/roles.ACTIONS): to hide a button they can't use."""
    who = current_actor()
    return who is not None and roles.can(who.role, action)


def training_banner() -> None:
    """On every page while a walkthrough runs: say so, and offer the way back."""
    left, right = st.columns([3, 1.2], vertical_alignment="center")
    left.warning(
        "**Training shop** — nothing you do here touches the real shop's customers. "
        "Your progress is on the Walkthrough page.",
        icon=":material/school:",
    )
    if right.button(
        "Leave training",
        key="leave_training_banner",
        icon=":material/logout:",
        help="Back to the real shop",
        width="stretch",
    ):
        leave_training()
        st.rerun()


def leave_training() -> None:
    st.session_state.pop(TRAINING_KEY, None)


def explore_demo() -> bool:
    """Switch this browser tab to the demo shop (made and seeded on first use). False on an error, shown."""
    from core.training import demo

    try:
        with st.spinner("Opening the demo shop…"):
            url = demo.prepare(main_url())
    except demo.DemoError as exc:
        show_error(exc)
        return False
    st.session_state.pop(REMOVE_DEMO_KEY, None)
    st.session_state[DEMO_KEY] = url
    return True


def leave_demo() -> None:
    st.session_state.pop(DEMO_KEY, None)
    st.session_state.pop(REMOVE_DEMO_KEY, None)


def remove_demo() -> bool:
    """Delete the demo shop's database and go back to the real shop. False on an error, shown."""
    from core.training import demo

    url = st.session_state.get(DEMO_KEY)
    try:
        demo.remove(main_url(), engine=_engine_for(url) if url else None)
    except demo.DemoError as exc:
        show_error(exc)
        return False
    leave_demo()
    return True


def demo_banner() -> None:
    """On every page while the owner explores the demo: say so, offer the way back and the way out."""
    with st.container(key="demo_banner"):
        st.warning(
            "**You are exploring the demo shop** — nothing here is real. Made-up customers with "
            "fictional 555-01XX numbers, kept apart from your real shop.",
            icon=":material/storefront:",
        )
        buttons = st.container(horizontal=True)  # under the notice: whole labels at any width
        if buttons.button(
            "Leave the demo",
            key="leave_demo",
            icon=":material/logout:",
            help="Back to your real shop; the demo shop stays for later",
        ):
            leave_demo()
            st.session_state[DEMO_NOTICE_KEY] = (
                "You are back in your real shop. The demo shop stays as you left it: "
                "**Explore the demo shop** in the sidebar opens it again."
            )
            st.rerun()
        if buttons.button(
            "Remove the demo shop",
            key="remove_demo",
            icon=":material/delete:",
            help="Delete the demo shop for good (asks first)",
        ):
            st.session_state[REMOVE_DEMO_KEY] = True
        if st.session_state.get(REMOVE_DEMO_KEY):
            with st.container(border=True, key="remove_demo_confirm_box"):
                st.markdown(
                    "**Remove the demo shop?** Its made-up customers, texts, forms and reports are "
                    "deleted for good. Your real shop is not touched. You can explore a fresh demo "
                    "shop again from the sidebar."
                )
                yes, no = st.columns(2)
                if yes.button(
                    "Yes, remove the demo shop",
                    key="remove_demo_confirm",
                    type="primary",
                    icon=":material/delete_forever:",
                    width="stretch",
                ):
                    if remove_demo():
                        st.session_state[DEMO_NOTICE_KEY] = "The demo shop is removed. You are in your real shop."
                        st.rerun()
                if no.button("Keep it", key="remove_demo_cancel", width="stretch"):
                    st.session_state.pop(REMOVE_DEMO_KEY, None)
                    st.rerun()


def training_mark(name: str, value: str | None = None) -> None:
    """Remember, in the training shop only, something a walkthrough step checks (e.g. a customer viewed)."""
    if not in_training():
        return
    from core.training import training
    from core.models import utcnow

    try:
        with session() as s:
            training.mark(s, name, value or utcnow().isoformat())
    except Exception:  # a mark is a convenience for the walkthrough: logged, and the page goes on
        log.exception("could not record the walkthrough mark %r", name)


def _release_due() -> None:
    """Queued messages whose time has come go out whenever a page loads (no background process)."""
    from core.messaging import outbox

    with guard(
        "sending the queued texts that are due",
        advice="Texts waiting for the sending window did not go out; they stay queued and go out "
        "when a page loads again.",
    ):
        with session() as s:
            if outbox.due_count(s):
                outbox.release_due(s)


def sidebar() -> None:
    from core.training import demo
    from core.messaging import texting

    if st.session_state.get(DEMO_KEY) and not demo.exists(main_url()):
        leave_demo()  # removed in another tab: back to the real shop rather than an empty demo
    with st.sidebar:
        try:
            with session() as s:
                brand = texting.get_defaults(s).brand
        except Exception:  # the sidebar still offers Sign out; the page below shows what went wrong
            log.exception("could not read the shop's brand for the sidebar")
            brand = "Opt-In Desk"
        st.markdown(f"### {plain(brand)}")
        st.caption(f"Opt-In Desk · {db.describe(engine())}")
        if in_training():
            st.caption(":orange[Training shop]")
        elif in_demo():
            st.caption(":orange[Demo shop — nothing here is real]")
        elif can("training") and st.button(
            "Explore the demo shop",
            key="explore_demo_sidebar",
            icon=":material/storefront:",
            help="A separate shop of made-up customers to look around in; your real shop is not touched",
        ):
            if explore_demo():
                st.rerun()
        who = current_actor()
        if who is not None:
            st.caption(f"Signed in as **{plain(who.name)}** · {who.role.label}")
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            sign_out()
            st.rerun()


def show_error(exc: Exception, *, fields: Optional[Mapping[str, object]] = None) -> None:
    """A named error from core, as the owner should read it: one line per field when it names several,
    each beside its field when the page gives a place for it (`fields`: field name -> an st.empty() or
    container under that input), else here."""
    per_field = getattr(exc, "errors", None)
    if not (isinstance(per_field, dict) and per_field):
        per_field = {getattr(exc, "field", None): str(exc)}
    for field, message in per_field.items():
        where = (fields or {}).get(field) or st
        where.error(plain(message), icon=":material/error:")  # messages quote typed names and file names


APOLOGY = "Something went wrong. It has been logged as #{ref}."


def report_unexpected(exc: BaseException, doing: str) -> str:
    """Log an unexpected error with its traceback under a short reference, and return the reference."""
    ref = secrets.token_hex(3).upper()
    log.error("error #%s while %s", ref, doing or "showing a page", exc_info=exc)
    return ref


def apologise(exc: BaseException, doing: str = "", *, advice: str = "") -> str:
    """An error nobody at the screen can fix: logged with its traceback; the page says sorry with the
    log's reference (and, when given, what happened to the owner's work). Returns the reference."""
    ref = report_unexpected(exc, doing)
    st.error(APOLOGY.format(ref=ref) + (f" {advice}" if advice else ""), icon=":material/error:")
    return ref


class Outcome:
    """What a guarded action came to: `ok` until it raised; `ref` is the log's reference of an unexpected error."""

    def __init__(self) -> None:
        self.ok = True
        self.ref: Optional[str] = None


@contextmanager
def guard(doing: str = "", *, fields: Optional[Mapping[str, object]] = None, advice: str = "") -> Iterator[Outcome]:
    """Run a page's call into core: an error the owner can fix (core.errors.OwnerError) is shown beside its
    field (see show_error); anything else is logged with its traceback and shown as an apology with the
    log's reference. The page goes on after the block; `Outcome.ok` says whether the action finished.
    Streamlit's own st.rerun / st.stop pass through.

        with ui.guard("saving the texting defaults", fields={"brand": brand_slot}) as done:
            texting.save_defaults(s, ...)
        if done.ok:
            st.rerun()
    """
    outcome = Outcome()
    try:
        yield outcome
    except OwnerError as exc:
        outcome.ok = False
        show_error(exc, fields=fields)
    except Exception as exc:
        outcome.ok = False
        outcome.ref = apologise(exc, doing, advice=advice)
