"""Submitting a sign-up form (rulebook §6): every outcome, its evidence, and bad input that saves nothing."""

import datetime as dt

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from core.signups import forms, signup, signup_limits
from core.models import (
    Channel,
    ConsentEvent,
    Customer,
    FormSubmission,
    Message,
    MessageKind,
    MessageStatus,
    SmsStatus,
)
from core.signups.signup import Outcome
from tests.conftest import BACKENDS, NOW
from tests.factories import make_customer

PHONE = "(415) 555-0123"
E164 = "+14155550123"
ANN = {"first_name": "Ann", "last_name": "Lee", "phone": PHONE}


def _count(session, model):
    return session.exec(select(func.count()).select_from(model)).one()


def _sent(session, phone=E164):
    return session.exec(select(Message).where(Message.phone == phone).order_by(Message.id)).all()


def _auto_opt_in(session):
    main = forms.main_form(session)
    forms.update(
        session, form_id=main.id, fields={**main.fields, "signature": "required"}, double_opt_in=False, auto_opt_in=True
    )


def test_double_opt_in_makes_the_customer_pending_and_texts_the_opt_in_request(session, now):
    result = signup.submit(session, form_slug="main", answers=ANN, now=now)
    assert result.outcome is Outcome.check_phone and "reply Y to confirm" in result.sentence
    customer = session.get(Customer, result.customer_id)
    assert customer.sms_status is SmsStatus.pending and customer.phone == E164
    assert customer.first_name == "Ann" and customer.source == "signup_form" and customer.source_detail == "main"
    [msg] = _sent(session)
    assert msg.kind is MessageKind.opt_in_request and msg.status is MessageStatus.sent and not msg.bulk
    sub = session.get(FormSubmission, result.submission_id)
    assert sub.outcome == "check_phone" and sub.customer_id == customer.id and sub.disclosure_version == 1


def test_the_request_goes_immediately_even_in_quiet_hours(session):
    night = dt.datetime(2026, 12, 1, 9, 0)  # 01:00 in San Francisco
    result = signup.submit(session, form_slug=None, answers=ANN, now=night)
    assert result.outcome is Outcome.check_phone
    assert _sent(session)[0].status is MessageStatus.sent


def test_each_submission_records_its_evidence_in_a_consent_event(session, now):
    main = forms.main_form(session)
    result = signup.submit(session, form_slug="main", answers={**ANN, "signature": "Ann Lee"}, now=now)
    [event] = session.exec(select(ConsentEvent).where(ConsentEvent.customer_id == result.customer_id)).all()
    assert event.channel is Channel.signup_form and event.new_status is SmsStatus.pending
    assert event.occurred_at == now
    ev = event.evidence
    assert ev["form"] == main.name and ev["form_slug"] == "main" and ev["disclosure_version"] == 1
    assert ev["disclosure"] == main.disclosure and ev["signature"] == "Ann Lee"
    assert ev["submission_id"] == result.submission_id


def test_auto_opt_in_opts_in_with_the_signature_and_disclosure_as_evidence(session, now):
    _auto_opt_in(session)
    main = forms.main_form(session)
    result = signup.submit(session, form_slug="main", answers={**ANN, "signature": "Ann Lee"}, now=now)
    assert result.outcome is Outcome.subscribed
    customer = session.get(Customer, result.customer_id)
    assert customer.sms_status is SmsStatus.opted_in
    [event] = session.exec(select(ConsentEvent).where(ConsentEvent.customer_id == customer.id)).all()
    assert event.new_status is SmsStatus.opted_in and event.evidence["signature"] == "Ann Lee"
    assert event.evidence["disclosure"] == main.disclosure
    assert event.evidence["disclosure_version"] == main.disclosure_version
    [msg] = _sent(session)
    assert msg.kind is MessageKind.opt_in_confirmation and msg.status is MessageStatus.sent


def test_auto_opt_in_requires_the_signature_on_the_form(session, now):
    _auto_opt_in(session)
    with pytest.raises(signup.InvalidSubmission) as info:
        signup.submit(session, form_slug="main", answers=ANN, now=now)
    assert info.value.errors == {"signature": "Signature is required."}
    assert _count(session, Customer) == 0


