"""Opt-In Desk: st.navigation once; the public sees only the sign-up page and sign-in.

A signed-in person's menu holds the pages their role may open (core/staff/roles.PAGES); the others are
registered hidden, so opened by URL they run and say calmly that they are not available for the role."""

from pathlib import Path

import streamlit as st

from core.staff import roles
from pages import ui

st.set_page_config(page_title="Opt-In Desk", page_icon="✅", layout="wide")

HERE = Path(__file__).parent

# (section, file, title, url path, icon). A page appears once its file exists.
OWNER_PAGES = [
    ("", "pages/personas.py", "Personas", "personas", ":material/group:"),
    ("", "pages/audiences.py", "Audiences", "audiences", ":material/filter_alt:"),
    ("", "pages/inbox.py", "Inbox", "inbox", ":material/sms:"),
    ("Data Analytics", "pages/reports.py", "Reports", "reports", ":material/insights:"),
    ("Data Analytics", "pages/member_club.py", "Member Club", "member-club", ":material/pending_actions:"),
    ("Configure", "pages/texting_defaults.py", "Texting Defaults", "texting-defaults", ":material/edit_note:"),
    ("Settings", "pages/signup_forms.py", "Sign-up Forms", "signup-forms", ":material/assignment:"),
    ("Settings", "pages/integrations.py", "Integrations", "integrations", ":material/sync:"),
    ("Settings", "pages/import_customers.py", "Import", "import", ":material/upload_file:"),
    ("Training", "pages/walkthrough.py", "Walkthrough", "walkthrough", ":material/school:"),
    ("Settings", "pages/people.py", "People", "people", ":material/badge:"),
    ("Data Analytics", "pages/activity.py", "Activity", "activity", ":material/history:"),
]
PUBLIC_SIGNUP = ("pages/signup.py", "Sign up", "signup", ":material/how_to_reg:")
SIGN_IN = ("pages/sign_in.py", "Sign in", "sign-in", ":material/login:")


def _page(file, title, url_path, icon, default=False, visibility="visible"):
    return st.Page(file, title=title, url_path=url_path, icon=icon, default=default, visibility=visibility)


signup = [_page(*PUBLIC_SIGNUP)] if (HERE / PUBLIC_SIGNUP[0]).exists() else []

who = ui.current_actor()
if who is not None:
    sections: dict[str, list] = {}
    hidden = []
    first = True
    for section, file, title, url_path, icon in OWNER_PAGES:
        if not (HERE / file).exists():
            continue
        if roles.may_open(who.role, url_path):
            sections.setdefault(section, []).append(_page(file, title, url_path, icon, default=first))
            first = False
        else:  # reachable by URL only, where the page says it is not available for this role
            hidden.append(_page(file, title, url_path, icon, visibility="hidden"))
    if hidden:
        sections.setdefault("", []).extend(hidden)
    if signup:
        sections.setdefault("Public", []).extend(signup)
    ui.sidebar()
    nav = st.navigation(sections)
    if ui.in_demo() and nav.url_path == PUBLIC_SIGNUP[2]:  # owner pages show the demo banner themselves
        st.warning("**Demo shop** — sign-ups on this page go to the demo shop, not your real shop. Leave the "
                   "demo before customers use it.", icon=":material/storefront:")
else:
    nav = st.navigation([_page(*SIGN_IN, default=True), *signup])
nav.run()
