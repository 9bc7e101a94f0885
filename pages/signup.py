"""The public sign-up page (rulebook §6): /signup?form=<slug>, the main form when none. No sign-in.

Everything a customer typed is shown back as plain text only; nothing here
mentions the owner's pages.
"""

from __future__ import annotations

import html

import streamlit as st

from core.consent import age
from core.signups import forms, signup, signup_limits
from core.messaging import texting
import widgets
from pages import ui


PREFIX = "signup_"
RESULT_KEY = "signup_result"
ERRORS_KEY = "signup_errors"
PLACEHOLDERS = {
    "first_name": "Jane",
    "last_name": "Doe",
    "phone": "(415) 555-0123",
    "email": "jane@example.com",
    "birthday": "MM/DD/YYYY",
    "zip": "94110",
    "signature": "Type your full name",
}
ALERTS = {
    signup.Outcome.check_phone: (st.info, ":material/sms:"),
    signup.Outcome.already_requested: (st.info, ":material/sms:"),
    signup.Outcome.subscribed: (st.success, ":material/check_circle:"),
    signup.Outcome.already_subscribed: (st.success, ":material/check_circle:"),
    signup.Outcome.text_start: (st.warning, ":material/sms:"),
    signup.Outcome.thank_you: (st.success, ":material/check_circle:"),
    signup.Outcome.under_age: (st.info, ":material/info:"),
}

_CSS = """
<style>
.st-key-signup_card h1 { margin-bottom: 0; }
.signup-disclosure { font-size: 0.8rem; line-height: 1.35; color: rgba(49, 51, 63, 0.75); margin: 0.25rem 0 0.5rem; }
.st-key-signup_card [data-testid="stAlertContainer"] p { font-size: 0.9rem; }
@media (max-width: 640px) {
  [data-testid="stMainBlockContainer"] { padding-left: 1rem; padding-right: 1rem; }
  .st-key-signup_card h1 { font-size: 2rem; }
}
</style>
"""
_HIDE_NAV = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stSidebarNav"],
[data-testid="stExpandSidebarButton"] { display: none !important; }
</style>
"""


def _submit(slug: str, visible: list[str]) -> None:
    """The Sign up button's callback: runs before the page is drawn, so errors sit beside their fields."""
    answers = {key: st.session_state.get(PREFIX + key, "") for key in visible}
    st.session_state.pop(ERRORS_KEY, None)
    try:
        with ui.session() as s:
            result = signup.submit(s, form_slug=slug, answers=answers, client_address=st.context.ip_address)
    except signup.InvalidSubmission as exc:
        st.session_state[ERRORS_KEY] = exc.errors
    except signup_limits.TooManySignups as exc:  # nothing saved, nothing sent; what was typed stays
        st.session_state[ERRORS_KEY] = {"_limit": exc.message}
    except forms.FormNotFound as exc:
        st.session_state[ERRORS_KEY] = {"_form": str(exc)}
    else:
        st.session_state[RESULT_KEY] = {
            "slug": slug,
            "outcome": result.outcome.value,
            "headline": result.headline,
            "sentence": result.sentence,
        }
        for key in visible:
            st.session_state.pop(PREFIX + key, None)


def _start_over() -> None:
    st.session_state.pop(RESULT_KEY, None)
    st.session_state.pop(ERRORS_KEY, None)


def _open_main() -> None:
    st.query_params.clear()


if not ui.is_signed_in():
    st.html(_HIDE_NAV)
st.html(_CSS)
if ui.is_signed_in() and ui.in_training():
    st.caption(
        ":orange[:material/school: Training shop: this sign-up goes to the training shop, not to your real customers.]"
    )

slug = str(st.query_params.get("form", "") or "").strip()
with ui.session() as s:
    brand = texting.get_defaults(s).brand
    st.set_page_config(page_title=f"Sign up · {brand}", layout="centered")
    try:
        form = forms.get_by_slug(s, slug)
    except forms.FormNotFound:
        form = None
    if form is not None:
        seen_key = f"signup_viewed_{form.id}"
        if not st.session_state.get(seen_key):
            try:
                forms.record_view(s, form_id=form.id)
            except Exception as exc:  # a view that could not be counted never stops a sign-up: logged only
                ui.report_unexpected(exc, f"counting a view of the form {form.slug}")
            st.session_state[seen_key] = True
        form_slug, collects_sms, disclosure = form.slug, form.collects_sms, form.disclosure
        min_age = age.min_age(s)
        modes = age.form_modes(forms.field_modes(form), min_age)  # the age gate asks every form for it

with st.container(key="signup_card"):
    st.title(widgets.plain(brand), anchor=False)
    if form is None:
        st.subheader("Sign-up form not found", anchor=False)
        st.write("We couldn't find that sign-up form. The link may be old or mistyped.")
        st.button("Open our sign-up form", key="signup_open_main", on_click=_open_main, type="primary")
        st.stop()

    result = st.session_state.get(RESULT_KEY)
    if result and result.get("slug") == form_slug:
        alert, icon = ALERTS[signup.Outcome(result["outcome"])]
        st.subheader(result["headline"], anchor=False)
        alert(widgets.plain(result["sentence"]), icon=icon)
        st.button("Sign up another person", key="signup_again", on_click=_start_over)
        st.stop()

    st.markdown("Join our texting list." if collects_sms else "Sign up with your details.")
    if min_age:
        st.caption(age.form_note(min_age))
    errors: dict[str, str] = st.session_state.get(ERRORS_KEY, {})
    if errors.get("_form"):
        st.error(errors["_form"])
    visible = [key for key, mode in modes.items() if mode != forms.HIDDEN]
    with st.form("signup_form", border=False, enter_to_submit=True):
        for key in visible:
            name = "Date of birth" if key == "birthday" and min_age else forms.FIELDS[key]
            label = name + (" *" if modes[key] == forms.REQUIRED else " (optional)")
            st.text_input(
                label,
                key=PREFIX + key,
                placeholder=PLACEHOLDERS[key],
                autocomplete={
                    "first_name": "given-name",
                    "last_name": "family-name",
                    "phone": "tel",
                    "email": "email",
                    "birthday": "bday",
                    "zip": "postal-code",
                }.get(key, "off"),
                help="Type your full name: it is your signature." if key == "signature" else None,
            )
            if key in errors:
                st.error(errors[key], icon=":material/error:")
        if collects_sms:
            st.html(f'<p class="signup-disclosure">{html.escape(disclosure)}</p>')
        st.form_submit_button(
            "Sign up", type="primary", key="signup_submit", width="stretch", on_click=_submit, args=(form_slug, visible)
        )
    if errors.get("_limit"):  # beside the button just pressed
        st.warning(errors["_limit"], icon=":material/schedule:")
    elif errors and not errors.get("_form"):
        st.caption(":red[Please fix the fields marked above; nothing was saved yet.]")
