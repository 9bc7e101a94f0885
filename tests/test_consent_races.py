"""Every pair of consent writers racing for one phone, 40 rounds each, on a SQLite file and PostgreSQL.

Writers: an inbound text, the dashboard's "Send opt-in request", "Record opt-out", a sign-up form
submission, a Member Club resend, an import, a POS sync, a review decision and the release of
queued messages. Each round gives a fresh phone a past opt-in request (so exactly one more may
go), then starts the two writers at the same instant on real threads. Afterwards, for every phone:

- the status equals the newest ledger event's new status, and the ledger is a chain
  (each event's old status is the previous event's new status);
- the request counter equals the requests actually sent, the queued counter the requests queued;
- never two requests within 24 hours (counted from when each went out);
- after an opt-out, nothing but HELP replies and one opt-out confirmation until the customer's START;
- a texted STOP always wins (the phone ends opted out);
- each queued message is released exactly once.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading

import pytest
from sqlmodel import Session, select

from core.consent import customers
from core.importing import pos, service
from core.messaging import inbox, outbox
from core.reports import member_club
from core.signups import signup, signup_limits
from core.models import (
    Channel,
    ConsentEvent,
    Customer,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
    PossibleOptOut,
    SmsStatus,
    TextingDefaults,
    utcnow,
)
from tests.conftest import BACKENDS
from tests.import_helpers import write_csv

ROUNDS = 40
WRITERS = ["inbound", "request", "opt_out", "signup", "resend", "import", "pos", "review", "release"]
PAIRS = list(itertools.combinations(WRITERS, 2)) + [
    ("request", "request"),
    ("release", "release"),
    ("inbound", "inbound"),
]
EXPECTED = (customers.CustomerError, inbox.InvalidMessage)  # refusals a user sees, not failures


def _phone(pair_no: int, round_no: int) -> str:
    return f"+1415555{pair_no % 10}{round_no:03d}"


def _setup(engine, pair: tuple[str, str], phones: list[str]) -> dict:
    """Each phone: a customer who got one opt-in request 25 hours ago (pending); a possible opt-out to
    review and a due queued request where the pair needs them. The sending window is always open."""
    ctx: dict = {"ids": {}, "reviews": {}, "pos_source": None}
    earlier = utcnow() - dt.timedelta(hours=25)
    with Session(engine) as s:
        d = s.get(TextingDefaults, 1)
        d.window_start = d.window_end = dt.time(0, 0)  # always inside the window: no quiet hours
        d.max_opt_in_requests = 3
        s.add(d)
        s.commit()
        signup_limits.save_limits(s, per_client=1000, per_phone=20, per_form=10_000)  # the race, not the limits
        for phone in phones:
            c = customers.create(
                s, phone=phone, source="dashboard", now=earlier - dt.timedelta(hours=1), first_name="Race"
            )
            customers.send_opt_in_request(s, c, channel=Channel.dashboard, evidence={"by": "test"}, now=earlier)
            s.commit()
            ctx["ids"][phone] = c.id
        if "review" in pair:
            for phone in phones:
                inbox.receive(s, phone=phone, body="please stop texting me")
                ctx["reviews"][phone] = s.exec(select(PossibleOptOut.id).where(PossibleOptOut.phone == phone)).one()
        if "release" in pair:
            for phone in phones:
                c = s.exec(select(Customer).where(Customer.phone == phone)).one()
                s.add(
                    Message(
                        customer_id=c.id,
                        phone=phone,
                        direction=Direction.outbound,
                        body="Reply Y",
                        kind=MessageKind.opt_in_request,
                        status=MessageStatus.queued,
                        bulk=True,
                        send_at=utcnow() - dt.timedelta(minutes=5),
                        created_at=earlier,
                    )
                )
                c.queued_requests += 1
                s.add(c)
            s.commit()
        if "pos" in pair:
            src = pos.create_source(s, name="Dutchie")
            pos.set_request_after(s, src.id, dt.date(2020, 1, 1))
            ctx["pos_source"] = src.id
    return ctx


def _writer(name: str, engine, phone: str, ctx: dict, round_no: int, tmp_path, tag: str):
    cid = ctx["ids"][phone]

    def run():
        with Session(engine) as s:
            if name == "inbound":
                body = ["STOP", "YES", "START", "stop", "HELP"][round_no % 5] if tag == "a" else "STOP"
                inbox.receive(s, phone=phone, body=body)
            elif name == "request":
                customers.request_opt_in(s, customer_id=cid)
            elif name == "opt_out":
                customers.record_opt_out(s, customer_id=cid, reason="asked at the counter")
            elif name == "signup":
                signup.submit(s, form_slug=None, answers={"phone": phone, "first_name": "Race"})
            elif name == "resend":
                member_club.resend(s, [cid])
            elif name == "import":
                opt_in = "yes" if round_no % 2 == 0 else ""
                path = write_csv(
                    tmp_path, f"r{tag}{round_no}.csv", ["phone,first_name,sms_opt_in", f"{phone},Race,{opt_in}"]
                )
                service.import_csv(s, path, attested=True)
            elif name == "pos":
                path = write_csv(tmp_path, f"p{tag}{round_no}.csv", ["phone,first_name", f"{phone},Race"])
                pos.sync(s, source_id=ctx["pos_source"], file=path)
            elif name == "review":
                inbox.decide_review(s, review_id=ctx["reviews"][phone], confirm=True)
            elif name == "release":
                outbox.release_due(s)
            else:  # pragma: no cover
                raise AssertionError(name)

    return run


def _race(fns) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(len(fns))

    def go(fn):
        try:
            start.wait()
            fn()
        except EXPECTED:
            pass
        except BaseException as exc:  # noqa: BLE001 - any other escape fails the test
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(fn,)) for fn in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def check_phone(s: Session, phone: str, *, stop_texted: bool) -> None:
    c = s.exec(select(Customer).where(Customer.phone == phone)).one()
    events = list(
        s.exec(
            select(ConsentEvent)
            .where(ConsentEvent.customer_id == c.id)
            .order_by(ConsentEvent.occurred_at, ConsentEvent.id)
        ).all()
    )
    assert events and events[-1].new_status is c.sms_status, (phone, c.sms_status, [e.new_status for e in events])
    assert events[0].old_status is SmsStatus.not_opted_in
    for before, after in zip(events, events[1:]):
        assert after.old_status is before.new_status, (phone, [(e.old_status, e.new_status) for e in events])
    out = list(
        s.exec(
            select(Message).where(Message.phone == phone, Message.direction == Direction.outbound).order_by(Message.id)
        ).all()
    )
    sent_requests = sorted(
        m.sent_at for m in out if m.kind is MessageKind.opt_in_request and m.status is MessageStatus.sent
    )
    assert c.opt_in_requests == len(sent_requests), (phone, c.opt_in_requests, len(sent_requests))
    queued = [m for m in out if m.kind is MessageKind.opt_in_request and m.status is MessageStatus.queued]
    assert c.queued_requests == len(queued), phone
    for a, b in zip(sent_requests, sent_requests[1:]):
        assert b - a >= dt.timedelta(hours=24), (phone, sent_requests)
    # what went out while the phone was opted out
    confirmations_in_episode = 0
    for m in sorted((m for m in out if m.status is MessageStatus.sent), key=lambda m: (m.sent_at, m.id)):
        in_effect = [e for e in events if e.occurred_at <= m.sent_at]
        status = in_effect[-1].new_status if in_effect else SmsStatus.not_opted_in
        if status is SmsStatus.opted_out:
            assert m.kind in (MessageKind.help_reply, MessageKind.opt_out_confirmation), (phone, m.kind)
            if m.kind is MessageKind.opt_out_confirmation:
                confirmations_in_episode += 1
                assert confirmations_in_episode == 1, phone
        else:
            confirmations_in_episode = 0
    if stop_texted:
        assert c.sms_status is SmsStatus.opted_out, phone


@pytest.mark.parametrize("pair", PAIRS, ids=["+".join(p) for p in PAIRS])
@pytest.mark.parametrize("file_engine", BACKENDS, indirect=True)
def test_two_writers_of_one_phone_never_lose_an_opt_out_or_break_the_ledger(file_engine, pair, tmp_path):
    pair_no = PAIRS.index(pair)
    phones = [_phone(pair_no, r) for r in range(ROUNDS)]
    ctx = _setup(file_engine, pair, phones)
    errors = []
    for r, phone in enumerate(phones):
        fns = [_writer(name, file_engine, phone, ctx, r, tmp_path, tag) for name, tag in zip(pair, ("a", "b"))]
        errors += _race(fns)
    assert not errors, errors[:3]
    with Session(file_engine) as s:
        for r, phone in enumerate(phones):
            # an inbound writer racing another kind of writer texts STOP in rounds 0, 3, 5, 8, ...: nothing
            # else can lift it (two inbound writers may text STOP then START, which rightly opts back in)
            stop = pair[0] == "inbound" and pair[1] != "inbound" and r % 5 in (0, 3)
            check_phone(s, phone, stop_texted=stop)
        if "release" in pair:
            # each queued message went once: released (sent or blocked) and never left behind or doubled
            left = s.exec(
                select(Message).where(Message.status == MessageStatus.queued, Message.send_at <= utcnow())
            ).all()
            assert not left
