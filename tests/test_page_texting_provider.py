"""AppTest: Settings › Texting provider — Simulated by default, Twilio with an encrypted token never shown
back, presets from the environment win, the webhook URLs, "Send a test text" (to a fake Twilio API)."""

from pathlib import Path

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from core.messaging import providers
from core.models import Setting, SmsStatus
from tests.factories import make_customer
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, live_env

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "texting_provider.py")
ENV = [
    providers.ENV_PROVIDER,
    providers.ENV_SID,
    providers.ENV_TOKEN,
    providers.ENV_PUBLIC_URL,
    providers.ENV_API_URL,
    providers.ENV_RATE,
    providers.ENV_SECRET_KEY,
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(providers, "SECRETS_FILES", ())


def page(app_db):
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["owner_signed_in"] = True
    at.run()
    assert not at.exception
    return at


def texts(at) -> str:
    return " ".join(
        str(e.value)
        for kind in ("markdown", "caption", "success", "error", "info", "warning", "code")
        for e in getattr(at, kind)
    )


def fill_twilio(at, token=AUTH_TOKEN):
    at.radio(key="tp_provider").set_value("twilio")
    at.text_input(key="tp_sid").input(ACCOUNT_SID)
    at.text_input(key="tp_token").input(token)
    at.text_input(key="tp_public_url").input("https://texts.greenleaf.example")
    at.button(key="tp_save").click().run()
    assert not at.exception


def test_a_new_shop_texts_in_simulation_and_is_told_what_twilio_needs(app_db):
    at = page(app_db)
    assert at.radio(key="tp_provider").value == "simulated"
    assert "Simulated" in texts(at) and "nothing is sent" in texts(at)
    assert "Save the public URL" in texts(at)


def test_connecting_twilio_saves_the_token_encrypted_never_shows_it_and_shows_the_webhook_urls(app_db, monkeypatch):
    monkeypatch.setenv(providers.ENV_SECRET_KEY, "a long random phrase for this shop")
    at = page(app_db)
    fill_twilio(at)
    assert "Twilio is on" in texts(at)
    assert "https://texts.greenleaf.example/sms/twilio/inbound" in texts(at)
    assert "https://texts.greenleaf.example/sms/twilio/status" in texts(at)
    assert at.text_input(key="tp_token").value == ""  # never shown back
    assert AUTH_TOKEN not in texts(at)
    with Session(app_db) as s:
        stored = {r.key: r.value for r in s.exec(select(Setting)).all()}
        assert AUTH_TOKEN not in " ".join(stored.values())  # not in plain text
        assert providers.load(s).auth_token == AUTH_TOKEN  # but it opens with the key
    monkeypatch.setenv(providers.ENV_SECRET_KEY, "another phrase")
    with Session(app_db) as s:
        assert providers.load(s).token_unreadable


def test_without_a_secret_key_the_token_is_refused_beside_its_field_and_nothing_is_saved(app_db):
    at = page(app_db)
    fill_twilio(at)
    assert any(providers.ENV_SECRET_KEY in e.value for e in at.error)
    with Session(app_db) as s:
        assert providers.load(s).provider == "simulated"


def test_a_wrong_account_sid_and_url_are_named_beside_their_fields(app_db, monkeypatch):
    monkeypatch.setenv(providers.ENV_SECRET_KEY, "k")
    at = page(app_db)
    at.radio(key="tp_provider").set_value("twilio")
    at.text_input(key="tp_sid").input("12345")
    at.text_input(key="tp_public_url").input("texts.greenleaf")
    at.button(key="tp_save").click().run()
    errors = " ".join(e.value for e in at.error)
    assert "Account SID is AC" in errors and "https://" in errors


def test_presets_from_the_environment_win_and_are_not_editable(app_db, monkeypatch):
    live_env(monkeypatch, "http://127.0.0.1:9", "https://preset.example.com")
    at = page(app_db)
    assert at.radio(key="tp_provider").value == "twilio" and at.radio(key="tp_provider").disabled
    assert at.text_input(key="tp_sid").disabled and at.text_input(key="tp_public_url").disabled
    assert at.text_input(key="tp_token_locked").value == "Set on the server"
    assert AUTH_TOKEN not in texts(at)
    assert "https://preset.example.com/sms/twilio/inbound" in texts(at)


def test_send_a_test_text_goes_through_twilio_and_never_to_an_opted_out_phone(app_db, monkeypatch):
    with FakeTwilio() as api:
        live_env(monkeypatch, api.url)
        with Session(app_db) as s:
            make_customer(s, status=SmsStatus.opted_out, phone_number="+14155550177")
        at = page(app_db)
        at.text_input(key="tp_test_phone").input("(415) 555-0123")
        at.button(key="tp_test_send").click().run()
        assert not at.exception
        assert "Sent through Twilio" in texts(at)
        assert [(c["to"], c["from"]) for c in api.creates] == [("+14155550123", "+14155550100")]
        at.text_input(key="tp_test_phone").input("(415) 555-0177")
        at.button(key="tp_test_send").click().run()
        assert any("opted out" in e.value for e in at.error)
        assert len(api.creates) == 1
