"""Texting Defaults in core: compliant defaults, refused templates, rendering (§5)."""

import datetime as dt

import pytest
from sqlmodel import select

from core.messaging import texting
from core.messaging.compliance import check, errors
from core.models import Customer, MessageKind, TextingDefaults


def test_defaults_exist_from_the_first_start_with_both_shop_numbers(session):
    d = texting.get_defaults(session)
    assert d.main_number.startswith("+1") and d.join_number.startswith("+1")
    assert d.main_number != d.join_number
    assert d.window_start == dt.time(8) and d.window_end == dt.time(20)
    assert d.max_opt_in_requests == 2


@pytest.mark.parametrize("kind", [k.value for k in MessageKind if k.templated])
def test_every_default_template_passes_the_compliance_check(session, kind):
    d = texting.get_defaults(session)
    assert errors(check(kind, getattr(d, kind), brand=d.brand)) == []


def test_a_template_with_promotional_words_is_refused_and_nothing_is_saved(session):
    before = texting.get_defaults(session).opt_in_request
    with pytest.raises(texting.TemplateError) as info:
        texting.update_defaults(session, opt_in_request="{brand}: 20% off everything! Reply Y. STOP to opt out.")
    assert info.value.field == "opt_in_request"
    assert any(f.code == "promotional" for f in info.value.findings)
    session.expire_all()
    assert texting.get_defaults(session).opt_in_request == before


def test_an_unknown_placeholder_is_refused_at_save_time(session):
    with pytest.raises(texting.TemplateError) as info:
        texting.update_defaults(session, help_reply="{brand}: help at {phone_number}. Reply STOP to opt out.")
    assert any(f.code == "unknown_placeholder" for f in info.value.findings)


def test_one_bad_change_among_good_ones_saves_none_of_them(session):
    with pytest.raises(texting.InvalidSetting):
        texting.update_defaults(session, help_contact="555-0100", main_number="not a phone")
    session.expire_all()
    assert texting.get_defaults(session).help_contact != "555-0100"


def test_a_brand_change_is_refused_when_a_saved_template_names_the_old_brand_literally(session):
    texting.update_defaults(
        session, brand="Bloom", help_reply="Bloom: for help email help@bloom.example. Reply STOP to opt out."
    )
    with pytest.raises(texting.TemplateError) as info:
        texting.update_defaults(session, brand="Blossom")
    assert info.value.field == "help_reply"


def test_numbers_are_saved_in_e164_and_must_differ(session):
    d = texting.update_defaults(session, join_number="(415) 555-0177")
    assert d.join_number == "+14155550177"
    with pytest.raises(texting.InvalidSetting):
        texting.update_defaults(session, join_number=d.main_number)


def test_an_overnight_window_and_an_empty_one_are_refused(session):
    """Rulebook §9: the legal windows are within one day; an end before the start is refused beside the end."""
    with pytest.raises(texting.InvalidSetting) as err:
        texting.update_defaults(session, window_start=dt.time(22), window_end=dt.time(6))
    assert err.value.field == "window_end" and "must end after it starts" in str(err.value)
    assert not texting.is_overnight(texting.get_defaults(session))
    with pytest.raises(texting.InvalidSetting):
        texting.update_defaults(session, window_start=dt.time(9), window_end=dt.time(9))


@pytest.mark.parametrize(
    "field,value",
    [
        ("timezone", "Mars/Olympus"),
        ("default_region", "XX"),
        ("max_opt_in_requests", 0),
        ("max_opt_in_requests", "two"),
        ("join_keyword", "STOP"),
        ("brand", "  "),
        ("base_url", "ftp://x"),
        ("window_start", "25:99"),
    ],
)
def test_bad_settings_are_named_errors(session, field, value):
    with pytest.raises(texting.InvalidSetting) as info:
        texting.update_defaults(session, **{field: value})
    assert info.value.field == field


def test_render_fills_placeholders_and_falls_back_to_there_without_a_first_name(session):
    d = texting.get_defaults(session)
    tpl = "Hi {first_name}, {brand} here. Text {join_number} or {help_contact}."
    assert texting.render("help_reply", Customer(phone="+14158675309", first_name="Ana"), d, template=tpl) == (
        f"Hi Ana, {d.brand} here. Text (415) 555-0142 or {d.help_contact}."
    )
    assert texting.render("help_reply", Customer(phone="+14158675309"), d, template=tpl).startswith("Hi there,")


def test_render_never_evaluates_attribute_lookups_in_a_template(session):
    d = texting.get_defaults(session)
    out = texting.render("help_reply", None, d, template="{brand.__class__}")
    assert "class" not in out.lower() or out == "{brand.__class__}"


def test_the_texting_defaults_row_is_single(session):
    texting.update_defaults(session, help_contact="hello@shop.example")
    assert len(session.exec(select(TextingDefaults)).all()) == 1
