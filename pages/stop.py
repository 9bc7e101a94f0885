"""The public "Stop texting me" page (rulebook §10): /stop. No sign-in.

The visitor types their number and is opted out at once (core/consent/stop_page.py). The answer is the
same whether or not the number was known; the number typed is shown back as plain text only.
"""

from __future__ import annotations

import streamlit as st

from core.consent import stop_page
from core.messaging import texting
from pages import ui

RESULT_KEY = "stop_result"
ERROR_KEY = "stop_error"
PHONE_KEY = "stop_phone"

_HIDE_NAV = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stSidebarNav"],
[data-testid="stExpandSidebarButton"] { display: none !important; }
</style>
"""


def _submit() -> None:
    st.session_state.pop(ERROR_KEY, None)
    try:
        with ui.session() as s:
            result = stop_page.submit(
                s, phone=st.session_state.get(PHONE_KEY, ""), client_address=st.context.ip_address
            )
    except stop_page.StopPageError as exc:
        st.session_state[ERROR_KEY] = (exc.field, exc.message)
    else:
        st.session_state[RESULT_KEY] = {"headline": result.headline, "sentence": result.sentence}
        st.session_state.pop(PHONE_KEY, None)


def _again() -> None:
    st.session_state.pop(RESULT_KEY, None)
    st.session_state.pop(ERROR_KEY, None)


if not ui.is_signed_in():
    st.html(_HIDE_NAV)
with ui.session() as s:
    brand = texting.get_defaults(s).brand
st.set_page_config(page_title=f"Stop texts · {brand}", layout="centered")

with st.container(key="stop_card"):
    st.title(ui.plain(brand), anchor=False)
    result = st.session_state.get(RESULT_KEY)
    if result:
        st.subheader(result["headline"], anchor=False)
        st.success(ui.plain(result["sentence"]), icon=":material/check_circle:")
        st.button("Stop texts to another number", key="stop_again", on_click=_again)
        st.stop()
    st.subheader("Stop texting me", anchor=False)
    st.markdown(
        f"Type your mobile number and {ui.plain(brand)} stops sending you marketing texts right away. "
        "You can also reply STOP to any of our texts."
    )
    field, message = st.session_state.get(ERROR_KEY, (None, None))
    with st.form("stop_form", border=False, enter_to_submit=True):
        st.text_input("Mobile number", key=PHONE_KEY, placeholder="(415) 555-0123", autocomplete="tel")
        if field == "phone":
            st.error(ui.plain(message), icon=":material/error:")
        st.form_submit_button("Stop my texts", type="primary", key="stop_submit", width="stretch", on_click=_submit)
    if field == "_limit":
        st.warning(ui.plain(message), icon=":material/schedule:")
