"""Exactly once across a crash: the sender runs as its own process (`python -m core.messaging.sender`),
is killed (SIGKILL) half way -- at the worst moment, after Twilio took a text and before the sender heard
back -- and restarted. Counted at the fake Twilio API: every text sent once, none lost. And two senders at
once (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: BEGIN IMMEDIATE): each text once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlmodel import Session, select

from core.messaging import inbox, sender
from core.models import Direction, Message, MessageStatus
from tests.conftest import PG_URL
from tests.fake_twilio import FakeTwilio, live_env

ROOT = Path(__file__).resolve().parents[1]
N = 30


def queue_help_replies(engine, n=N) -> list[str]:
    phones = [f"+1415555{2000 + i}" for i in range(n)]
    with Session(engine) as s:
        for p in phones:
            [reply] = inbox.receive(s, phone=p, body="HELP")
            assert reply.status is MessageStatus.sending
    return phones


def outbound(engine) -> list[Message]:
    with Session(engine) as s:
        return list(s.exec(select(Message).where(Message.direction == Direction.outbound).order_by(Message.id)).all())


def start_sender(db_url: str, api_url: str, name: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "OPTIN_DESK_SMS_PROVIDER": "twilio",
        "TWILIO_ACCOUNT_SID": os.environ["TWILIO_ACCOUNT_SID"],
        "TWILIO_AUTH_TOKEN": os.environ["TWILIO_AUTH_TOKEN"],
        "OPTIN_DESK_PUBLIC_URL": os.environ["OPTIN_DESK_PUBLIC_URL"],
        "TWILIO_API_URL": api_url,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "core.messaging.sender", "--name", name, "--rate", "40", "--lease-seconds", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until(cond, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def test_a_sender_killed_half_way_and_restarted_sends_every_text_exactly_once(tmp_path, monkeypatch):
    from core.bootstrap import init_db
    from core.db import make_engine

    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = make_engine(url)
    init_db(engine)
    with FakeTwilio() as api:
        live_env(monkeypatch, api.url)
        phones = queue_help_replies(engine)
        procs: list[subprocess.Popen] = []
        kill_at = {8, 19}  # the 8th and 19th texts: Twilio has them, the sender never hears back

        def on_create(n):
            if n in kill_at:
                os.kill(procs[-1].pid, signal.SIGKILL)
                procs[-1].wait()

        api.on_create = on_create
        for life in range(3):
            procs.append(start_sender(url, api.url, f"sender-{life}"))
            if life < 2:
                procs[-1].wait(timeout=60)  # killed at the next text in kill_at
                assert procs[-1].returncode == -signal.SIGKILL
        try:
            wait_until(lambda: all(m.status is MessageStatus.sent for m in outbound(engine)))
        finally:
            procs[-1].terminate()
            procs[-1].wait(timeout=20)
    per_phone = {}
    for c in api.creates:
        per_phone[c["to"]] = per_phone.get(c["to"], 0) + 1
    assert per_phone == {p: 1 for p in phones}  # nothing twice, nothing lost
    rows = outbound(engine)
    assert sorted(m.provider_sid for m in rows) == sorted(c["sid"] for c in api.creates)
    assert len(api.lists) >= 2  # each interrupted text was looked up at Twilio before anything else
    engine.dispose()


@pytest.mark.parametrize(
    "file_engine",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason="needs TEST_DATABASE_URL"))],
    indirect=True,
)
def test_two_senders_at_once_send_each_text_once(file_engine, monkeypatch):
    with FakeTwilio() as api:
        live_env(monkeypatch, api.url)
        phones = queue_help_replies(file_engine, 60)
        stop = threading.Event()
        senders = [sender.Sender(file_engine, name=f"replica-{i}", rate=500) for i in range(2)]
        threads = [threading.Thread(target=s.run, args=(stop,)) for s in senders]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: all(m.status is MessageStatus.sent for m in outbound(file_engine)))
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=20)
    assert sorted(c["to"] for c in api.creates) == sorted(phones)
    assert all(s.sent > 0 for s in senders), [s.sent for s in senders]  # both worked
    assert sum(s.sent for s in senders) == 60
