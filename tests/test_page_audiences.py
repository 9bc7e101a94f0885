"""AppTest: Audiences — the help article's "Performed Event / Opt-in status is true", build, save, reload."""

import datetime as dt
from pathlib import Path

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from core.audiences import saved as aud_saved
from core.models import PosSource, SmsStatus, Source
from tests.factories import make_customer

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "audiences.py")


@pytest.fixture
def shop(app_db):
    with Session(app_db) as s:
        for i in range(3):
            make_customer(s, status=SmsStatus.opted_in, first_name=f"In{i}", zip="94110")
        for i in range(2):
            make_customer(
                s, status=SmsStatus.pending, first_name=f"Wait{i}", source=Source.pos_sync, source_detail="Dutchie"
            )
        make_customer(s, status=SmsStatus.opted_out, first_name="Gone", email="gone@example.com")
        s.add(PosSource(name="Dutchie"))
        s.commit()
    return app_db


@pytest.fixture
def at(shop):
    app = AppTest.from_file(PAGE, default_timeout=30)
    app.session_state["owner_signed_in"] = True
    app.run()
    assert not app.exception
    return app


def metric(app) -> str:
    return app.metric[0].value


def test_signed_out_the_page_shows_nothing_but_sign_in(app_db):
    app = AppTest.from_file(PAGE, default_timeout=30)
    app.run()
    assert not app.exception
    assert [e.value for e in app.error] == ["Sign in to see this page."]


def test_the_page_opens_on_opt_in_status_is_true_with_its_count(at):
    assert at.title[0].value == "Audiences"
    trait = at.selectbox(key="aud_trait_1_opt_in_status")
    assert trait.value == "opt_in_status"
    assert "Performed Event / Opt-in status" in trait.options
    assert at.selectbox(key="aud_op_1_opt_in_status").value == "is true"
    assert metric(at) == "3"
    assert len(at.dataframe[0].value) == 3


def test_is_false_counts_everyone_else(at):
    at.selectbox(key="aud_op_1_opt_in_status").set_value("is false").run()
    assert not at.exception
    assert metric(at) == "3"


def test_build_save_and_reload_an_audience(at, shop):
    # second row: Source is one of POS: Dutchie, with the first row switched to "is false"
    at.selectbox(key="aud_op_1_opt_in_status").set_value("is false").run()
    at.button(key="aud_add").click().run()
    at.selectbox(key="aud_trait_2_opt_in_status").set_value("source").run()
    assert not at.exception
    at.multiselect(key="aud_val_2_source_is_one_of").set_value(["pos:Dutchie"]).run()
    assert metric(at) == "2"
    at.text_input(key="aud_name").input("Dutchie, waiting").run()
    at.button(key="aud_save_new").click().run()
    assert not at.exception
    assert "Saved “Dutchie, waiting”" in at.success[0].value

    with Session(shop) as s:
        [saved] = aud_saved.list_saved(s)
        assert saved.conditions == [
            {"trait": "opt_in_status", "op": "is false", "value": None},
            {"trait": "source", "op": "is one of", "value": ["pos:Dutchie"]},
        ]

    # a fresh visit: start again, then load the saved audience
    app = AppTest.from_file(PAGE, default_timeout=30)
    app.session_state["owner_signed_in"] = True
    app.run()
    assert metric(app) == "3"
    app.selectbox(key="aud_pick").set_value(saved.id).run()
    app.button(key="aud_load").click().run()
    assert not app.exception
    assert metric(app) == "2"
    assert app.text_input(key="aud_name").value == "Dutchie, waiting"
    ops = [w.value for w in app.selectbox if w.key and w.key.startswith("aud_op_")]
    assert ops == ["is false", "is one of"]

    # edit: narrow it to the opted-in (contradiction: nobody), save changes
    op_key = [w.key for w in app.selectbox if w.key and w.key.startswith("aud_op_")][0]
    app.selectbox(key=op_key).set_value("is true").run()
    assert metric(app) == "0"
    assert "No customer matches" in app.info[0].value
    app.button(key="aud_save").click().run()
    with Session(shop) as s:
        assert aud_saved.get_saved(s, saved.id).conditions[0]["op"] == "is true"
        assert len(aud_saved.list_saved(s)) == 1


