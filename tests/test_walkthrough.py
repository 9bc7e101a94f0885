"""Walkthrough checks against a training shop driven through core: green only when really done."""

import datetime as dt

import pytest
from sqlmodel import Session, select

from core import bootstrap, db
from core.signups import forms, signup
from core.messaging import inbox, texting
from core.training import training, walkthrough
from core.models import Customer, SmsStatus

PHONE = "(415) 555-0199"
T0 = dt.datetime(2000, 1, 1)  # set by the fixture: the moment training started, after the demo was loaded


@pytest.fixture
def shop(tmp_path):
    main_url = f"sqlite:///{tmp_path / 'shop.db'}"
    main = db.make_engine(main_url)
    bootstrap.init_db(main)
    url = training.prepare(main_url, "t1", trainee="Robin")
    eng = db.make_engine(url)
    global T0
    with Session(eng) as s:
        T0 = training.started_at(s)
        yield s
    eng.dispose()
    main.dispose()


def status(shop, key):
    res = {r.key: r for r in walkthrough.evaluate(shop)}[key]
    return [st.done for st in res.steps]


def at(minutes):
    return T0 + dt.timedelta(minutes=minutes)


def view(shop, customer_id, minutes):
    training.mark(shop, f"viewed:{customer_id}", at(minutes).isoformat())


def test_nothing_is_green_before_the_trainee_does_anything(shop):
    results = walkthrough.evaluate(shop)
    assert len(results) == 7
    assert not any(step.done for r in results for step in r.steps)


def test_scenario_1_double_opt_in_turns_green_step_by_step(shop):
    res = signup.submit(shop, form_slug=None, answers={"phone": PHONE, "first_name": "Tess"}, now=at(1))
    assert res.outcome is signup.Outcome.check_phone
    assert status(shop, "double_opt_in") == [True, False, False]
    inbox.receive(shop, phone=PHONE, body="maybe", now=at(2))  # not a confirmation
    assert status(shop, "double_opt_in") == [True, False, False]
    inbox.receive(shop, phone=PHONE, body="YES", now=at(3))
    assert status(shop, "double_opt_in") == [True, True, False]
    view(shop, res.customer_id, 4)
    assert status(shop, "double_opt_in") == [True, True, True]


def test_scenario_2_opt_out_and_rejoin(shop):
    c = shop.exec(select(Customer).where(Customer.sms_status == SmsStatus.opted_in)).first()
    inbox.receive(shop, phone=c.phone, body="STOP", now=at(1))
    inbox.receive(shop, phone=c.phone, body="YES", now=at(2))  # nothing more is sent
    assert status(shop, "opt_out_rejoin") == [True, False, False]
    inbox.receive(shop, phone=c.phone, body="START", now=at(3))  # START before the form: not the order taught
    assert status(shop, "opt_out_rejoin") == [True, False, False]


def test_scenario_2_in_the_taught_order(shop):
    c = shop.exec(select(Customer).where(Customer.sms_status == SmsStatus.opted_in)).first()
    inbox.receive(shop, phone=c.phone, body="stop", now=at(1))
    res = signup.submit(shop, form_slug=None, answers={"phone": c.phone, "first_name": "Sam"}, now=at(2))
    assert res.outcome is signup.Outcome.text_start
    assert status(shop, "opt_out_rejoin") == [True, True, False]
    inbox.receive(shop, phone=c.phone, body="START", now=at(3))
    assert status(shop, "opt_out_rejoin") == [True, True, True]


def test_scenario_3_auto_opt_in_needs_the_form_the_signup_and_a_look_at_the_evidence(shop):
    form = forms.main_form(shop)
    fields = dict(form.fields)
    fields["signature"] = "required"
    forms.update(shop, form_id=form.id, fields=fields, double_opt_in=False, auto_opt_in=True, now=at(1))
    assert status(shop, "auto_opt_in") == [True, False, False]
    res = signup.submit(
        shop, form_slug=form.slug, answers={"phone": PHONE, "first_name": "Tess", "signature": "Tess Tester"}, now=at(2)
    )
    assert res.outcome is signup.Outcome.subscribed
    assert status(shop, "auto_opt_in") == [True, True, False]
    view(shop, res.customer_id, 3)
    assert status(shop, "auto_opt_in") == [True, True, True]


