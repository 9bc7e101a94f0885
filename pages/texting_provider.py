"""Settings › Texting provider: Simulated or Twilio, the credentials, the webhook URLs, a test text."""

from __future__ import annotations

import streamlit as st

from core.messaging import providers, texting
from core import phones
from pages import ui

ui.require_page("texting-provider")

st.title("Texting provider", anchor=False)
st.caption(
    "Where your texts really go. Until you connect Twilio, every text is simulated: logged here, sent to nobody."
)

FLASH = "tp_flash"
LOCKED = "Set on the server (environment or .streamlit/secrets.toml): change it there."

with ui.session() as s:
    config = providers.load(s)
    defaults = texting.get_defaults(s)

if ui.in_training() or ui.in_demo():
    st.info(
        "This is the " + ("training" if ui.in_training() else "demo") + " shop: its texts are always "
        "simulated, whatever is set for your real shop.",
        icon=":material/science:",
    )

if flash := st.session_state.pop(FLASH, None):
    st.success(flash, icon=":material/check_circle:")

status = (
    "**Twilio is on**: texts go to real phones." if config.live else "**Simulated**: texts are logged, nothing is sent."
)
st.markdown(status)
if config.token_unreadable:
    st.warning(
        f"The saved Auth Token cannot be opened with the current {providers.ENV_SECRET_KEY}. Enter the token again.",
        icon=":material/key_off:",
    )


def field_error(errors: dict, name: str) -> None:
    if name in errors:
        st.error(errors[name], icon=":material/error:")


errors: dict = st.session_state.get("tp_errors", {})
with st.form("tp_form", border=True):
    choice = st.radio(
        "Provider",
        list(providers.PROVIDERS),
        key="tp_provider",
        index=list(providers.PROVIDERS).index(config.provider),
        format_func=providers.PROVIDERS.get,
        disabled="provider" in config.preset,
        help=LOCKED if "provider" in config.preset else None,
        horizontal=True,
    )
    field_error(errors, "provider")
    st.markdown("**Twilio account** — from the Twilio Console, *Account info*.")
    sid = st.text_input(
        "Account SID",
        value=config.account_sid,
        key="tp_sid",
        placeholder="AC…",
        disabled="account_sid" in config.preset,
        help=LOCKED if "account_sid" in config.preset else None,
    )
    field_error(errors, "account_sid")
    if "auth_token" in config.preset:
        token = ""
        st.text_input("Auth Token", value="Set on the server", key="tp_token_locked", disabled=True, help=LOCKED)
    else:
        saved_note = "A token is saved (encrypted). Leave this empty to keep it." if config.token_stored else ""
        token = st.text_input(
            "Auth Token",
            value="",
            key="tp_token",
            type="password",
            autocomplete="off",
            placeholder="•" * 12 if config.token_stored else "32 letters and digits",
            help=f"Never shown again and never stored in plain text: encrypted with {providers.ENV_SECRET_KEY}.",
        )
        if saved_note:
            st.caption(saved_note)
        elif not providers.can_store_token():
            st.caption(
                f"To save the token here, the server needs {providers.ENV_SECRET_KEY} (any long random "
                f"phrase) in its environment or .streamlit/secrets.toml; or set {providers.ENV_TOKEN} there."
            )
    field_error(errors, "auth_token")
    public_url = st.text_input(
        "Public URL of this app",
        value=config.public_url,
        key="tp_public_url",
        placeholder="https://texts.myshop.com",
        disabled="public_url" in config.preset,
        help=LOCKED
        if "public_url" in config.preset
        else "The address Twilio reaches this app at; webhook signatures are checked against it.",
    )
    field_error(errors, "public_url")
    rate = st.number_input(
        "Texts per second",
        min_value=0.1,
        max_value=providers.MAX_RATE,
        value=float(config.rate),
        step=0.5,
        key="tp_rate",
        disabled="rate" in config.preset,
        help="1 a second suits a new 10DLC number (low-volume class). Ask Twilio before raising it.",
    )
    field_error(errors, "rate")
    submitted = st.form_submit_button("Save", key="tp_save", type="primary")

if submitted:
    try:
        with ui.session() as s:
            saved = providers.save(
                s, provider=choice, account_sid=sid, auth_token=token, public_url=public_url, rate=rate, by=ui.actor()
            )
    except providers.ProviderSettingsError as exc:
        st.session_state["tp_errors"] = exc.errors
    except ui.OwnerError as exc:  # NotAllowed: the role changed or the session ended since the page loaded
        st.session_state["tp_errors"] = {"provider": str(exc)}
    else:
        st.session_state.pop("tp_errors", None)
        st.session_state.pop("tp_token", None)  # the typed token is not kept, not even in the browser session
        st.session_state[FLASH] = (
            "Saved. Twilio is on: texts go to real phones." if saved.live else "Saved. Texts are simulated."
        )
    st.rerun()

st.subheader("Webhooks to paste into Twilio", anchor=False)
if config.public_url:
    st.markdown(
        "In the Twilio Console, open your phone number (and the Text To Join number), "
        "*Messaging configuration*: **A message comes in** → Webhook, HTTP POST:"
    )
    st.code(config.inbound_url, language=None)
    st.markdown(
        "Delivery reports come to this address (each text asks for it; you may also set it as the "
        "number's or Messaging Service's *status callback URL*):"
    )
    st.code(config.status_url, language=None)
else:
    st.caption("Save the public URL of this app to see the two addresses to paste into Twilio.")
numbers = [
    f"Main number **{ui.plain(phones.format_display(defaults.main_number))}**" if defaults.main_number else "",
    f"Text To Join number **{ui.plain(phones.format_display(defaults.join_number))}**" if defaults.join_number else "",
]
st.caption(
    "Texts go out from, and come in to, the numbers in Configure › Texting Defaults: "
    + " and ".join(n for n in numbers if n)
    + ". Both must be numbers of your Twilio account."
)

st.subheader("Send a test text", anchor=False)
with st.form("tp_test_form", border=True):
    to = st.text_input("Your mobile number", key="tp_test_phone", placeholder="(415) 555-0123")
    st.caption(f"It says: “{providers.TEST_BODY}”")
    test = st.form_submit_button("Send a test text", key="tp_test_send", icon=":material/send:")
if test:
    try:
        with ui.session() as s:
            result = providers.send_test(s, phone=to, by=ui.actor())
    except (providers.TestTextError, ui.OwnerError) as exc:  # OwnerError: NotAllowed
        ui.show_error(exc)
    else:
        if config.live:
            st.success(
                f"Sent through Twilio (message {ui.plain(result.sid)}). It should arrive within a minute.",
                icon=":material/check_circle:",
            )
        else:
            st.info(
                "Simulated: nothing was sent. Choose Twilio and save to send a real test text.",
                icon=":material/science:",
            )