def test_a_bad_value_is_explained_and_nothing_is_counted(at):
    at.button(key="aud_add").click().run()
    at.selectbox(key="aud_trait_2_opt_in_status").set_value("zip").run()
    assert not at.exception
    assert "Condition 2: Type a zip code" in at.warning[0].value
    assert not at.metric
    at.text_input(key="aud_val_2_zip_is").input("94110").run()
    assert metric(at) == "3"


def test_a_duplicate_name_is_refused_with_a_message(at, shop):
    with Session(shop) as s:
        aud_saved.save(s, name="Regulars", conditions=[])
    at.text_input(key="aud_name").input("regulars").run()
    at.button(key="aud_save_new").click().run()
    assert not at.exception
    assert "already exists" in at.error[0].value


def test_delete_a_saved_audience(shop):
    with Session(shop) as s:
        saved = aud_saved.save(s, name="Old list", conditions=[])
    app = AppTest.from_file(PAGE, default_timeout=30)
    app.session_state["owner_signed_in"] = True
    app.run()
    app.selectbox(key="aud_pick").set_value(saved.id).run()
    app.button(key="aud_delete").click().run()
    assert not app.exception
    assert "Deleted “Old list”" in app.success[0].value
    with Session(shop) as s:
        assert aud_saved.list_saved(s) == []


def test_a_saved_audience_whose_pos_source_was_deleted_still_loads_and_says_so(shop):
    with Session(shop) as s:
        saved = aud_saved.save(
            s, name="Dutchie", conditions=[{"trait": "source", "op": "is one of", "value": ["pos:Dutchie"]}]
        )
        saved_id = saved.id
        s.delete(s.get(PosSource, 1))
        s.commit()
    app = AppTest.from_file(PAGE, default_timeout=30)
    app.session_state["owner_signed_in"] = True
    app.run()
    app.selectbox(key="aud_pick").set_value(saved_id).run()
    app.button(key="aud_load").click().run()
    assert not app.exception
    assert "“Dutchie” has been deleted" in app.warning[0].value
    assert metric(app) == "2"
    sources = [w for w in app.multiselect if w.key and "source" in w.key][0]
    assert sources.value == ["pos:Dutchie"]


def test_pages_of_fifty_with_next_and_previous(app_db):
    with Session(app_db) as s:
        for i in range(120):
            make_customer(s, status=SmsStatus.opted_in, first_name=f"P{i:03d}", commit=False)
        s.commit()
    app = AppTest.from_file(PAGE, default_timeout=30)
    app.session_state["owner_signed_in"] = True
    app.run()
    assert metric(app) == "120" and len(app.dataframe[0].value) == 50
    app.button(key="aud_next").click().run()
    app.button(key="aud_next").click().run()
    assert len(app.dataframe[0].value) == 20
    assert "Showing 101–120 of 120" in [c.value for c in app.caption]
    app.button(key="aud_prev").click().run()
    assert "Showing 51–100 of 120" in [c.value for c in app.caption]


def test_a_range_ending_before_it_starts_is_explained_keeps_the_name_and_blocks_save(at):
    at.text_input(key="aud_name").input("Late autumn").run()
    at.button(key="aud_add").click().run()
    at.selectbox(key="aud_trait_2_opt_in_status").set_value("created").run()
    at.selectbox(key="aud_op_2_created").set_value("between").run()
    at.date_input(key="aud_val_2_created_between_a").set_value(dt.date(2026, 11, 20)).run()
    at.date_input(key="aud_val_2_created_between_b").set_value(dt.date(2026, 11, 1)).run()
    assert not at.exception
    [warning] = [w.value for w in at.warning]
    assert "Condition 2: The range ends (01 Nov 2026) before it starts (20 Nov 2026)." in warning
    assert "nothing else is lost" in warning
    # the save box stays on screen with the name as typed; saving waits for the fix
    assert at.text_input(key="aud_name").value == "Late autumn"
    assert at.button(key="aud_save_new").disabled
    assert "Fix the condition above to save." in [c.value for c in at.caption]
    at.date_input(key="aud_val_2_created_between_b").set_value(dt.date(2026, 12, 31)).run()
    assert not at.exception and not at.warning
    assert at.text_input(key="aud_name").value == "Late autumn"
    assert not at.button(key="aud_save_new").disabled