def test_scenario_4_needs_a_refusal_then_a_compliant_saved_request(shop):
    d = texting.get_defaults(shop)
    good = (
        "{brand}: reply Y or YES to get our store news by text. Msg frequency varies. "
        "Msg & data rates may apply. Reply HELP for help, STOP to opt out."
    )
    texting.update_defaults(shop, opt_in_request=good)
    assert status(shop, "noncompliant_request") == [False, False]  # no refusal seen yet
    training.mark(shop, "refused_opt_in_request")
    assert status(shop, "noncompliant_request") == [True, True]
    assert d.brand


def test_scenario_7_a_possible_opt_out_confirmed_before_its_deadline(shop):
    c = shop.exec(select(Customer).where(Customer.sms_status == SmsStatus.opted_in)).first()
    inbox.receive(shop, phone=c.phone, body="please stop texting me", now=at(1))
    assert status(shop, "possible_opt_out") == [True, False]
    [review] = [r for r in inbox.pending_reviews(shop) if r.phone == c.phone and r.received_at >= T0]
    inbox.decide_review(shop, review_id=review.id, confirm=False, reason="just joking", now=at(2))
    assert status(shop, "possible_opt_out") == [True, False]
    inbox.receive(shop, phone=c.phone, body="seriously, unsubscribe me now", now=at(3))
    review = [r for r in inbox.pending_reviews(shop) if r.phone == c.phone][0]
    inbox.decide_review(shop, review_id=review.id, confirm=True, now=at(4))
    assert status(shop, "possible_opt_out") == [True, True]


def test_scenario_5_pos_date_sync_and_going_back_in_time(shop, tmp_path):
    from core.importing import pos
    from core.models import PosSource

    src = shop.exec(select(PosSource)).first()
    assert status(shop, "pos_sync") == [False, False, False]
    yesterday = (at(1) - dt.timedelta(days=1)).date()  # "after" is from midnight in the shop's time zone
    pos.set_request_after(shop, src.id, yesterday, now=at(1))
    assert status(shop, "pos_sync") == [True, False, False]
    export = tmp_path / "pos.csv"
    export.write_text("first_name,last_name,phone\nNia,Park,(415) 555-0191\nOmar,Diaz,(415) 555-0192\n")
    pos.sync(shop, source_id=src.id, file=str(export), now=at(2))
    assert status(shop, "pos_sync") == [True, True, False]
    pos.set_request_after(shop, src.id, yesterday, now=at(3))  # the same date again: not back in time
    assert status(shop, "pos_sync") == [True, True, False]
    pos.set_request_after(shop, src.id, (at(4) - dt.timedelta(days=365)).date(), now=at(4))
    assert status(shop, "pos_sync") == [True, True, True]


def test_scenario_6_an_import_never_lifts_an_opt_out(shop, tmp_path):
    from core.importing import service

    out = shop.exec(select(Customer).where(Customer.sms_status == SmsStatus.opted_out)).first()
    listing = tmp_path / "old-provider.csv"
    listing.write_text(
        f"phone,first_name,sms_opt_in\n{out.phone},{out.first_name or 'X'},yes\n(415) 555-0193,Lee,yes\n"
    )
    report = service.import_csv(shop, str(listing), attested=True, now=at(1))
    assert report.kept_opted_out == 1
    assert status(shop, "import_conflicts") == [True, False]
    view(shop, out.id, 2)
    assert status(shop, "import_conflicts") == [True, True]
    shop.refresh(out)
    assert out.sms_status is SmsStatus.opted_out


# --- Steps stay green once really done, when the trainee goes on with the same customer -----------


