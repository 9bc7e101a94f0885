"""Sign in: choose the owner password on the first start, sign in, then (once) explore the demo or start empty.

Once the owner has added people (Settings › People), the form asks for a sign-in name too; a shop of one
signs in with the owner password alone, as before."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st
from sqlmodel import Session

from core import auth
from core.staff import accounts
from core.training import demo
from core.messaging import texting
import widgets
from pages import ui

VERIFIED_KEY = "signin_verified"  # password checked; the first-start choice is still to make
SETUP_DONE_KEY = "signin_setup_done"
HERE = Path(__file__).resolve().parent


def _preset_password() -> str | None:
    value = os.environ.get("OPTIN_DESK_PASSWORD")
    if value:
        return value
    try:
        return st.secrets.get("OPTIN_DESK_PASSWORD")
    except FileNotFoundError:  # no secrets file: nothing preset
        return None
    except Exception:  # a secrets file that cannot be read: say so in the log, sign-in goes on
        ui.log.exception("could not read .streamlit/secrets.toml")
        return None


def _enter(s: Session, done: accounts.SignedIn) -> None:
    """The password was right: on a first start with an empty shop, the owner chooses demo or empty; else in."""
    pending = {"id": done.person.id, "token": done.token, "builtin_owner": done.person.builtin}
    if done.person.builtin and demo.is_empty(s) and not auth.first_start_done(s):
        st.session_state[VERIFIED_KEY] = pending
    else:
        ui.signed_in(pending["id"], pending["token"], builtin_owner=pending.get("builtin_owner", False))
    st.rerun()


def _header(s: Session) -> None:
    try:
        brand = texting.get_defaults(s).brand
    except Exception:  # the sign-in form below still works (or shows what went wrong)
        ui.log.exception("could not read the shop's brand for the sign-in page")
        brand = "your shop"
    st.caption("OPT-IN DESK")
    st.subheader(f"Welcome to {widgets.plain(brand)}", anchor=False)
    st.markdown(
        "Opt-In Desk keeps your customers' texting consent straight and provable: "
        "who said yes, who said stop, and the evidence for both."
    )


def _setup(s: Session) -> None:
    st.markdown("##### Choose the owner password")
    st.caption(
        f"This is the first start: nobody has a password yet. Choose one of at least {auth.MIN_LENGTH} "
        "characters; you will use it to sign in from now on. It is stored scrambled (hashed), never "
        "as you type it."
    )
    with st.form("setup_form", border=True):
        new = st.text_input("Password", type="password", key="new_password", autocomplete="new-password")
        new_error = st.empty()  # what is wrong with the password shows here, under it
        again = st.text_input("Type it again", type="password", key="confirm_password", autocomplete="new-password")
        submitted = st.form_submit_button("Save password", key="set_password", type="primary", use_container_width=True)
    if submitted:
        if new != again:
            st.error("The two passwords are different. Type the same password twice.", icon=":material/error:")
            return
        with ui.guard("saving the owner password", fields={"password": new_error}) as done:
            auth.set_password(s, new)
        if not done.ok:
            return
        st.session_state[SETUP_DONE_KEY] = True
        st.rerun()


def _client() -> str:
    """Who is signing in, for the throttle: this connection's address (see auth.client_key)."""
    return auth.client_key(st.context.ip_address)


def _sign_in_form(s: Session) -> None:
    st.markdown("##### Sign in")
    if st.session_state.pop(SETUP_DONE_KEY, False):
        st.success("Password saved. Sign in with it to open your shop.", icon=":material/check_circle:")
    if notice := st.session_state.get(ui.SIGNED_OUT_KEY):
        st.info(notice, icon=":material/logout:")
    named = accounts.others_exist(s)  # a shop of one: the owner password alone
    client = _client()
    pause = auth.paused(s, client=client)
    with st.form("sign_in_form", border=True, clear_on_submit=True):
        name = (
            st.text_input(
                "Sign-in name",
                key="sign_in_name",
                autocomplete="username",
                help="The name the owner gave you in Settings › People",
            )
            if named
            else ""
        )
        password = st.text_input(
            "Password" if named else "Owner password", type="password", key="password", autocomplete="current-password"
        )
        submitted = st.form_submit_button("Sign in", key="sign_in", type="primary", use_container_width=True)
    what = "sign-in name or password" if named else "password"
    if submitted and named and not (name or "").strip():
        st.error("Type your sign-in name and password, then press Sign in.", icon=":material/error:")
    elif submitted and not password:
        st.error(
            "Type the owner password, then press Sign in." if not named else "Type your password, then press Sign in.",
            icon=":material/error:",
        )
    elif submitted:
        try:
            done = accounts.sign_in(s, name, password, client=client)
        except auth.Locked as exc:
            st.error(str(exc), icon=":material/timer:")
            return
        if done is not None:
            _enter(s, done)
        tries = auth.attempts_left(s, client=client)
        more = f" {tries} more {'try' if tries == 1 else 'tries'} before sign-in pauses." if tries else ""
        st.error(f"That {what} isn't right. Check it (and Caps Lock) and try again.{more}", icon=":material/error:")
    elif pause:
        st.warning(str(pause), icon=":material/timer:")


def _first_start(s: Session) -> None:
    st.markdown("##### Your shop is empty: how do you want to start?")
    demo_col, empty_col = st.columns(2, gap="medium")
    with demo_col, st.container(border=True):
        st.markdown("**Explore the demo shop**")
        st.caption(
            "About 300 made-up customers from the last 90 days, in every status and from every source, "
            "with their consent history and texts. The best way to look around. It is a separate demo "
            "shop: your real shop stays empty, and you can remove the demo in one click."
        )
        explore = st.button(
            "Explore the demo shop",
            key="explore_demo",
            type="primary",
            icon=":material/storefront:",
            use_container_width=True,
        )
    with empty_col, st.container(border=True):
        st.markdown("**Start empty**")
        st.caption(
            "No customers yet: add them by hand, import a list from your previous provider, "
            "or let them join through your sign-up form. The demo shop stays a click away in the sidebar."
        )
        empty = st.button(
            "Start empty", key="start_empty", icon=":material/check_box_outline_blank:", use_container_width=True
        )
    if explore and ui.explore_demo():
        auth.mark_first_start(s, "demo")
        _signed_in()
    if empty:
        auth.mark_first_start(s, "empty")
        _signed_in()


def _signed_in() -> None:
    pending = st.session_state.pop(VERIFIED_KEY, None)
    if isinstance(pending, dict):
        ui.signed_in(pending["id"], pending["token"], builtin_owner=pending.get("builtin_owner", False))
    else:  # (an earlier version kept True here)
        st.session_state[ui.OWNER_KEY] = True
    st.rerun()


# narrow for the password forms, wider for the two first-start choices side by side
_, middle, _ = st.columns([1, 3.2, 1] if st.session_state.get(VERIFIED_KEY) else [1, 2.2, 1])
with middle, Session(ui.main_engine()) as s:
    auth.preset_from(s, _preset_password())
    _header(s)
    if st.session_state.get(VERIFIED_KEY):
        _first_start(s)
    elif not auth.has_password(s):
        _setup(s)
    else:
        _sign_in_form(s)
    if (HERE / "signup.py").exists() and not st.session_state.get(VERIFIED_KEY):
        st.divider()
        st.page_link(
            "pages/signup.py", label="Looking to join the text list? Sign up here", icon=":material/how_to_reg:"
        )
    if (HERE / "stop.py").exists() and not st.session_state.get(VERIFIED_KEY):
        st.page_link("pages/stop.py", label="Want no more texts from us? Stop them here", icon=":material/sms_failed:")
