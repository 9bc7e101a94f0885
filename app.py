"""Opt-In Desk: st.navigation once; the public sees only the sign-up page, the Stop texting me page and sign-in.

`streamlit run app.py` finds the st.App below and serves it (Streamlit >= 1.56, uvicorn): the dashboard
(this file, run as the page script, where __name__ == "__main__"), Twilio's webhooks
(/sms/twilio/inbound, /sms/twilio/status) and the background texting sender, in one process.

A signed-in person's menu holds the pages their role may open (core/staff/roles.PAGES); the others are
registered hidden, so opened by URL they run and say calmly that they are not available for the role.
"""

from pathlib import Path

import streamlit as st

from core.staff import roles
from pages import ui

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
    ("Settings", "pages/texting_provider.py", "Texting provider", "texting-provider", ":material/cell_tower:"),
    ("Settings", "pages/age_gate.py", "Age gate", "age-gate", ":material/cake:"),
    ("Settings", "pages/registration.py", "Carrier registration", "carrier-registration", ":material/verified:"),
    ("Training", "pages/walkthrough.py", "Walkthrough", "walkthrough", ":material/school:"),
    ("Settings", "pages/people.py", "People", "people", ":material/badge:"),
    ("Data Analytics", "pages/activity.py", "Activity", "activity", ":material/history:"),
]
PUBLIC_SIGNUP = ("pages/signup.py", "Sign up", "signup", ":material/how_to_reg:")
PUBLIC_STOP = ("pages/stop.py", "Stop texting me", "stop", ":material/sms_failed:")  # rulebook §10
SIGN_IN = ("pages/sign_in.py", "Sign in", "sign-in", ":material/login:")


def _page(file, title, url_path, icon, default=False, visibility="visible"):
    return st.Page(file, title=title, url_path=url_path, icon=icon, default=default, visibility=visibility)


if __name__ != "__main__":  # imported by `streamlit run` / uvicorn to find the app
    from core.messaging import webhooks

    app = st.App(__file__, routes=webhooks.routes(), lifespan=webhooks.lifespan)
else:  # the page script, run for every browser session
    st.set_page_config(page_title="Opt-In Desk", page_icon="✅", layout="wide")
    signup = [_page(*page) for page in (PUBLIC_SIGNUP, PUBLIC_STOP) if (HERE / page[0]).exists()]

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
            st.warning(
                "**Demo shop** — sign-ups on this page go to the demo shop, not your real shop. Leave the "
                "demo before customers use it.",
                icon=":material/storefront:",
            )
    else:
        nav = st.navigation([_page(*SIGN_IN, default=True), *signup])
    nav.run()
