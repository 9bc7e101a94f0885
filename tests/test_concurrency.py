"""Several threads texting STOP, YES and START for the same phones at once."""

import random
import threading

import pytest
from sqlmodel import Session, select

from core.consent import customers
from core.messaging import inbox
from core.models import ConsentEvent, Customer, Message, MessageKind
from tests.conftest import BACKENDS, NOW

PHONES = [f"+1415555{2000 + i}" for i in range(4)]
BODIES = ["STOP", "YES", "START", "Y", "stop", "HELP", "JOIN"]


@pytest.mark.parametrize("file_engine", BACKENDS, indirect=True)
def test_concurrent_replies_never_error_and_each_status_equals_its_last_ledger_entry(file_engine):
    errors: list[BaseException] = []
    rng = random.Random(7)
    plans = [[(rng.choice(PHONES), rng.choice(BODIES)) for _ in range(25)] for _ in range(6)]
    start = threading.Barrier(len(plans))

    def worker(plan):
        try:
            start.wait()
            with Session(file_engine) as s:
                for phone, body in plan:
                    inbox.receive(s, phone=phone, body=body, to="+14155550142" if body == "JOIN" else None, now=NOW)
        except BaseException as exc:  # noqa: BLE001 - any escape fails the test
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(p,)) for p in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors

    with Session(file_engine) as s:
        people = s.exec(select(Customer)).all()
        assert {c.phone for c in people} <= set(PHONES)
        assert len({c.phone for c in people}) == len(people)  # one customer per phone
        for c in people:
            ledger = customers.ledger(s, c.id)
            assert ledger, c.phone
            # newest first: the ledger is a chain, each old status is the previous new status
            assert ledger[0].new_status is c.sms_status
            chain = list(reversed(ledger))
            for before, after in zip(chain, chain[1:]):
                assert after.old_status is before.new_status
        inbound = s.exec(select(Message).where(Message.direction == "inbound")).all()
        assert len(inbound) == sum(len(p) for p in plans)
        # a phone never gets two opt-out confirmations in a row without an opt-in between
        for c in people:
            kinds = [m.kind for m in inbox.thread(s, c.phone, limit=1000) if m.kind and m.status.value == "sent"]
            conf = [
                k
                for k in kinds
                if k
                in (
                    MessageKind.opt_out_confirmation,
                    MessageKind.opt_in_confirmation,
                    MessageKind.resubscribe_confirmation,
                )
            ]
            for a, b in zip(conf, conf[1:]):
                assert not (a is b is MessageKind.opt_out_confirmation)
        assert s.exec(select(ConsentEvent)).first() is not None
