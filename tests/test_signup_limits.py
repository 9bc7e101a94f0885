"""Issue 11, the public sign-up form is not an SMS pump: sign-up limits per device, phone and form.

Past a limit a sign-up is refused with a sentence the customer reads; nothing about them is stored and
no text is sent. Counted in the database, so parallel sign-ups (and app replicas) cannot overshoot.
"""

import datetime as dt
import threading

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from core.signups import forms, signup, signup_limits
from core.models import Customer, FormSubmission, Message, SignupForm
from core.signups.signup_limits import TooManySignups
from tests.conftest import BACKENDS, NOW


def _phone(i: int) -> str:
    return f"(415) 555-{1000 + i:04d}"


def _sign_up(session, i: int, *, client="203.0.113.7", now=NOW, form="main", phone=None):
    return signup.submit(
        session,
        form_slug=form,
        answers={"first_name": "Ann", "phone": phone or _phone(i)},
        now=now,
        client_address=client,
    )


def _count(session, model):
    return session.exec(select(func.count()).select_from(model)).one()


def _stored(session):
    return _count(session, Customer), _count(session, FormSubmission), _count(session, Message)


def test_the_defaults_are_5_per_device_3_per_phone_and_100_per_form_each_per_hour(session):
    assert signup_limits.get_limits(session) == signup_limits.Limits(per_client=5, per_phone=3, per_form=100)
    saved = signup_limits.save_limits(session, per_client=20, per_phone="2", per_form=500.0)
    assert saved == signup_limits.Limits(per_client=20, per_phone=2, per_form=500)
    assert signup_limits.get_limits(session) == saved


@pytest.mark.parametrize(
    "values, field",
    [
        ({"per_client": 0}, "per_client"),
        ({"per_client": -3}, "per_client"),
        ({"per_client": 1001}, "per_client"),
        ({"per_phone": 21}, "per_phone"),
        ({"per_phone": "three"}, "per_phone"),
        ({"per_form": 2.5}, "per_form"),
        ({"per_form": None}, "per_form"),
        ({"per_form": True}, "per_form"),
    ],
)
def test_a_limit_must_be_a_whole_number_within_its_range_and_nothing_is_saved(session, values, field):
    good = {"per_client": 5, "per_phone": 3, "per_form": 100}
    with pytest.raises(signup_limits.InvalidLimits) as info:
        signup_limits.save_limits(session, **{**good, **values})
    assert set(info.value.errors) == {field}
    assert "enter a whole number from 1 to" in info.value.errors[field]
    assert signup_limits.get_limits(session) == signup_limits.DEFAULTS


def test_past_the_device_limit_a_sign_up_is_refused_stores_nothing_and_sends_nothing(session):
    for i in range(5):
        _sign_up(session, i)
    before = _stored(session)
    with pytest.raises(TooManySignups) as info:
        _sign_up(session, 99)
    assert info.value.limit == "per_client"
    assert info.value.message == "Too many sign-ups from this device in the last hour. Please try again later."
    assert _stored(session) == before == (5, 5, 5)
    assert session.exec(select(Customer).where(Customer.phone == "+14155551099")).first() is None
    assert forms.main_form(session).submissions == 5
    _sign_up(session, 99, client="198.51.100.1")  # another device may still sign up


def test_visitors_without_an_address_count_as_one_device(session):
    for i in range(5):
        _sign_up(session, i, client=None)
    with pytest.raises(TooManySignups):
        _sign_up(session, 5, client=None)
    with pytest.raises(TooManySignups):
        _sign_up(session, 6, client="")


def test_past_the_phone_limit_the_same_number_is_refused_from_any_device(session):
    for i in range(3):
        _sign_up(session, 0, client=f"203.0.113.{i}")
    with pytest.raises(TooManySignups) as info:
        _sign_up(session, 0, client="198.51.100.9")
    assert info.value.limit == "per_phone" and "This phone number" in info.value.message
    # three logged replies (one sent, two blocked by the opt-in request rules); none for the refused one
    assert [m.status.value for m in session.exec(select(Message).order_by(Message.id)).all()] == [
        "sent",
        "blocked",
        "blocked",
    ]


def test_past_the_form_limit_the_form_is_refused_for_everyone_but_other_forms_still_work(session):
    signup_limits.save_limits(session, per_client=5, per_phone=3, per_form=4)
    for i in range(4):
        _sign_up(session, i, client=f"203.0.113.{i}")
    with pytest.raises(TooManySignups) as info:
        _sign_up(session, 10, client="198.51.100.10")
    assert info.value.limit == "per_form" and "very busy" in info.value.message
    other = forms.create(session, name="In-store tablet")
    _sign_up(session, 11, client="198.51.100.11", form=other.slug)
    assert _count(session, Customer) == 5


def test_the_limits_count_a_rolling_hour(session):
    for i in range(5):
        _sign_up(session, i, now=NOW + dt.timedelta(minutes=i))
    with pytest.raises(TooManySignups):
        _sign_up(session, 10, now=NOW + dt.timedelta(minutes=59, seconds=59))
    _sign_up(session, 11, now=NOW + dt.timedelta(minutes=60, seconds=1))  # the first one is an hour old
    with pytest.raises(TooManySignups):
        _sign_up(session, 12, now=NOW + dt.timedelta(minutes=60, seconds=2))


def test_a_refused_sign_up_is_not_counted_and_addresses_are_stored_only_as_hashes(session):
    from core.models import SignupAttempt

    for i in range(5):
        _sign_up(session, i)
    for i in range(3):
        with pytest.raises(TooManySignups):
            _sign_up(session, 20 + i)
    rows = session.exec(select(SignupAttempt)).all()
    assert len(rows) == 5
    assert all("203.0.113.7" not in r.client_key and "415" not in r.phone_key for r in rows)


@pytest.mark.parametrize("file_engine", BACKENDS, indirect=True)
@pytest.mark.parametrize("case", ["one device", "many devices, one form"])
def test_40_parallel_sign_ups_never_get_past_a_limit(file_engine, case):
    with Session(file_engine) as s:
        if case == "many devices, one form":
            signup_limits.save_limits(s, per_client=5, per_phone=3, per_form=7)
    limit = 5 if case == "one device" else 7
    accepted, refused, errors = [], [], []
    start = threading.Barrier(40)

    def worker(i):
        try:
            with Session(file_engine) as s:
                start.wait()
                client = "203.0.113.7" if case == "one device" else f"10.0.{i // 200}.{i % 200}"
                accepted.append(_sign_up(s, i, client=client))
        except TooManySignups as exc:
            refused.append(exc.limit)
        except BaseException as exc:  # noqa: BLE001 - any other escape fails the test
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not errors, errors
    assert len(accepted) == limit and len(refused) == 40 - limit
    assert set(refused) == {"per_client" if case == "one device" else "per_form"}
    with Session(file_engine) as s:
        assert _stored(s) == (limit, limit, limit)  # customers, submissions, texts
        assert s.exec(select(SignupForm.submissions).where(SignupForm.is_main)).one() == limit