def test_scenario_1_stays_done_when_the_same_customer_then_texts_stop(shop):
    res = signup.submit(shop, form_slug=None, answers={"phone": PHONE, "first_name": "Tess"}, now=at(1))
    inbox.receive(shop, phone=PHONE, body="YES", now=at(2))
    view(shop, res.customer_id, 3)
    assert status(shop, "double_opt_in") == [True, True, True]
    inbox.receive(shop, phone=PHONE, body="STOP", now=at(4))  # scenario 2, same phone
    assert status(shop, "double_opt_in") == [True, True, True]


def test_scenario_1_step_3_needs_a_look_while_opted_in(shop):
    res = signup.submit(shop, form_slug=None, answers={"phone": PHONE, "first_name": "Tess"}, now=at(1))
    view(shop, res.customer_id, 2)  # still pending: no green ✓ to see
    assert status(shop, "double_opt_in") == [True, False, False]
    inbox.receive(shop, phone=PHONE, body="YES", now=at(3))
    assert status(shop, "double_opt_in") == [True, True, False]
    inbox.receive(shop, phone=PHONE, body="STOP", now=at(4))
    view(shop, res.customer_id, 5)  # opened only once opted out: the ✓ was never seen
    assert status(shop, "double_opt_in") == [True, True, False]
    inbox.receive(shop, phone=PHONE, body="START", now=at(6))
    view(shop, res.customer_id, 7)
    assert status(shop, "double_opt_in") == [True, True, True]


def test_scenario_7_stays_done_when_the_customer_later_texts_start(shop):
    c = shop.exec(select(Customer).where(Customer.sms_status == SmsStatus.opted_in)).first()
    inbox.receive(shop, phone=c.phone, body="please stop texting me", now=at(1))
    review = [r for r in inbox.pending_reviews(shop) if r.phone == c.phone][0]
    inbox.decide_review(shop, review_id=review.id, confirm=True, now=at(2))
    assert status(shop, "possible_opt_out") == [True, True]
    inbox.receive(shop, phone=c.phone, body="START", now=at(3))
    assert status(shop, "possible_opt_out") == [True, True]


def test_scenario_7_is_not_done_by_a_dismissal(shop):
    c = shop.exec(select(Customer).where(Customer.sms_status == SmsStatus.opted_in)).first()
    inbox.receive(shop, phone=c.phone, body="please stop texting me", now=at(1))
    review = [r for r in inbox.pending_reviews(shop) if r.phone == c.phone][0]
    inbox.decide_review(shop, review_id=review.id, confirm=False, reason="wrong number", now=at(2))
    assert status(shop, "possible_opt_out") == [True, False]


def _first_pos_source(shop):
    from core.models import PosSource

    return shop.exec(select(PosSource)).first()


def test_scenario_5_a_sync_that_asks_nobody_is_not_green_even_when_other_requests_went_out(shop, tmp_path):
    import datetime as dt

    from core.importing import pos, service as importer

    src = _first_pos_source(shop)
    future = (at(1) + dt.timedelta(days=3)).date()  # a date that has not started: the sync asks nobody
    pos.set_request_after(shop, src.id, future, now=at(1))
    export = tmp_path / "pos.csv"
    export.write_text("first_name,phone\nNia,(415) 555-0191\nOmar,(415) 555-0192\n")
    report = pos.sync(shop, source_id=src.id, file=str(export), now=at(2))
    assert report.requests_sent + report.requests_queued == 0
    listing = tmp_path / "list.csv"
    listing.write_text("first_name,phone\nPia,(415) 555-0193\n")
    importer.import_csv(shop, str(listing), attested=False, now=at(3))  # an import sends nothing
    assert status(shop, "pos_sync") == [True, False, False]
    second = tmp_path / "pos2.csv"
    second.write_text("first_name,phone\nQuin,(415) 555-0194\n")
    pos.set_request_after(shop, src.id, (at(4) - dt.timedelta(days=1)).date(), now=at(4))  # back in time
    assert status(shop, "pos_sync")[1] is False  # the requests of moving the date are not the sync's
    pos.sync(shop, source_id=src.id, file=str(second), now=at(5))
    assert status(shop, "pos_sync") == [True, True, True]