def test_an_opted_in_phone_gets_no_text_and_is_told_it_is_already_subscribed(session, now):
    make_customer(session, status=SmsStatus.opted_in, phone_number=E164)
    before = _count(session, Message)
    result = signup.submit(session, form_slug="main", answers=ANN, now=now)
    assert result.outcome is Outcome.already_subscribed and "already subscribed" in result.sentence
    assert _count(session, Message) == before
    assert session.get(Customer, result.customer_id).sms_status is SmsStatus.opted_in


@pytest.mark.parametrize("auto", [False, True])
def test_an_opted_out_phone_gets_no_text_and_is_told_to_text_start(session, now, auto):
    if auto:
        _auto_opt_in(session)
    make_customer(session, status=SmsStatus.opted_out, phone_number=E164)
    before_msgs, before_events = _count(session, Message), _count(session, ConsentEvent)
    result = signup.submit(session, form_slug="main", answers={**ANN, "signature": "Ann Lee"}, now=now)
    assert result.outcome is Outcome.text_start
    assert "text START to (415) 555-0100" in result.sentence
    assert _count(session, Message) == before_msgs and _count(session, ConsentEvent) == before_events
    assert session.get(Customer, result.customer_id).sms_status is SmsStatus.opted_out


def test_both_toggles_off_saves_the_customer_not_opted_in_without_a_text(session, now):
    main = forms.main_form(session)
    forms.update(session, form_id=main.id, double_opt_in=False, auto_opt_in=False)
    result = signup.submit(session, form_slug="main", answers=ANN, now=now)
    assert result.outcome is Outcome.thank_you
    assert session.get(Customer, result.customer_id).sms_status is SmsStatus.not_opted_in
    assert _count(session, Message) == 0 and _count(session, ConsentEvent) == 0


def test_a_form_without_sms_consent_says_thank_you_and_keeps_the_answers_even_without_a_phone(session, now):
    form = forms.create(
        session,
        name="Newsletter",
        collects_sms=False,
        fields={"first_name": "required", "email": "required", "phone": "hidden"},
    )
    result = signup.submit(
        session,
        form_slug=form.slug,
        answers={"first_name": "Bo", "email": "Bo@Example.com", "phone": "4155550123"},
        now=now,
    )
    assert result.outcome is Outcome.thank_you and result.customer_id is None
    sub = session.get(FormSubmission, result.submission_id)
    assert sub.answers == {"first_name": "Bo", "email": "bo@example.com"}
    assert _count(session, Customer) == 0 and _count(session, Message) == 0


def test_the_same_phone_twice_is_one_customer_and_gets_at_most_what_the_limits_allow(session, now):
    first = signup.submit(session, form_slug="main", answers={"first_name": "Ann", "phone": PHONE}, now=now)
    second = signup.submit(
        session,
        form_slug="main",
        answers={"first_name": "Annie", "last_name": "Lee", "phone": "+1 415 555 0123"},
        now=now + dt.timedelta(minutes=5),
    )
    assert first.customer_id == second.customer_id and _count(session, Customer) == 1
    assert second.outcome is Outcome.already_requested
    assert "We already sent you a request" in second.sentence and "reply Y" in second.sentence
    customer = session.get(Customer, first.customer_id)
    assert customer.first_name == "Ann" and customer.last_name == "Lee"  # blanks filled, nothing overwritten
    # a day later the second (last) request is allowed; after that the limit holds
    third = signup.submit(session, form_slug="main", answers=ANN, now=now + dt.timedelta(days=2))
    fourth = signup.submit(session, form_slug="main", answers=ANN, now=now + dt.timedelta(days=4))
    assert third.outcome is Outcome.check_phone and fourth.outcome is Outcome.already_requested
    sent = [m for m in _sent(session) if m.status is MessageStatus.sent]
    assert len(sent) == 2 and customer.opt_in_requests == 2
    assert _count(session, ConsentEvent) == 1  # pending once; later submissions change no status
    assert _count(session, FormSubmission) == 4
    assert forms.main_form(session).submissions == 4


def test_a_submission_records_the_disclosure_version_it_showed(session, now):
    main = forms.main_form(session)
    forms.update(session, form_id=main.id, disclosure=main.disclosure + " Privacy: shop.example/privacy")
    result = signup.submit(session, form_slug="main", answers=ANN, now=now)
    assert session.get(FormSubmission, result.submission_id).disclosure_version == 2
    event = session.exec(select(ConsentEvent)).one()
    assert event.evidence["disclosure_version"] == 2 and "Privacy" in event.evidence["disclosure"]


