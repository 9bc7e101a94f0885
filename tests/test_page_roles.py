"""Every page × every role through AppTest (issue 17), plus People and Activity.

A page the role may open renders without an error; one it may not shows only the calm "not available for
your role" line (what a person reaches by typing its URL: app.py registers it hidden). Each role signs in
for real (a person, a session row), so the session checks run as in the app.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from core.consent import customers
from core.models import Activity, Customer, Person, SmsStatus
from core.staff import accounts
from core.staff.roles import Role
from tests.factories import make_customer, phone
from tests.test_role_matrix import EXPECTED_PAGES

ROOT = Path(__file__).resolve().parent.parent
FILES = {
    "personas": "personas",
    "audiences": "audiences",
    "inbox": "inbox",
    "reports": "reports",
    "member-club": "member_club",
    "texting-defaults": "texting_defaults",
    "signup-forms": "signup_forms",
    "integrations": "integrations",
    "import": "import_customers",
    "walkthrough": "walkthrough",
    "people": "people",
    "activity": "activity",
    "texting-provider": "texting_provider",
    "age-gate": "age_gate",
    "carrier-registration": "registration",
}
PASSWORD = "a-long-password"


def _sign_in(app_db, role: Role, login: str | None = None) -> dict:
    with Session(app_db) as s:
        login = login or f"{role.value}1"
        if s.exec(select(Person).where(Person.sign_in_name == login)).first() is None:
            accounts.add_person(s, name=f"{role.label} One", sign_in_name=login, role=role.value, password=PASSWORD)
        done = accounts.sign_in(s, login, PASSWORD, client="local")
        return {"id": done.person.id, "token": done.token}


def run(app_db, url: str, role: Role, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{FILES[url]}.py"), default_timeout=60)
    at.session_state["signed_in_person"] = _sign_in(app_db, role)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    return at


def test_every_page_of_the_menu_is_in_the_roles_table():
    app = (ROOT / "app.py").read_text()
    assert set(FILES) <= set(EXPECTED_PAGES)
    for url in FILES:
        assert f'"{url}"' in app


@pytest.mark.parametrize("url", sorted(FILES))
@pytest.mark.parametrize("role", list(Role))
def test_each_page_for_each_role(app_db, url, role):
    at = run(app_db, url, role)
    assert not at.exception, at.exception
    refused = [i.value for i in at.info if "not available for your role" in i.value]
    if role in EXPECTED_PAGES[url]:
        assert not refused
        assert not at.error, [e.value for e in at.error]
    else:
        assert refused == [
            f"This page is not available for your role ({role.label}). The pages in the menu are "
            "the ones you can use; ask the shop's owner if you need this one."
        ]
        assert not at.error and not at.dataframe and not at.button and not at.title  # nothing else of the page


def test_owner_signed_in_true_alone_still_means_the_owner(app_db):
    at = AppTest.from_file(str(ROOT / "pages" / "people.py"), default_timeout=60)
    at.session_state["owner_signed_in"] = True
    at.run()
    assert not at.exception and at.title[0].value == "People"


def test_staff_on_personas_can_record_an_opt_out_but_not_edit_or_export(app_db):
    with Session(app_db) as s:
        c = make_customer(s, phone_number=phone(), first_name="Pat")
    at = AppTest.from_file(str(ROOT / "pages" / "personas.py"), default_timeout=60)
    at.session_state["signed_in_person"] = _sign_in(app_db, Role.staff)
    at.query_params["customer"] = str(c.id)
    at.run()
    assert at.button(key=f"persona_save_{c.id}").disabled
    assert not [b for b in at.get("download_button") if "proof" in str(b.proto.label).lower()]
    at.text_input(key=f"persona_optout_reason_{c.id}").input("asked at the counter")
    at.button(key="persona_optout").click().run()
    assert not at.exception
    with Session(app_db) as s:
        assert s.get(Customer, c.id).sms_status is SmsStatus.opted_out
        ev = customers.ledger(s, c.id)[0].evidence
        assert ev["by"] == "Staff One"
        assert s.exec(select(Activity).where(Activity.customer_id == c.id)).one().person_name == "Staff One"


def _persona_page(app_db, role: Role, customer_id: int) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "personas.py"), default_timeout=60)
    at.session_state["signed_in_person"] = _sign_in(app_db, role)
    at.query_params["customer"] = str(customer_id)
    at.run()
    assert not at.exception
    return at


@pytest.mark.parametrize("role", list(Role))
def test_only_the_owner_may_delete_a_customers_data_and_staff_download_no_opt_out_list(app_db, role):
    with Session(app_db) as s:
        c = make_customer(s, phone_number=phone(), first_name="Pat", status=SmsStatus.opted_out)
    at = _persona_page(app_db, role, c.id)
    deletes = [b for b in at.button if b.key == "persona_delete"]
    assert bool(deletes) is (role is Role.owner)
    listing = AppTest.from_file(str(ROOT / "pages" / "personas.py"), default_timeout=60)
    listing.session_state["signed_in_person"] = _sign_in(app_db, role)
    listing.run()
    optout_list = [b for b in listing.get("download_button") if "opt-out list" in str(b.proto.label)]
    assert bool(optout_list) is (role is not Role.staff)
    if role is Role.owner:
        at.checkbox(key=f"persona_delete_sure_{c.id}").check().run()
        at.button(key="persona_delete").click().run()
        assert not at.exception
        with Session(app_db) as s:
            assert s.get(Customer, c.id) is None
            row = s.exec(select(Activity).where(Activity.summary.startswith("Deleted a customer's data"))).one()
            assert row.person_name == "Owner One" and "Pat" not in row.summary


def test_an_opt_out_taken_by_a_colleague_names_them_and_who_entered_it(app_db):
    with Session(app_db) as s:
        c = make_customer(s, phone_number=phone(), first_name="Pat")
    at = _persona_page(app_db, Role.staff, c.id)
    at.text_input(key=f"persona_optout_by_{c.id}").set_value("Sam on the phone")
    at.button(key="persona_optout").click().run()
    assert not at.exception and not at.error
    with Session(app_db) as s:
        ev = customers.ledger(s, c.id)[0].evidence
        assert ev["by"] == "Sam on the phone" and ev["entered_by"] == "Staff One"
        row = s.exec(select(Activity).where(Activity.customer_id == c.id)).one()
        assert row.person_name == "Staff One" and "taken by Sam on the phone" in row.summary


def test_staff_see_the_inbox_simulator_without_the_review_tab(app_db):
    at = run(app_db, "inbox", Role.staff)
    assert [t.label for t in at.tabs] == ["Simulator", "Message log"]
    at = run(app_db, "inbox", Role.manager)
    assert [t.label for t in at.tabs] == ["Simulator", "Possible opt-outs", "Message log"]


def test_a_role_changed_while_signed_in_applies_at_the_next_click(app_db):
    at = AppTest.from_file(str(ROOT / "pages" / "import_customers.py"), default_timeout=60)
    at.session_state["signed_in_person"] = _sign_in(app_db, Role.manager, "mgr")
    at.run()
    assert not [i for i in at.info if "not available" in i.value]
    with Session(app_db) as s:
        person = s.exec(select(Person).where(Person.sign_in_name == "mgr")).one()
        accounts.update_person(s, person_id=person.id, role="staff")
    at.run()  # the next click
    assert [i.value for i in at.info if "not available for your role (Staff)" in i.value]


def test_a_person_signed_out_everywhere_sees_the_sign_in_notice_at_the_next_click(app_db):
    at = AppTest.from_file(str(ROOT / "pages" / "personas.py"), default_timeout=60)
    at.session_state["signed_in_person"] = _sign_in(app_db, Role.staff, "pat")
    at.run()
    with Session(app_db) as s:
        person = s.exec(select(Person).where(Person.sign_in_name == "pat")).one()
        accounts.sign_out_everywhere(s, person_id=person.id)
    at.run()
    assert [e.value for e in at.error] == ["Sign in to see this page."]
    assert at.session_state["signed_out_notice"] == "The owner signed you out. Sign in again."


def test_the_owner_adds_a_person_and_a_duplicate_is_refused_beside_the_field(app_db):
    at = AppTest.from_file(str(ROOT / "pages" / "people.py"), default_timeout=60)
    at.session_state["owner_signed_in"] = True
    at.run()
    for key, value in (
        ("people_add_name", "Maria Lopez"),
        ("people_add_login", "maria"),
        ("people_add_password", PASSWORD),
        ("people_add_again", PASSWORD),
    ):
        at.text_input(key=key).input(value)
    at.button(key="people_add_submit").click().run()
    assert not at.exception and "Added Maria Lopez" in at.success[0].value
    for key, value in (
        ("people_add_name", "Maria Again"),
        ("people_add_login", "Maria"),
        ("people_add_password", PASSWORD),
        ("people_add_again", PASSWORD),
    ):
        at.text_input(key=key).input(value)
    at.button(key="people_add_submit").click().run()
    assert [e.value for e in at.error] == ["The sign-in name “maria” is taken (by Maria Lopez). Choose another."]
    assert at.text_input(key="people_add_name").value == "Maria Again"  # what was typed stays
    with Session(app_db) as s:
        assert len(s.exec(select(Person)).all()) == 2


def test_the_owner_cannot_disable_the_last_owner_from_the_page(app_db):
    at = AppTest.from_file(str(ROOT / "pages" / "people.py"), default_timeout=60)
    at.session_state["owner_signed_in"] = True
    at.run()
    with Session(app_db) as s:
        owner = accounts.owner(s)
    assert at.button(key=f"people_disable_{owner.id}").disabled  # your own account, while you use it


def test_activity_lists_the_trail_with_filters_and_a_formula_safe_export(app_db):
    with Session(app_db) as s:
        staff = accounts.actor_for(
            accounts.add_person(s, name="=cmd()", sign_in_name="x", role="staff", password=PASSWORD)
        )
        c = make_customer(s)
        customers.record_opt_out(s, customer_id=c.id, reason="asked", by=staff)
    at = run(app_db, "activity", Role.manager)
    assert not at.exception and not at.error
    df = at.dataframe[0].value
    assert list(df["Person"]) == ["owner", "=cmd()", "owner"]  # newest first: sign-in's add, the opt-out, the add
    assert "Recorded an opt-out" in df["What"][1] and df["Role"][1] == "Staff"
    at.selectbox(key="activity_person").set_value(staff.id).run()
    assert list(at.dataframe[0].value["Person"]) == ["=cmd()"]
