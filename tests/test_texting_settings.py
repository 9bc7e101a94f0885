"""core.messaging.texting: saving texting defaults (rulebook §5): every field validated, all or nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from core.messaging import texting
from core.models import TextingDefaults


def saved(session) -> TextingDefaults:
    session.expire_all()
    return texting.get_defaults(session)


@pytest.mark.parametrize("contact", ["(415) 555-0100", "help@shop.example", "www.shop.example/help", "shop.com"])
def test_the_support_contact_can_be_saved_as_a_phone_an_email_or_a_website(session, contact):
    texting.update_defaults(session, help_contact=f"  {contact} ")
    assert saved(session).help_contact == contact


@pytest.mark.parametrize(
    "contact, says",
    [
        ("", "Give a support contact"),
        ("   ", "Give a support contact"),
        ("ask at the counter", "must be a phone number, an email or a website"),
        ("help@shop.example " + "x" * 120, "120 characters"),
    ],
)
def test_a_support_contact_that_is_blank_or_no_contact_is_refused(session, contact, says):
    before = saved(session).help_contact
    with pytest.raises(texting.InvalidSetting) as err:
        texting.update_defaults(session, help_contact=contact)
    assert err.value.field == "help_contact" and says in str(err.value)
    assert saved(session).help_contact == before


@pytest.mark.parametrize(
    "field, says", [("main_number", "Enter the main number"), ("join_number", "Enter the Text To Join number")]
)
def test_a_blank_number_says_to_enter_it(session, field, says):
    with pytest.raises(texting.InvalidSetting, match=says):
        texting.update_defaults(session, **{field: "  "})


def test_a_template_error_is_named_by_the_templates_label(session):
    with pytest.raises(texting.TemplateError) as err:
        texting.update_defaults(session, opt_in_request="20% off everything")
    assert str(err.value).startswith("Opt-in request: ")
    assert ".;" not in str(err.value)


def test_problems_lists_every_problem_at_once_by_field_and_saves_nothing(session):
    before = saved(session).model_dump()
    found = texting.problems(
        session,
        brand="New Name",
        main_number="555",
        join_number="123",
        help_reply="",
        window_start=dt.time(9),
        window_end=dt.time(9),
    )
    assert set(found) == {"main_number", "join_number", "help_reply", "window_end"}
    assert "too few digits" in str(found["main_number"])
    assert "same time" in str(found["window_end"])
    assert saved(session).model_dump() == before


def test_problems_is_empty_for_changes_update_defaults_accepts(session):
    changes = dict(
        brand="Corner Shop",
        main_number="(415) 555-0111",
        window_start=dt.time(9),
        window_end=dt.time(17),
        help_contact="hello@corner.example",
    )
    assert texting.problems(session, **changes) == {}
    row = texting.update_defaults(session, **changes)
    assert (row.brand, row.main_number, row.window_end) == ("Corner Shop", "+14155550111", dt.time(17))
    assert not texting.is_overnight(row)


def test_validate_changes_still_raises_the_first_problem(session):
    with pytest.raises(texting.InvalidSetting) as err:
        texting.validate_changes(session, main_number="555", window_start=dt.time(9), window_end=dt.time(9))
    assert err.value.field == "main_number"


def test_a_new_brand_is_checked_against_the_templates_that_name_the_old_one(session):
    texting.update_defaults(
        session, help_reply=("Green Leaf Goods: For help, contact {help_contact}. Reply STOP to opt out.")
    )
    found = texting.problems(session, brand="Corner Shop")
    assert list(found) == ["help_reply"]
    assert isinstance(found["help_reply"], texting.TemplateError)


# --- Issue 11: values placed into templates pass the template's content rules ------------------------------


@pytest.mark.parametrize(
    "field, value, words",
    [
        (
            "help_contact",
            "FREE CBD deals bit.ly/x7",
            [
                'Remove "FREE" from the support contact',
                'Remove "CBD"',
                "Replace the bit.ly link in the support contact",
            ],
        ),
        ("help_contact", "text 415-555-0100 for 20% off", ['Remove "20% off" from the support contact']),
        ("help_contact", "help@shop.example, free gift", ['Remove "free" from the support contact']),
        ("brand", "Green Leaf CBD", ['Remove "CBD" from the brand name', "cannabis, vaping, alcohol"]),
        ("brand", "Deals at bit.ly/gl", ['Remove "Deals" from the brand name', "Replace the bit.ly link in the brand"]),
        ("brand", "FREE Vape Co", ['Remove "FREE"', 'Remove "Vape"']),
    ],
)
def test_a_brand_or_help_contact_with_promotion_regulated_words_or_a_shortener_cannot_be_saved(
    session, field, value, words
):
    before = texting.get_defaults(session).model_dump()
    with pytest.raises(texting.InvalidSetting) as info:
        texting.update_defaults(session, **{field: value})
    assert info.value.field == field
    for w in words:
        assert w in info.value.message
    assert texting.get_defaults(session).model_dump() == before
    assert field in texting.problems(session, **{field: value})


def test_the_default_settings_and_the_demo_shop_pass_the_new_checks(session):
    import csv
    from pathlib import Path

    from core import names, phones

    row = texting.get_defaults(session)
    assert texting.problems(session, brand=row.brand, help_contact=row.help_contact) == {}
    data = Path(__file__).resolve().parent.parent / "data" / "customers.csv"
    with data.open(encoding="utf-8") as f:
        people = list(csv.DictReader(f))
    assert len(people) > 100
    for p in people:
        assert names.problem(p["first_name"]) is None and names.problem(p["last_name"]) is None, p
        assert phones.not_mobile(p["phone"]) is None, p