def test_an_unknown_form_is_not_found_and_saves_nothing(session, now):
    with pytest.raises(forms.FormNotFound):
        signup.submit(session, form_slug="nope", answers=ANN, now=now)
    assert _count(session, Customer) == 0


# --- Bad input: a message per field, nothing saved ----------------------------------------


def _assert_nothing_saved(session):
    assert _count(session, Customer) == 0
    assert _count(session, FormSubmission) == 0
    assert _count(session, Message) == 0
    assert _count(session, ConsentEvent) == 0
    assert forms.main_form(session).submissions == 0


@pytest.mark.parametrize(
    "answers, field, words",
    [
        ({"phone": PHONE}, "first_name", "First name is required"),
        ({"first_name": "Ann"}, "phone", "Mobile phone is required"),
        ({"first_name": "Ann", "phone": "   "}, "phone", "required"),
        ({**ANN, "phone": "415-555-CALL"}, "phone", "no letters"),
        ({**ANN, "phone": "12"}, "phone", "too few digits"),
        ({**ANN, "phone": "415 555 01234567"}, "phone", "isn't a mobile number"),
        ({**ANN, "email": "ann@"}, "email", "email address"),
        ({**ANN, "email": "ann at example.com"}, "email", "email address"),
        ({**ANN, "birthday": "02/30/1990"}, "birthday", "real date"),
        ({**ANN, "birthday": "yesterday"}, "birthday", "real date"),
        ({**ANN, "birthday": "01/01/2090"}, "birthday", "in the past"),
        ({**ANN, "first_name": "A" * 5000}, "first_name", "too long (5,000 characters"),
        ({**ANN, "last_name": "<script>alert(1)</script>"}, "last_name", "symbols like < >"),
        ({**ANN, "first_name": "<b>Ann</b>"}, "first_name", "symbols like < >"),
        ({**ANN, "signature": "<img src=x onerror=alert(1)>"}, "signature", "< or >"),
        ({**ANN, "email": "<script>@example.com"}, "email", "< or >"),
        ({**ANN, "phone": "<script>alert(1)</script>"}, "phone", "no letters"),
        ({**ANN, "birthday": "<script>"}, "birthday", "real date"),
    ],
)
def test_a_wrong_field_gets_a_message_beside_it_and_nothing_is_saved(session, now, answers, field, words):
    with pytest.raises(signup.InvalidSubmission) as info:
        signup.submit(session, form_slug="main", answers=answers, now=now)
    assert field in info.value.errors
    assert words in info.value.errors[field]
    _assert_nothing_saved(session)


def test_script_in_a_hidden_zip_field_is_ignored_but_in_a_shown_one_is_refused(session, now):
    result = signup.submit(session, form_slug="main", answers={**ANN, "zip": "<script>"}, now=now)
    assert session.get(Customer, result.customer_id).zip == ""
    main = forms.main_form(session)
    forms.update(session, form_id=main.id, fields={**main.fields, "zip": "optional"})
    with pytest.raises(signup.InvalidSubmission) as info:
        signup.submit(session, form_slug="main", answers={**ANN, "zip": "<script>"}, now=now)
    assert "zip" in info.value.errors


def test_every_wrong_field_is_reported_at_once(session, now):
    with pytest.raises(signup.InvalidSubmission) as info:
        signup.submit(
            session,
            form_slug="main",
            answers={"first_name": "", "phone": "abc", "email": "x@", "birthday": "13/45/2000"},
            now=now,
        )
    assert set(info.value.errors) == {"first_name", "phone", "email", "birthday"}
    _assert_nothing_saved(session)


def test_control_characters_are_stripped_and_markup_free_text_is_stored_as_typed(session, now):
    result = signup.submit(
        session,
        form_slug="main",
        answers={
            "first_name": "  Ann\x00\x07 ",
            "last_name": "O'Brien & Sons",
            "phone": PHONE,
            "email": " Ann@Example.COM ",
            "birthday": "07/14/1990",
        },
        now=now,
    )
    c = session.get(Customer, result.customer_id)
    assert c.first_name == "Ann" and c.last_name.startswith("O'Brien & Sons")
    assert c.email == "ann@example.com" and c.birthday == dt.date(1990, 7, 14)


@pytest.mark.parametrize("text", ["07/14/1990", "7/14/1990", "1990-07-14", "07-14-1990"])
def test_a_birthday_is_read_in_the_usual_ways(text):
    assert signup.parse_birthday(text) == dt.date(1990, 7, 14)


