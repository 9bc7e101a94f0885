"""Settings > Age gate: a minimum age for consent (rulebook §11), shop-wide."""

from __future__ import annotations

import streamlit as st

from pages import ui

ui.require_page("age-gate")

from core.consent import age  # noqa: E402

st.title("Age gate", anchor=False)
st.caption(
    "If you sell to adults only, take consent only from customers old enough. The age gate is shop-wide: "
    "every sign-up form asks for a date of birth, Text To Join asks for it by text before sending the "
    "opt-in request, and audiences and exports leave out anyone whose age isn't verified."
)

with ui.session() as s:
    current = age.min_age(s)
    flash = st.session_state.pop("age_flash", None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    choice = st.segmented_control(
        "Minimum age to join your texts",
        list(age.CHOICES),
        key="age_choice",
        default=current,
        format_func=lambda v: age.CHOICE_LABELS[v],
        selection_mode="single",
        required=True,
    )
    if st.button("Save", key="age_save", type="primary", icon=":material/save:", disabled=choice == current):
        try:
            age.set_min_age(s, choice, by=ui.actor())
        except (age.AgeError, ui.OwnerError) as exc:  # OwnerError: NotAllowed
            ui.show_error(exc)
        else:
            st.session_state["age_flash"] = (
                "Age gate off: forms and Text To Join take consent without a date of birth."
                if not choice
                else f"Age gate on: customers must be {choice} or older to join."
            )
            st.rerun()
    if current:
        hidden = age.unverified_count(s)
        st.info(
            f"**On: {current} or older.** Under-age attempts get a calm refusal and nothing about them is "
            "stored but a count. The date of birth and its check are kept with each opt-in as evidence.",
            icon=":material/cake:",
        )
        if hidden:
            st.caption(
                f"{hidden:,} customer{'s' if hidden != 1 else ''} (imported, synced, or who joined before the "
                "gate) have no verified date of birth: they are left out of audiences and exports until they "
                "sign up again with one, or text it when they next join."
            )
    else:
        st.caption("Off: no date of birth is asked.")

    st.subheader("Refused for age", anchor=False)
    rows = [{"Where": name, "Refused": n} for name, n in age.form_refusals(s)]
    rows.append({"Where": "Text To Join", "Refused": age.text_refusals(s)})
    if not any(r["Refused"] for r in rows):
        st.caption("No one has been refused for age yet.")
    else:
        st.dataframe(rows, hide_index=True, key="age_refusals_table")
