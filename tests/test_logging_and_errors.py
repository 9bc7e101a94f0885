"""Operations: a log line for each consent change, send, import and failed sign-in (never a password, a
token or a full phone number); errors the owner can fix share one base and show beside their field;
anything else is logged with its traceback and shown as an apology with the log's reference."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from core import auth, errors, phones
from core.consent import customers
from core.importing import pos, report as import_report, service as import_service
from core.messaging import inbox, outbox, texting
from core.models import Customer, Setting, SmsStatus
from tests.factories import make_customer
from tests.import_helpers import write_csv

PAGES = Path(__file__).resolve().parent.parent / "pages"
ADA = "+14155550123"
BEN = "+14155550187"
PASSWORD = "correct-horse-battery"
WRONG = "tr0ub4dor-and-3-wrong"


def _full_numbers(text: str) -> list[str]:
    """Every run of 7 or more digits (a phone number with its area code, in any format)."""
    return re.findall(r"\d(?:[\s().-]?\d){6,}", text)


def test_redact_keeps_only_the_last_four_digits():
    assert phones.redact("+14155550123") == "…0123"
    assert phones.redact("(415) 555-0123") == "…0123"
    assert phones.redact("12") == "…" and phones.redact(None) == "…"


def test_a_stop_a_request_an_import_and_a_failed_sign_in_are_logged_without_numbers_or_secrets(
    session, now, tmp_path, caplog
):
    caplog.set_level(logging.INFO)
    ada = make_customer(session, status=SmsStatus.opted_in, phone_number=ADA, now=now)
    ben = make_customer(session, phone_number=BEN, first_name="Ben", now=now)
    auth.set_password(session, PASSWORD)
    caplog.clear()

    inbox.receive(session, phone=ADA, body="STOP", now=now)
    customers.request_opt_in(session, customer_id=ben.id, now=now)
    path = write_csv(
        tmp_path, "spring list.csv", ["phone,first_name", "(415) 555-0166,Cy", "415-555-0199,Dee", "not a phone,Eve"]
    )
    import_service.import_csv(session, path, attested=False, now=now)
    assert auth.sign_in(session, WRONG, client=auth.client_key("203.0.113.7"), now=now) is False

    lines = [r.getMessage() for r in caplog.records]
    text = "\n".join(lines)
    assert any(
        line.startswith(f"consent: customer {ada.id} (…0123) opted_in -> opted_out by sms_reply") for line in lines
    ), text
    assert any(line.startswith(f"send: opt_out_confirmation to customer {ada.id} (…0123) sent") for line in lines)
    assert any(f"customer {ben.id} (…0187) not_opted_in -> pending by dashboard" in line for line in lines)
    assert any(line.startswith(f"send: opt_in_request to customer {ben.id} (…0187) sent") for line in lines)
    assert any(line.startswith("import spring list.csv: 3 rows, created 2, invalid 1") for line in lines), text
    assert any(line.startswith("sign-in failed: wrong password from client ") for line in lines)

    assert _full_numbers(text) == []
    for number in (ADA, BEN, "4155550123", "4155550187", "4155550166", "555-0166", "555-0199"):
        assert number not in text
    salt = session.get(Setting, auth.CLIENT_SALT_KEY).value
    stored_hash = session.get(Setting, auth.PASSWORD_KEY).value
    for secret in (PASSWORD, WRONG, salt, stored_hash, "203.0.113.7"):
        assert secret not in text


def test_a_queued_text_released_later_is_logged(session, now, caplog):
    caplog.set_level(logging.INFO)
    c = make_customer(session, phone_number=ADA, now=now)
    night = now.replace(hour=7)  # 23:00 in San Francisco: a bulk request waits for the window
    msg = outbox.send(session, customer=c, kind="opt_in_request", now=night, bulk=True)
    session.commit()
    assert msg.status.value == "queued"
    caplog.clear()
    outbox.release_due(session, now=now)
    assert [r.getMessage() for r in caplog.records if r.name == "core.messaging.outbox"] == [
        f"release: queued opt_in_request {msg.id} to customer {c.id} (…0123) sent"
    ]


def test_every_named_error_an_owner_can_fix_shares_one_base():
    from core.audiences import conditions as aud_conditions
    from core.reports import period
    from core.signups import forms, signup, signup_limits
    from core.training import demo, training

    named = [
        customers.CustomerError,
        customers.InvalidDetails,
        signup.InvalidSubmission,
        import_report.ImportProblem,
        import_report.MappingProblem,
        auth.AuthError,
        auth.Locked,
        outbox.OutboxError,
        inbox.InvalidMessage,
        pos.PosError,
        forms.FormError,
        period.ReportError,
        texting.InvalidSetting,
        texting.TemplateError,
        signup_limits.InvalidLimits,
        signup_limits.TooManySignups,
        aud_conditions.AudienceError,
        phones.InvalidPhone,
        training.TrainingError,
        demo.DemoError,
    ]
    assert [e.__name__ for e in named if not issubclass(e, errors.OwnerError)] == []
    err = texting.InvalidSetting("brand", "Brand is too long.")
    assert (err.field, err.errors, str(err)) == ("brand", {"brand": "Brand is too long."}, "Brand is too long.")
    several = customers.InvalidDetails({"email": "Email doesn't look like an address.", "zip": "Zip code ..."})
    assert several.field is None and list(several.errors) == ["email", "zip"]


# --- pages -------------------------------------------------------------------------------------


def _owner_page(name: str) -> AppTest:
    app = AppTest.from_file(str(PAGES / name), default_timeout=60)
    app.session_state["owner_signed_in"] = True
    return app


def test_an_unexpected_error_shows_an_apology_with_a_reference_and_logs_its_traceback(app_db, monkeypatch, caplog):
    """Releasing the queued texts on page load fails (the database went away...): the owner sees it,
    with the reference of the log line that has the traceback; never silent, never a raw traceback."""
    caplog.set_level(logging.INFO)

    def broken(*_a, **_k):
        raise RuntimeError("disk I/O error while releasing")

    monkeypatch.setattr(outbox, "due_count", broken)
    app = _owner_page("personas.py")
    app.run()
    assert not app.exception
    apologies = [e.value for e in app.error if e.value.startswith("Something went wrong.")]
    assert len(apologies) == 1, [e.value for e in app.error]
    ref = re.match(r"Something went wrong\. It has been logged as #([0-9A-F]{6})\.", apologies[0]).group(1)
    assert "queued" in apologies[0]  # and what happened to the texts
    assert "disk I/O" not in apologies[0]  # the detail is for the log, not the screen
    logged = [r for r in caplog.records if f"#{ref}" in r.getMessage()]
    assert len(logged) == 1 and logged[0].levelno == logging.ERROR
    assert logged[0].exc_info and logged[0].exc_info[0] is RuntimeError
    assert "disk I/O error while releasing" in caplog.text and "Traceback" in caplog.text
    assert app.title[0].value  # the page itself still shows


def test_an_import_that_fails_unexpectedly_says_what_to_do_and_gives_the_reference(app_db, monkeypatch, caplog):
    caplog.set_level(logging.INFO)

    def broken(*_a, **_k):
        raise RuntimeError("connection reset by peer")

    monkeypatch.setattr(import_service, "dry_run", broken)
    app = _owner_page("import_customers.py")
    app.run()
    app.file_uploader(key="import_file").set_value(("list.csv", b"phone\n4155550166\n", "text/csv"))
    app.run()
    check = [b for b in app.button if b.label.startswith("Check")]
    if check:  # the page checks on upload, or on a button
        check[0].click()
        app.run()
    assert not app.exception
    apology = next(e.value for e in app.error if e.value.startswith("Something went wrong."))
    ref = re.search(r"#([0-9A-F]{6})", apology).group(1)
    assert "import the same file again" in apology
    assert any(f"#{ref}" in r.getMessage() and r.exc_info for r in caplog.records)
    with Session(app_db) as s:
        assert s.exec(select(Customer)).all() == []


def test_an_owner_error_shows_its_message_under_its_field(app_db, monkeypatch):
    """First start: a password too short is refused under the Password box, nothing is saved."""
    monkeypatch.delenv("OPTIN_DESK_PASSWORD", raising=False)
    app = AppTest.from_file(str(PAGES.parent / "app.py"), default_timeout=60)
    app.run()
    app.text_input(key="new_password").input("short")
    app.text_input(key="confirm_password").input("short")
    app.button(key="set_password").click().run()
    assert not app.exception
    [error] = app.error
    assert error.value.startswith("Use at least") and "this one has 5" in error.value
    # inside the form, right under the Password box (before Type it again), not after the button
    form = app.get("form")[0]
    kinds = [type(el).__name__ for el in form.children.values()]
    assert kinds.index("Error") == kinds.index("TextInput") + 1, kinds
    with Session(app_db) as s:
        assert not auth.has_password(s)


@pytest.mark.parametrize(
    ("env", "level"), [(None, "INFO"), ("debug", "DEBUG"), ("WARNING", "WARNING"), ("chatty", "INFO")]
)
def test_the_log_level_comes_from_optin_desk_log_level_and_is_set_once(env, level):
    import os
    import subprocess
    import sys

    code = (
        "import logging; from pages import ui; ui.configure_logging(); root = logging.getLogger(); "
        "print(logging.getLevelName(root.level), sum(h.get_name() == 'optin_desk' for h in root.handlers))"
    )
    environ = {k: v for k, v in os.environ.items() if k != "OPTIN_DESK_LOG_LEVEL"}
    if env is not None:
        environ["OPTIN_DESK_LOG_LEVEL"] = env
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environ, cwd=PAGES.parent, timeout=60
    )
    assert out.stdout.split() == [level, "1"], out.stderr
    assert ("is not a log level" in out.stderr) == (env == "chatty")
