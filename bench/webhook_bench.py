"""Live texting speed, on a SQLite file:

1. Signed inbound webhooks over loopback: the webhook app (core/messaging/webhooks.py, the same routes
   st.App serves) under uvicorn in its own process; N concurrent clients post signed Twilio Messaging
   webhooks (JOIN, YES, STOP, START, HELP, other words, each from its own phone). Target: >= 200 texts/s,
   p99 < 100 ms at 8 clients.
2. The background sender against a fake Twilio API (tests/fake_twilio.py, real `twilio` client): 1,000
   texts waiting; the rate Twilio saw (first to last request) against the configured rate. Target: within 5 %.

    .venv/bin/python bench/webhook_bench.py [--texts 4000] [--clients 8] [--messages 1000] [--rate 10]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from sqlmodel import Session, func, select  # noqa: E402

from core.bootstrap import init_db  # noqa: E402
from core.db import make_engine  # noqa: E402
from core.models import Message  # noqa: E402
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, free_port, inbound_form, signed  # noqa: E402

PUBLIC = "https://texts.bench.example"
BODIES = ["JOIN", "YES", "STOP", "START", "HELP", "what time do you open?", "please stop texting me"]
OUT = ROOT / "bench" / "out"


def live_env(api_url: str) -> dict:
    return {
        "OPTIN_DESK_SMS_PROVIDER": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "OPTIN_DESK_PUBLIC_URL": PUBLIC,
        "TWILIO_API_URL": api_url,
    }


def inbound(texts: int, clients: int, workdir: Path) -> None:
    url = f"sqlite:///{workdir / 'webhooks.db'}"
    engine = make_engine(url)
    init_db(engine)
    port = free_port()
    env = {**os.environ, **live_env("http://127.0.0.1:9"), "DATABASE_URL": url}
    app = (
        "import uvicorn; from core.messaging import webhooks; "
        f"uvicorn.run(webhooks.make_app(webhooks.shop_engine()), host='127.0.0.1', port={port}, "
        "log_level='warning', access_log=False)"
    )
    server = subprocess.Popen([sys.executable, "-c", app], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(base + "/sms/twilio/inbound", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        rng = random.Random(7)
        per_client = texts // clients
        jobs = []
        for c in range(clients):
            mine = []
            for i in range(per_client):
                phone = f"+1415{300 + c:03d}{i:04d}"
                form = inbound_form(phone, rng.choice(BODIES), to="+14155550142" if i % 3 == 0 else "+14155550100")
                mine.append((form, signed(PUBLIC + "/sms/twilio/inbound", form)))
            jobs.append(mine)
        latencies: list[float] = []
        lock = threading.Lock()
        failures = []

        def client(mine):
            s = requests.Session()
            own = []
            for form, headers in mine:
                t0 = time.perf_counter()
                r = s.post(base + "/sms/twilio/inbound", data=form, headers=headers, timeout=30)
                own.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    failures.append(r.status_code)
            with lock:
                latencies.extend(own)

        # warm up (connections, first queries), then measure
        warm = [
            (f, signed(PUBLIC + "/sms/twilio/inbound", f))
            for f in [inbound_form(f"+1415299{i:04d}", "HELP") for i in range(50)]
        ]
        client(warm)
        latencies.clear()
        threads = [threading.Thread(target=client, args=(m,)) for m in jobs]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(timeout=10)
    with Session(engine) as s:
        inbound_rows = s.exec(select(func.count()).select_from(Message).where(Message.direction == "inbound")).one()
    engine.dispose()
    lat = sorted(latencies)
    n = len(lat)
    print(f"inbound webhooks: {n:,} signed texts, {clients} clients, {elapsed:.2f} s -> {n / elapsed:,.0f} texts/s")
    print(
        f"  latency p50 {lat[n // 2] * 1000:.1f} ms, p95 {lat[int(n * 0.95)] * 1000:.1f} ms, "
        f"p99 {lat[int(n * 0.99)] * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms, mean {statistics.mean(lat) * 1000:.1f} ms"
    )
    print(f"  non-200 answers: {len(failures)}; inbound rows written: {inbound_rows:,} (incl. 50 warm-up)")
    ok = n / elapsed >= 200 and lat[int(n * 0.99)] < 0.100 and not failures
    print(f"  target >= 200 texts/s and p99 < 100 ms: {'MET' if ok else 'NOT MET'}")


def sender_rate(messages: int, rate: float, workdir: Path) -> None:
    from core.messaging import inbox, sender

    url = f"sqlite:///{workdir / 'sender.db'}"
    engine = make_engine(url)
    init_db(engine)
    with FakeTwilio() as api:
        os.environ.update(live_env(api.url))
        with Session(engine) as s:
            for i in range(messages):
                inbox.receive(s, phone=f"+1415{600 + i // 10000:03d}{i % 10000:04d}", body="HELP")
        stop = threading.Event()
        worker = sender.Sender(engine, rate=rate)
        thread = threading.Thread(target=worker.run, args=(stop,))
        t0 = time.perf_counter()
        thread.start()
        while len(api.creates) < messages and time.perf_counter() - t0 < messages / rate * 2 + 30:
            time.sleep(0.05)
        stop.set()
        thread.join()
        stamps = [c["date_created"].timestamp() for c in api.creates]
        per_to = {}
        for c in api.creates:
            per_to[c["to"]] = per_to.get(c["to"], 0) + 1
    engine.dispose()
    span = stamps[-1] - stamps[0]
    achieved = (len(stamps) - 1) / span
    dev = (achieved - rate) / rate * 100
    gaps = sorted(b - a for a, b in zip(stamps, stamps[1:]))
    print(
        f"sender: {len(stamps):,} texts at a configured {rate:g}/s: {span:.1f} s first to last -> {achieved:.3f}/s "
        f"({dev:+.2f} %); gap p50 {gaps[len(gaps) // 2] * 1000:.0f} ms, max {gaps[-1] * 1000:.0f} ms; "
        f"sent twice: {sum(1 for v in per_to.values() if v > 1)}"
    )
    print(f"  target within 5 % of the configured rate: {'MET' if abs(dev) <= 5 else 'NOT MET'}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--texts", type=int, default=4000)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--messages", type=int, default=1000)
    p.add_argument("--rate", type=float, default=10.0)
    p.add_argument("--skip-sender", action="store_true")
    a = p.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        inbound(a.texts, a.clients, Path(tmp))
        if not a.skip_sender:
            sender_rate(a.messages, a.rate, Path(tmp))


if __name__ == "__main__":
    main()
