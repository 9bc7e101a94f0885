"""Settings > Carrier registration: the 10DLC packet, from the shop's own settings (Markdown and PDF)."""

from __future__ import annotations

import streamlit as st

from pages import ui

ui.require_page("carrier-registration")

from core.messaging import registration, texting  # noqa: E402
from core.signups import forms  # noqa: E402

st.title("Carrier registration", anchor=False)
st.caption(
    "Carriers register every business that texts customers (10DLC) and reject most campaigns for an "
    "unclear opt-in. This packet answers their form from your own settings: how customers join, the exact "
    "texts and keywords, samples and your privacy sentence."
)

with ui.session() as s:
    d = texting.get_defaults(s)
    headers = st.context.headers
    detected = forms.app_address(st.context.url, "carrier-registration", headers.get("Host") if headers else None)
    given = registration.answers(s)
    hints = registration.suggestions(d.brand)
    flash = st.session_state.pop("reg_flash", None)
    if flash:
        st.success(flash, icon=":material/check_circle:")

    with st.form("reg_answers", border=True):
        st.markdown("**What only you can say**")
        if not any(given.values()):
            st.caption(
                "Suggestions to start from are filled in: make them yours, then **Save answers**. "
                "Nothing is kept until you save."
            )
        values = {}
        values["campaign_description"] = st.text_area(
            "Campaign description",
            value=given["campaign_description"] or hints["campaign_description"],
            key="reg_campaign_description",
            max_chars=registration.MAX_DESCRIPTION,
            help="Who gets the texts and what they are about.",
        )
        for i in (1, 2, 3):
            values[f"sample_{i}"] = st.text_input(
                f"Sample message {i}",
                value=given[f"sample_{i}"] or hints[f"sample_{i}"],
                key=f"reg_sample_{i}",
                max_chars=registration.MAX_SAMPLE,
            )
        values["privacy_sentence"] = st.text_area(
            "Privacy sentence",
            value=given["privacy_sentence"] or hints["privacy_sentence"],
            key="reg_privacy_sentence",
            max_chars=registration.MAX_PRIVACY,
        )
        if st.form_submit_button("Save answers", key="reg_save", icon=":material/save:", type="primary"):
            try:
                registration.save_answers(s, by=ui.actor(), **values)
            except (registration.RegistrationError, ui.OwnerError) as exc:  # OwnerError: NotAllowed
                st.error(ui.plain(str(exc)), icon=":material/error:")
            else:
                st.session_state["reg_flash"] = "Saved your answers."
                st.rerun()

    packet = registration.build(s, base_url=detected)
    st.subheader("The packet", anchor=False)
    if not packet.ready:
        st.warning(
            "**Before the packet can be generated:**\n\n" + "\n".join(f"- {ui.plain(m)}" for m in packet.missing),
            icon=":material/checklist:",
        )
    else:
        md = registration.markdown(packet)
        stem = registration.file_stem(d.brand)
        a, b = st.columns(2)
        a.download_button(
            "Download PDF",
            data=registration.pdf(packet),
            file_name=f"{stem}.pdf",
            mime="application/pdf",
            key="reg_pdf",
            icon=":material/picture_as_pdf:",
            type="primary",
            width="stretch",
        )
        b.download_button(
            "Download Markdown",
            data=md.encode("utf-8"),
            file_name=f"{stem}.md",
            mime="text/markdown",
            key="reg_md",
            icon=":material/description:",
            width="stretch",
        )
        with st.container(border=True, key="reg_preview"):
            st.markdown(md)
