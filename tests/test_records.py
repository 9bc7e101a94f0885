"""Rulebook §11: the age gate, deletion with suppression, the opt-out list, original consent dates, carrier
deactivation files, the carrier registration packet. Service tests, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlmodel import func, select

from core.audiences import export as aud_export
from core.audiences import query as aud_query
from core.consent import age, customers, deletion, optouts, suppression
from core.consent import evidence
from core.importing import deactivation, service as importer
from tests import import_reference
from core.messaging import inbox, registration, texting
from core.models import (
    Channel,
    ConsentEvent,
    Customer,
    FormSubmission,
    Message,
    MessageKind,
    Setting,
    SignupForm,
    SmsStatus,
    Suppression,
)
from core.reports import charts, period
from core.signups import signup
from tests.factories import make_customer
from tests.import_helpers import write_csv

NOW = dt.datetime(2026, 11, 30, 19, 0)
PHONE = "+14155550123"
ADULT = "07/14/1990"
MINOR = "07/14/2010"


def _count(session, model, *where) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def _join(session, body, phone=PHONE, now=NOW):
    d = texting.get_defaults(session)
    return inbox.receive(session, phone=phone, body=body, to=d.join_number, now=now)


def _customer(session, phone=PHONE):
    session.expire_all()
    return session.exec(select(Customer).where(Customer.phone == phone)).first()


# --- the age gate: parsing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, problem",
    [
        ("02/31/1990", "isn't a real date"),
        ("12/01/2099", "can't be in the future"),
        ("01/01/1826", "more than 120 years ago"),
        ("yesterday", "MM/DD/YYYY"),
        ("", "Type your date of birth"),
    ],
)
def test_a_birth_date_that_is_not_real_future_or_200_years_ago_is_refused_with_the_reason(text, problem):
    with pytest.raises(age.InvalidBirthDate, match=problem):
        age.parse_birth_date(text, today=NOW.date())


def test_age_counts_whole_years_and_a_leap_day_birthday():
    assert age.age_on(dt.date(2005, 11, 30), dt.date(2026, 11, 30)) == 21
    assert age.age_on(dt.date(2005, 12, 1), dt.date(2026, 11, 30)) == 20
    assert age.age_on(dt.date(2004, 2, 29), dt.date(2025, 2, 28)) == 20
    assert age.age_on(dt.date(2004, 2, 29), dt.date(2025, 3, 1)) == 21


def test_the_setting_is_off_18_or_21_only(session):
    assert age.min_age(session) == 0
    assert age.set_min_age(session, 21) == 21 and age.min_age(session) == 21
    with pytest.raises(age.AgeError):
        age.set_min_age(session, 16)
    assert age.min_age(session) == 21


# --- the age gate on a form -----------------------------------------------------------------------


def test_an_under_age_sign_up_is_refused_calmly_and_stores_nothing_but_a_count(session):
    age.set_min_age(session, 21)
    result = signup.submit(
        session, form_slug=None, now=NOW, answers={"first_name": "Kid", "phone": PHONE, "birthday": MINOR}
    )
    assert result.outcome is signup.Outcome.under_age
    assert "21 or older" in result.sentence and "haven't kept" in result.sentence
    assert _count(session, Customer) == 0 and _count(session, FormSubmission) == 0
    assert _count(session, Message) == 0 and _count(session, ConsentEvent) == 0
    session.expire_all()
    assert session.exec(select(SignupForm.age_refusals).where(SignupForm.is_main == True)).one() == 1  # noqa: E712


@pytest.mark.parametrize(
    "birthday, problem",
    [("02/31/1990", "real date"), ("", "required"), ("01/01/2099", "future"), ("01/01/1826", "120 years")],
)
def test_the_gate_requires_a_real_date_of_birth_on_every_form(session, birthday, problem):
    age.set_min_age(session, 18)
    with pytest.raises(signup.InvalidSubmission) as exc:
        signup.submit(
            session, form_slug=None, now=NOW, answers={"first_name": "A", "phone": PHONE, "birthday": birthday}
        )
    assert problem in exc.value.errors["birthday"]
    assert _count(session, Customer) == 0


def test_an_adult_sign_up_keeps_the_check_in_the_ledger_and_on_the_customer(session):
    age.set_min_age(session, 21)
    result = signup.submit(
        session, form_slug=None, now=NOW, answers={"first_name": "Ann", "phone": PHONE, "birthday": ADULT}
    )
    assert result.outcome is signup.Outcome.check_phone
    c = _customer(session)
    assert c.verified_birth_date == dt.date(1990, 7, 14) and c.age_verified_at == NOW
    event = customers.ledger(session, c.id)[0]
    assert event.evidence["age_check"] == {
        "minimum_age": 21,
        "date_of_birth": "1990-07-14",
        "age_at_check": 36,
        "checked_at": "2026-11-30 19:00:00",
        "method": "signup_form",
        "verified": True,
    }
    assert "age checked: 21+" in evidence.describe_evidence(event)


# --- the age gate on Text To Join -----------------------------------------------------------------


def test_text_to_join_asks_for_the_birth_date_first_and_requests_only_after_an_adult_date(session):
    age.set_min_age(session, 21)
    out = _join(session, "JOIN")
    assert [m.kind for m in out] == [MessageKind.age_question] and "MM/DD/YYYY" in out[0].body
    assert _customer(session) is None  # nothing about them yet but the texts
    out = _join(session, "02/31/1990")
    assert [m.kind for m in out] == [MessageKind.age_question] and "isn't a real date" in out[0].body
    out = _join(session, ADULT)
    assert [m.kind for m in out] == [MessageKind.opt_in_request]
    c = _customer(session)
    assert c.sms_status is SmsStatus.pending and c.verified_birth_date == dt.date(1990, 7, 14)
    assert _count(session, Message, Message.customer_id.is_(None)) == 0  # the earlier texts are theirs now
    _join(session, "YES")
    c = _customer(session)
    assert c.sms_status is SmsStatus.opted_in
    newest = customers.ledger(session, c.id)[0]
    assert newest.evidence["age_check"]["date_of_birth"] == "1990-07-14"


def test_an_under_age_text_gets_a_calm_reply_and_leaves_only_a_count(session):
    age.set_min_age(session, 21)
    _join(session, "JOIN")
    out = _join(session, MINOR)
    assert [m.kind for m in out] == [MessageKind.age_refusal] and "21 or older" in out[0].body
    assert out[0].id is None  # sent, not kept
    assert _customer(session) is None
    assert _count(session, Message, Message.phone == PHONE) == 0
    assert age.text_refusals(session) == 1


def test_yes_from_an_unverified_pending_customer_asks_the_birth_date_instead_of_opting_in(session):
    c = make_customer(session, status=SmsStatus.pending, phone_number=PHONE)
    age.set_min_age(session, 21)
    out = inbox.receive(session, phone=PHONE, body="YES", now=NOW)
    assert [m.kind for m in out] == [MessageKind.age_question]
    assert _customer(session).sms_status is SmsStatus.pending
    assert c.id == _customer(session).id


def test_questions_stop_after_three_a_day(session):
    age.set_min_age(session, 18)
    for _ in range(3):
        assert _join(session, "hello")
    assert _join(session, "hello") == []


def test_with_the_gate_off_text_to_join_is_unchanged(session):
    out = _join(session, "JOIN")
    assert [m.kind for m in out] == [MessageKind.opt_in_request]


# --- audiences and exports ------------------------------------------------------------------------


def test_audiences_and_exports_leave_out_customers_whose_age_is_not_verified(session):
    verified = make_customer(session, status=SmsStatus.opted_in, first_name="Vera")
    make_customer(session, status=SmsStatus.opted_in, first_name="Imported")
    young = make_customer(session, status=SmsStatus.opted_in, first_name="Young")
    verified.verified_birth_date = dt.date(1990, 1, 1)
    young.verified_birth_date = dt.date(2007, 1, 1)  # 19: an adult at 18, not at 21
    session.add(verified)
    session.add(young)
    session.commit()
    everyone = [{"trait": "opt_in_status", "op": "is true", "value": None}]
    assert aud_query.count(session, everyone, now=NOW) == 3
    age.set_min_age(session, 18)
    assert aud_query.count(session, everyone, now=NOW) == 2
    age.set_min_age(session, 21)
    assert aud_query.count(session, everyone, now=NOW) == 1
    assert [r["first_name"] for r in aud_query.page(session, everyone, now=NOW).rows] == ["Vera"]
    exported = b"".join(aud_export.export_csv(session, everyone, now=NOW)).decode("utf-8-sig")
    assert "Vera" in exported and "Imported" not in exported and "Young" not in exported
    assert age.unverified_count(session, NOW.date()) == 2


# --- deletion and suppression -----------------------------------------------------------------------


def test_deleting_a_customer_removes_their_data_and_keeps_a_hashed_suppression(session):
    signup.submit(
        session, form_slug=None, now=NOW, answers={"first_name": "Ann", "phone": PHONE, "email": "ann@example.com"}
    )
    c = _customer(session)
    inbox.receive(session, phone=PHONE, body="YES", now=NOW)
    done = deletion.delete_customer_data(session, customer_id=c.id, reason="asked by email", now=NOW)
    assert done.events == 2 and done.messages >= 3 and done.status is SmsStatus.opted_in
    assert _customer(session) is None
    assert _count(session, Message, Message.phone == PHONE) == 0
    assert _count(session, ConsentEvent, ConsentEvent.customer_id == c.id) == 0
    sub = session.exec(select(FormSubmission)).one()
    assert sub.customer_id is None and sub.answers == {}  # the form's count stays, the answers go
    row = session.exec(select(Suppression)).one()
    assert PHONE not in row.phone_hash and "4155550123" not in row.phone_hash
    assert row.reason == "asked by email" and row.customer_id == c.id and row.last_status == "opted_in"
    key = session.get(Setting, suppression.KEY_SETTING).value
    assert row.phone_hash == suppression.phone_hash(bytes.fromhex(key), PHONE)  # HMAC with the shop's key


def test_deleting_twice_says_when_it_was_done(session):
    c = make_customer(session, phone_number=PHONE)
    deletion.delete_customer_data(session, customer_id=c.id, now=NOW)
    with pytest.raises(deletion.AlreadyDeleted, match="already deleted on 30 Nov 2026"):
        deletion.delete_customer_data(session, customer_id=c.id, now=NOW)
    with pytest.raises(customers.NotFound):
        deletion.delete_customer_data(session, customer_id=99999, now=NOW)


def test_an_import_or_pos_sync_cannot_bring_a_deleted_customer_back(session, tmp_path):
    from core.importing import pos

    c = make_customer(session, status=SmsStatus.opted_in, phone_number=PHONE)
    deletion.delete_customer_data(session, customer_id=c.id, now=NOW)
    path = write_csv(
        tmp_path, "old.csv", ["phone,first_name,sms_opt_in", "415-555-0123,Ann,yes", "415-555-0124,Ben,yes"]
    )
    report = importer.import_csv(session, path, attested=True, now=NOW)
    assert report.created == 1
    assert [(e.row, "deleted at their request" in e.reason) for e in report.invalid] == [(2, True)]
    assert _customer(session) is None
    src = pos.create_source(session, name="Dutchie", now=NOW)
    pos.sync(session, source_id=src.id, file=str(path), now=NOW)
    assert _customer(session) is None
    counts = import_reference.import_file(session, path, attested=True, now=NOW)
    assert counts["suppressed"] == 1 and _customer(session) is None


def test_only_the_customers_own_sign_up_or_start_lifts_the_suppression(session):
    c = make_customer(session, phone_number=PHONE)
    deletion.delete_customer_data(session, customer_id=c.id, now=NOW)
    signup.submit(session, form_slug=None, now=NOW, answers={"first_name": "Ann", "phone": PHONE})
    c = _customer(session)
    assert c.sms_status is SmsStatus.pending and suppression.count(session) == 0
    lifted = customers.ledger(session, c.id)[0].evidence["suppression_lifted"]
    assert lifted["lifted_by"] == "their own sign-up" and lifted["deleted_at"].startswith("2026-11-30")

    other = make_customer(session, phone_number="+14155550124")
    deletion.delete_customer_data(session, customer_id=other.id, now=NOW)
    inbox.receive(session, phone="+14155550124", body="START", now=NOW)
    assert suppression.count(session) == 0
    assert _customer(session, "+14155550124").sms_status is SmsStatus.pending


# --- the opt-out list -------------------------------------------------------------------------------


def test_the_opt_out_list_has_phone_when_how_and_source_and_is_formula_safe(session):
    make_customer(session, status=SmsStatus.opted_in, phone_number="+14155550124")
    c = make_customer(session, phone_number=PHONE)
    customers.record_opt_out(session, customer_id=c.id, reason='=HYPERLINK("x") asked in store', now=NOW)
    rows = list(csv.reader(io.StringIO(b"".join(optouts.export(session)).decode("utf-8-sig"))))
    assert rows[0] == ["phone", "opted_out_at_utc", "how", "source"]
    assert rows[1:] == [
        ["tel:+14155550123", "2026-11-30 19:00:00", 'Recorded by the shop: =HYPERLINK("x") asked in store', "Dashboard"]
    ]
    assert optouts.count(session) == 1


# --- original consent dates and sources ---------------------------------------------------------


def test_an_import_keeps_the_original_consent_date_and_source_as_evidence_and_reports_use_it(session, tmp_path):
    path = write_csv(
        tmp_path,
        "old.csv",
        [
            "phone,first_name,sms_opt_in,opt_in_date,source",
            "415-555-0123,Ann,yes,2025-03-14,Klaviyo web form",
            "415-555-0124,Ben,yes,2099-01-01,x",
            "415-555-0125,Cy,yes,1989-12-31,x",
            "415-555-0126,Di,unsubscribed,2099-01-01,x",
        ],
    )
    report = importer.import_csv(session, path, attested=True, now=NOW)
    assert report.mapping["consented_at"] == "opt_in_date" and report.mapping["consent_source"] == "source"
    reasons = {e.row: e.reason for e in report.invalid}
    assert "in the future" in reasons[3] and "before 1990" in reasons[4]
    assert _customer(session, "+14155550126").sms_status is SmsStatus.opted_out  # an opt-out is never lost
    c = _customer(session)
    event = customers.ledger(session, c.id)[0]
    assert event.occurred_at == NOW and event.consented_at == dt.datetime(2025, 3, 14)
    assert event.evidence["original_consent_at"] == "2025-03-14 00:00:00"
    assert event.evidence["original_source"] == "Klaviyo web form"
    assert "originally consented 2025-03-14 (Klaviyo web form)" in evidence.describe_evidence(event)
    march = charts.opt_ins_and_outs(session, period.period(dt.date(2025, 3, 1), dt.date(2025, 3, 31)))
    assert sum(r["opt_ins"] for r in march) == 1
    november = charts.opt_ins_and_outs(session, period.period(dt.date(2026, 11, 1), dt.date(2026, 11, 30)))
    assert sum(r["opt_ins"] for r in november) == 0 and sum(r["opt_outs"] for r in november) == 1


# --- carrier deactivation files -------------------------------------------------------------------


def test_a_deactivation_voids_consent_given_before_it_and_keeps_later_consent(session, tmp_path):
    early = make_customer(session, status=SmsStatus.opted_in, phone_number=PHONE, now=dt.datetime(2026, 1, 5))
    later = make_customer(session, status=SmsStatus.opted_in, phone_number="+14155550124", now=dt.datetime(2026, 6, 1))
    out = make_customer(session, status=SmsStatus.opted_out, phone_number="+14155550125")
    path = write_csv(
        tmp_path,
        "deact.csv",
        [
            "MDN,Deactivation Date",
            "415-555-0123,2026-03-01",
            "415-555-0124,2026-03-01",
            "415-555-0125,2026-03-01",
            "415-555-0199,2026-03-01",
            "not a phone,2026-03-01",
            "415-555-0126,2099-01-01",
        ],
    )
    report = deactivation.import_deactivations(session, path, now=NOW)
    assert (report.voided, report.kept_later, report.nothing_to_void) == (1, 1, 1)
    assert report.unknown == [(5, "(415) 555-0199")]
    assert [r for r, _, _ in report.invalid] == [6, 7]
    session.expire_all()
    assert session.get(Customer, early.id).sms_status is SmsStatus.not_opted_in
    assert session.get(Customer, later.id).sms_status is SmsStatus.opted_in
    assert session.get(Customer, out.id).sms_status is SmsStatus.opted_out
    event = customers.ledger(session, early.id)[0]
    assert event.channel is Channel.number_deactivated and event.evidence["deactivated_on"] == "2026-03-01"
    assert "deactivated" in evidence.status_sentence(session.get(Customer, early.id), event)
    assert b"not a customer" in report.problems_csv()
    again = deactivation.import_deactivations(session, path, now=NOW)
    assert again.voided == 0 and _count(session, ConsentEvent, ConsentEvent.channel == Channel.number_deactivated) == 1


def test_an_imported_original_date_decides_against_the_deactivation(session, tmp_path):
    path = write_csv(tmp_path, "old.csv", ["phone,sms_opt_in,consented_at", "415-555-0123,yes,2024-01-01"])
    importer.import_csv(session, path, attested=True, now=NOW)  # recorded today, consented in 2024
    deact = write_csv(tmp_path, "deact.csv", ["phone,deactivation_date", "415-555-0123,2025-06-01"])
    assert deactivation.import_deactivations(session, deact, now=NOW).voided == 1


def test_a_deactivation_file_without_a_date_column_is_a_clear_error(session, tmp_path):
    path = write_csv(tmp_path, "deact.csv", ["phone,carrier", "415-555-0123,X"])
    with pytest.raises(deactivation.DeactivationProblem, match="deactivation date"):
        deactivation.import_deactivations(session, path, now=NOW)


# --- the carrier registration packet ------------------------------------------------------------


def test_the_packet_says_what_is_missing_before_it_can_be_generated(session):
    p = registration.build(session, base_url="http://localhost:8501", now=NOW)
    assert not p.ready
    assert any("campaign description" in m for m in p.missing) and any("localhost" in m for m in p.missing)
    with pytest.raises(registration.NotReady):
        registration.markdown(p)


def test_a_sample_must_name_the_shop(session):
    with pytest.raises(registration.RegistrationError, match="must name your shop") as exc:
        registration.save_answers(session, sample_1="New arrivals this week!")
    assert exc.value.field == "sample_1"


def test_the_packet_has_every_part_in_markdown_and_real_pdf_text(session):
    from pypdf import PdfReader

    d = texting.get_defaults(session)
    texting.update_defaults(session, base_url="https://greenleaf.example")
    registration.save_answers(session, **registration.suggestions(d.brand))
    age.set_min_age(session, 21)
    p = registration.build(session, now=NOW)
    assert p.ready
    md = registration.markdown(p)
    for part in (
        "## Brand",
        "https://greenleaf.example/signup?form=main",
        "Text To Join",
        "JOIN",
        "STOP, STOPALL",
        "Y, YES",
        "HELP, INFO",
        "## Sample messages",
        "3. ",
        "21 or older",
        "does not sell, rent or share",
        "Date of birth question",
    ):
        assert part in md, part
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(registration.pdf(p))).pages)
    assert "Carrier registration packet" in text and "greenleaf.example/signup?form=main" in text
    assert "Reply HELP for help" in text
