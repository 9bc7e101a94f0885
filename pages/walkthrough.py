"""Walkthrough: compliance training in a training shop, with checks that turn green as the trainee works."""

from __future__ import annotations

import secrets

import streamlit as st

import widgets
from core.training import certificate, training, walkthrough
from pages import ui

ui.require_page("walkthrough")

st.title("Walkthrough")


def start(name: str) -> None:
    token = st.session_state.setdefault("training_token", secrets.token_hex(4))
    try:
        with st.spinner("Setting up the training shop with the demo customers…"):
            url = training.prepare(ui.main_url(), token, trainee=name)
    except training.TrainingError as exc:
        ui.show_error(exc)
        return
    st.session_state[ui.TRAINING_KEY] = url
    st.rerun()


if not ui.in_training():
    st.markdown(
        "Teach shop staff the texting consent rules by doing. A walkthrough switches **this browser tab** to a "
        "**training shop**: a separate copy of the demo shop, so nothing a trainee does touches your real customers. "
        "Each scenario lists steps the trainee performs on the real pages — Sign up, Inbox, Personas, Texting "
        "Defaults, Sign-up Forms, Integrations, Import — and each step turns green when the training shop shows it "
        "was done."
    )
    for sc in walkthrough.SCENARIOS:
        st.markdown(f"- **{sc.title}** — {sc.goal}")
    with st.form("start_training", border=True):
        name = st.text_input("Trainee's name (for the certificate)", key="trainee_name", max_chars=60)
        if st.form_submit_button("Start a walkthrough", type="primary", icon=":material/school:"):
            start(name)
    st.stop()

# --- in the training shop -----------------------------------------------------------------------------
with ui.session() as s:
    view = walkthrough.overview(s)
results, trainee = view.results, view.trainee

with st.columns([2, 3])[0]:  # the name on a row of its own, so the buttons below keep their whole labels
    new_name = st.text_input(
        "Trainee", value=trainee, key="trainee_name_live", max_chars=60, placeholder="Name for the certificate"
    )
    if new_name != trainee:
        with ui.session() as s:
            training.set_trainee(s, new_name)
        trainee = new_name
top = st.container(horizontal=True, key="training_actions")
top.button("Check again", key="check_again", icon=":material/refresh:", type="primary")
if top.button("Reset training shop", key="reset_training", icon=":material/restart_alt:"):
    url = st.session_state[ui.TRAINING_KEY]
    training.drop(url, ui._engine_for(url))
    training.reset(url, trainee=trainee)
    st.toast("The training shop starts afresh.")
    st.rerun()
if top.button("Leave training shop", key="leave_training", icon=":material/logout:"):
    ui.leave_training()
    st.rerun()

st.progress(view.fraction, text=view.progress_text)
if view.started:
    st.caption(view.started)

st.markdown(
    "Do each step on the page it names (the sidebar has them all; **Public › Sign up** is the customer's "
    "sign-up form, open it in this tab). Come back here and press **Check again**."
)

for r in results:
    icon = ":material/check_circle:" if r.done else ":material/radio_button_unchecked:"
    with st.expander(r.heading, expanded=not r.done, icon=icon):
        st.caption(r.goal)
        for i, step in enumerate(r.steps, 1):
            mark = ":green[:material/check_circle:]" if step.done else ":gray[:material/radio_button_unchecked:]"
            st.markdown(f"{mark} **Step {i}.** {widgets.plain(step.text)}")
            if not step.done:
                st.caption(f"Hint: {step.hint}")

st.subheader("Completion summary")
st.markdown("\n".join(f"- {widgets.plain(line)}" for line in view.summary_lines))
png = certificate.png(trainee=trainee, results=results, when=view.today, brand=view.brand)
pdf = certificate.pdf(trainee=trainee, results=results, when=view.today, brand=view.brand)
c1, c2 = st.columns(2)
c1.download_button(
    "Download certificate (PDF)",
    pdf,
    file_name=view.certificate_name("pdf"),
    mime="application/pdf",
    key="cert_pdf",
    icon=":material/picture_as_pdf:",
)
c2.download_button(
    "Download certificate (PNG)",
    png,
    file_name=view.certificate_name("png"),
    mime="image/png",
    key="cert_png",
    icon=":material/image:",
)
with st.expander("Preview the certificate"):
    st.image(png)