@pytest.mark.parametrize("file_engine", BACKENDS, indirect=True)
def test_the_same_phone_submitted_at_once_from_several_browsers_is_one_customer_and_one_text(file_engine):
    import threading

    with Session(file_engine) as s:  # six sign-ups of one phone in an hour: above the default limits
        signup_limits.save_limits(s, per_client=10, per_phone=10, per_form=100)
    errors, results = [], []
    start = threading.Barrier(6)

    def worker(i):
        try:
            start.wait()
            with Session(file_engine) as s:
                results.append(
                    signup.submit(
                        s,
                        form_slug="main",
                        answers={"first_name": f"Ann{i}", "phone": PHONE},
                        now=NOW,
                        client_address=f"203.0.113.{i}",
                    )
                )
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sorted(r.outcome.value for r in results) == ["already_requested"] * 5 + ["check_phone"]
    with Session(file_engine) as s:
        assert _count(s, Customer) == 1 and _count(s, ConsentEvent) == 1
        assert len(s.exec(select(Message).where(Message.status == MessageStatus.sent)).all()) == 1
        assert forms.main_form(s).submissions == 6


# --- Issue 11: numbers and names that would turn the form into an SMS pump --------------------------------


@pytest.mark.parametrize(
    "phone, kind",
    [
        ("1 (900) 555-0123", "premium-rate"),
        ("800-555-0123", "toll-free"),
        ("+1 888 555 0123", "toll-free"),
        ("500-555-0006", "personal forwarding"),
    ],
)
def test_a_premium_rate_or_toll_free_number_is_refused_beside_the_phone_and_nothing_is_sent(session, now, phone, kind):
    with pytest.raises(signup.InvalidSubmission) as info:
        signup.submit(session, form_slug="main", answers={**ANN, "phone": phone}, now=now)
    assert info.value.errors == {"phone": f"That looks like a {kind} number; enter a mobile number."}
    _assert_nothing_saved(session)


@pytest.mark.parametrize(
    "first_name, words",
    [
        ("visit http://phish.example/x", "can't contain a web address or link"),
        ("www.prizes.example", "can't contain a web address or link"),
        ("Win at x.com/abc", "can't contain a web address or link"),
        ("bit.ly/x7", "can't contain a web address or link"),
        ("Call 415-555-0199", "can't contain a phone number"),
        ("[click](http://x)", "can't contain a web address or link"),
        ("**Ann**", "can't contain symbols like < > [ ] { }"),
        ("{brand}", "can't contain symbols like < > [ ] { }"),
        ("Ann`x`", "can't contain symbols like < > [ ] { }"),
        ("Ann | Bob", "can't contain symbols like < > [ ] { }"),
    ],
)
def test_a_name_with_a_link_a_phone_number_or_markup_is_refused_and_nothing_is_texted(session, now, first_name, words):
    with pytest.raises(signup.InvalidSubmission) as info:
        signup.submit(session, form_slug="main", answers={**ANN, "first_name": first_name}, now=now)
    assert words in info.value.errors["first_name"]
    assert info.value.errors["first_name"].startswith("First name ")
    _assert_nothing_saved(session)
    with pytest.raises(signup.InvalidSubmission) as info:
        signup.submit(session, form_slug="main", answers={**ANN, "last_name": first_name}, now=now)
    assert info.value.errors["last_name"].startswith("Last name ") and words in info.value.errors["last_name"]


@pytest.mark.parametrize(
    "first_name, last_name",
    [
        ("Siobhán", "O'Brien"),
        ("Anne-Marie", "St. John"),
        ("José", "Nguyễn"),
        ("Zoë", "D’Arcy"),
        ("J.R.", "Ørsted"),
        ("Mary Ann", "Smith-Jones Jr."),
        ("李", "小龙"),
    ],
)
def test_real_names_are_accepted_and_texted_back_as_typed(session, now, first_name, last_name):
    _auto_opt_in(session)
    result = signup.submit(
        session,
        form_slug="main",
        answers={"first_name": first_name, "last_name": last_name, "phone": PHONE, "signature": "A B"},
        now=now,
    )
    customer = session.get(Customer, result.customer_id)
    assert (customer.first_name, customer.last_name) == (first_name, last_name)
    assert _sent(session)[0].body.startswith(f"Hi {first_name}, ")
