"""Walkthrough steps stay green once really done, when the trainee goes on with the same customer."""

from sqlmodel import select

from core.messaging import inbox
from core.signups import signup
from core.models import Customer, SmsStatus
from tests.test_walkthrough import PHONE, at, shop, status, view  # noqa: F401  (shop is a fixture)


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

    from core.importing import importer, pos

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
