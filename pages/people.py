"""Settings › People (owner only): who can sign in, with which role; passwords, sessions, disabling."""

from __future__ import annotations

import streamlit as st
from sqlmodel import Session

from pages import ui

ui.require_page("people")

from core import auth  # noqa: E402
from core.clock import utcnow  # noqa: E402
from core.staff import accounts  # noqa: E402
from core.staff.roles import ROLE_HELP, Role  # noqa: E402

FLASH = "people_flash"
ROLES = [r.value for r in Role]


def _label(role: str) -> str:
    return Role(role).label


def _ago(when) -> str:
    if when is None:
        return "never"
    minutes = int((utcnow() - when).total_seconds() // 60)
    if minutes < 2:
        return "just now"
    if minutes < 120:
        return f"{minutes} minutes ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} hours ago"
    return f"{minutes // (24 * 60)} days ago"


st.title("People", anchor=False)
st.caption(
    "Everyone who signs in to Opt-In Desk. Each person signs in as themselves, so the Activity page and "
    "each customer's consent history say who did what."
)
if flash := st.session_state.pop(FLASH, None):
    st.success(flash, icon=":material/check_circle:")

with Session(ui.main_engine()) as s:  # people belong to the real shop, also while exploring the demo
    everyone = accounts.people(s)
    st.dataframe(
        [
            {
                "Name": p.name,
                "Sign-in name": p.sign_in_name,
                "Role": _label(p.role),
                "Status": "Disabled" if p.disabled_at else "Active",
                "Signed in now": accounts.active_sessions(s, p.id) if not p.disabled_at else 0,
                "Last active": _ago(p.last_seen_at),
            }
            for p in everyone
        ],
        hide_index=True,
        width="stretch",
        key="people_table",
    )
    with st.expander("What each role can do", icon=":material/help:"):
        for role in Role:
            st.markdown(f"**{role.label}** — {ROLE_HELP[role]}")

    with st.expander("Add a person", icon=":material/person_add:", expanded=len(everyone) == 1):
        with st.form("people_add", border=False):
            a, b = st.columns(2)
            name = a.text_input(
                "Name",
                key="people_add_name",
                max_chars=accounts.MAX_NAME,
                help="As the activity list and the consent history show it, e.g. Maria Lopez",
            )
            name_slot = a.empty()
            login = b.text_input(
                "Sign-in name",
                key="people_add_login",
                max_chars=accounts.MAX_SIGN_IN_NAME,
                help="What they type to sign in, e.g. maria (no spaces)",
            )
            login_slot = b.empty()
            role = st.radio(
                "Role",
                ROLES,
                index=ROLES.index("staff"),
                key="people_add_role",
                horizontal=True,
                format_func=_label,
                captions=[ROLE_HELP[Role(r)] for r in ROLES],
            )
            role_slot = st.empty()
            a, b = st.columns(2)
            password = a.text_input(
                "Password",
                type="password",
                key="people_add_password",
                autocomplete="new-password",
                help=f"At least {auth.MIN_LENGTH} characters. Tell it to them in person; they can't see it here later.",
            )
            password_slot = a.empty()
            again = b.text_input("Type it again", type="password", key="people_add_again", autocomplete="new-password")
            add = st.form_submit_button(
                "Add person", key="people_add_submit", type="primary", icon=":material/person_add:"
            )
        if add:
            if password != again:
                password_slot.error(
                    "The two passwords are different. Type the same password twice.", icon=":material/error:"
                )
            else:
                with ui.guard(
                    "adding a person",
                    fields={
                        "name": name_slot,
                        "sign_in_name": login_slot,
                        "role": role_slot,
                        "password": password_slot,
                    },
                ) as done:
                    added = accounts.add_person(
                        s, name=name, sign_in_name=login, role=role, password=password, by=ui.actor()
                    )
                if done.ok:
                    for key in ("people_add_name", "people_add_login", "people_add_password", "people_add_again"):
                        st.session_state.pop(key, None)
                    st.session_state[FLASH] = (
                        f"Added {added.name}. They sign in with the sign-in name "
                        f"“{added.sign_in_name}” and the password you chose."
                    )
                    st.rerun()

    st.subheader("Change a person", anchor=False)
    ids = [p.id for p in everyone]
    names = {p.id: f"{p.name} ({p.sign_in_name}{', disabled' if p.disabled_at else ''})" for p in everyone}
    pick = st.selectbox("Person", ids, key="people_pick", format_func=lambda i: names.get(i, "?"))
    person = next((p for p in everyone if p.id == pick), None)
    if person is not None:
        me = ui.actor()
        with st.container(border=True, key="people_edit_box"):
            with st.form(f"people_edit_{person.id}", border=False):
                a, b = st.columns(2)
                new_name = a.text_input(
                    "Name", value=person.name, key=f"people_name_{person.id}", max_chars=accounts.MAX_NAME
                )
                new_name_slot = a.empty()
                new_login = b.text_input(
                    "Sign-in name",
                    value=person.sign_in_name,
                    key=f"people_login_{person.id}",
                    max_chars=accounts.MAX_SIGN_IN_NAME,
                )
                new_login_slot = b.empty()
                new_role = st.radio(
                    "Role",
                    ROLES,
                    index=ROLES.index(person.role),
                    key=f"people_role_{person.id}",
                    horizontal=True,
                    format_func=_label,
                    disabled=person.builtin,
                    help="The shop's original owner stays an owner."
                    if person.builtin
                    else "A new role applies at their next click.",
                )
                new_role_slot = st.empty()
                save = st.form_submit_button("Save changes", key=f"people_save_{person.id}", icon=":material/save:")
            if save:
                with ui.guard(
                    "changing a person",
                    fields={"name": new_name_slot, "sign_in_name": new_login_slot, "role": new_role_slot},
                ) as done:
                    accounts.update_person(
                        s, person_id=person.id, name=new_name, sign_in_name=new_login, role=new_role, by=ui.actor()
                    )
                if done.ok:
                    st.session_state[FLASH] = f"Saved {new_name}'s changes."
                    st.rerun()

            with st.form(f"people_password_{person.id}", border=False, clear_on_submit=True):
                st.markdown("**Set a new password**")
                a, b = st.columns(2)
                new_pw = a.text_input(
                    "New password", type="password", key=f"people_pw_{person.id}", autocomplete="new-password"
                )
                new_pw_slot = a.empty()
                new_again = b.text_input(
                    "Type it again", type="password", key=f"people_pw_again_{person.id}", autocomplete="new-password"
                )
                set_pw = st.form_submit_button("Set password", key=f"people_set_pw_{person.id}", icon=":material/key:")
            st.caption("Setting someone else's password signs them out everywhere.")
            if set_pw:
                if new_pw != new_again:
                    new_pw_slot.error(
                        "The two passwords are different. Type the same password twice.", icon=":material/error:"
                    )
                else:
                    with ui.guard("setting a password", fields={"password": new_pw_slot}) as done:
                        accounts.set_password(s, person_id=person.id, password=new_pw, by=ui.actor())
                    if done.ok:
                        st.session_state[FLASH] = f"{person.name}'s password is changed."
                        st.rerun()

            row = st.container(horizontal=True, key=f"people_actions_{person.id}")
            if row.button(
                "Sign out everywhere",
                key=f"people_signout_{person.id}",
                icon=":material/logout:",
                disabled=person.id == me.id,
                help="Ends every session of theirs: their next click shows the sign-in page",
            ):
                with ui.guard("signing a person out") as done:
                    ended = accounts.sign_out_everywhere(s, person_id=person.id, by=ui.actor())
                if done.ok:
                    st.session_state[FLASH] = (
                        f"Signed {person.name} out everywhere ({ended} session{'' if ended == 1 else 's'} ended)."
                    )
                    st.rerun()
            if person.disabled_at is None:
                toggle = row.button(
                    "Disable account",
                    key=f"people_disable_{person.id}",
                    icon=":material/block:",
                    disabled=person.id == me.id,
                    help="They can't sign in any more; what they did stays in the history",
                )
            else:
                toggle = row.button("Enable account", key=f"people_enable_{person.id}", icon=":material/check_circle:")
            if toggle:
                with ui.guard("disabling an account") as done:
                    accounts.set_disabled(s, person_id=person.id, disabled=person.disabled_at is None, by=ui.actor())
                if done.ok:
                    st.session_state[FLASH] = (
                        f"{person.name} can't sign in any more; their history stays."
                        if person.disabled_at is None
                        else f"{person.name} can sign in again."
                    )
                    st.rerun()

    st.subheader("Sign-out after inactivity", anchor=False)
    with st.form("people_timeout", border=True):
        minutes = st.number_input(
            "Sign a person out after this many minutes without a click",
            min_value=accounts.MIN_TIMEOUT_MINUTES,
            max_value=accounts.MAX_TIMEOUT_MINUTES,
            value=accounts.timeout_minutes(s),
            step=5,
            key="people_timeout_minutes",
        )
        timeout_slot = st.empty()
        save_timeout = st.form_submit_button("Save", key="people_timeout_save", icon=":material/timer:")
    if save_timeout:
        with ui.guard("saving the inactivity setting", fields={"timeout": timeout_slot}) as done:
            accounts.set_timeout(s, minutes, by=ui.actor())
        if done.ok:
            st.session_state[FLASH] = f"People are signed out after {int(minutes)} minutes without a click."
            st.rerun()
    st.caption(
        "Forgot the owner password? On the server, run `optin-desk reset-password`: it is never reset from the web."
    )
