"""A fake Twilio REST API on 127.0.0.1 (Starlette + uvicorn in a thread) that records every request.

The real `twilio` client talks to it through TWILIO_API_URL (core/messaging/providers/twilio.py).

    with FakeTwilio() as api:            # api.url = "http://127.0.0.1:PORT"
        api.script = [429, 500]          # the next POSTs answer these (then 201 as usual)
        api.on_create = lambda n: ...    # called after the n-th create is recorded, before it answers
        api.creates                      # every accepted create: {"sid", "To", "From", "Body", ...}
        api.posts                        # every POST, accepted or not
"""

from __future__ import annotations

import datetime as dt
import email.utils
import socket
import threading
import time
import uuid
from typing import Callable, Optional

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """Any ASGI app on 127.0.0.1 in a thread (uvicorn): `with LocalServer(app) as url: ...`."""

    def __init__(self, app):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", access_log=False)
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("local server did not start")
            time.sleep(0.02)
        return self.url

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def live_env(monkeypatch, api_url: str, public_url: str = "https://shop.example.com") -> None:
    """Presets that turn Twilio on for the shop, pointed at the fake API."""
    monkeypatch.setenv("OPTIN_DESK_SMS_PROVIDER", "twilio")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("OPTIN_DESK_PUBLIC_URL", public_url)
    monkeypatch.setenv("TWILIO_API_URL", api_url)


def signed(url: str, params: dict, token: str = AUTH_TOKEN) -> dict:
    """Headers for a webhook Twilio would sign: X-Twilio-Signature over `url` and the form."""
    from twilio.request_validator import RequestValidator

    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params)}


def inbound_form(from_: str, body: str, *, to: str = "+14155550100", sid: Optional[str] = None, **extra) -> dict:
    return {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": ACCOUNT_SID,
        "From": from_,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        **extra,
    }


class FakeTwilio:
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.lock = threading.Lock()
        self.posts: list[dict] = []
        self.creates: list[dict] = []
        self.lists: list[dict] = []
        self.script: list = []  # status codes (or (status, twilio error code)) for the next POSTs
        self.on_create: Optional[Callable[[int], None]] = None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base = "/2010-04-01/Accounts/{sid}/Messages.json"
        app = Starlette(routes=[Route(base, self._create, methods=["POST"]), Route(base, self._list, methods=["GET"])])
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> "FakeTwilio":
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Twilio did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def _authorised(self, request: Request, sid: str) -> bool:
        import base64

        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return sid == self.account_sid and request.headers.get("authorization") == expected

    @staticmethod
    def _error(status: int, code: int, message: str) -> JSONResponse:
        return JSONResponse(
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
            status_code=status,
        )

    async def _create(self, request: Request):
        sid = request.path_params["sid"]
        form = dict(await request.form())
        with self.lock:
            self.posts.append(form)
        if not self._authorised(request, sid):
            return self._error(401, 20003, "Authenticate")
        with self.lock:
            step = self.script.pop(0) if self.script else None
        if step is not None:
            status, code = step if isinstance(step, tuple) else (step, 0)
            if status == 429:
                return JSONResponse(
                    {"code": 20429, "message": "Too Many Requests", "status": 429},
                    status_code=429,
                    headers={"Retry-After": "0"},
                )
            if status >= 500:
                return self._error(status, code or 20500, "Internal Server Error")
            return self._error(status, code, "Refused")
        now = dt.datetime.now(dt.timezone.utc)
        record = {
            "sid": "SM" + uuid.uuid4().hex,
            "to": form.get("To"),
            "from": form.get("From"),
            "body": form.get("Body"),
            "status_callback": form.get("StatusCallback", ""),
            "date_created": now,
        }
        with self.lock:
            self.creates.append(record)
            n = len(self.creates)
        if self.on_create is not None:
            self.on_create(n)
        return JSONResponse(self._json(record), status_code=201)

    def _json(self, r: dict) -> dict:
        stamp = email.utils.format_datetime(r["date_created"], usegmt=True)
        return {
            "sid": r["sid"],
            "account_sid": self.account_sid,
            "to": r["to"],
            "from": r["from"],
            "body": r["body"],
            "status": "queued",
            "direction": "outbound-api",
            "num_segments": "1",
            "date_created": stamp,
            "date_updated": stamp,
            "date_sent": None,
            "error_code": None,
            "error_message": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{r['sid']}.json",
        }

    async def _list(self, request: Request):
        sid = request.path_params["sid"]
        q = request.query_params
        with self.lock:
            self.lists.append(dict(q))
        if not self._authorised(request, sid):
            return self._error(401, 20003, "Authenticate")
        with self.lock:
            rows = [
                r
                for r in self.creates
                if (not q.get("To") or r["to"] == q["To"]) and (not q.get("From") or r["from"] == q["From"])
            ]
        return JSONResponse(
            {
                "messages": [self._json(r) for r in rows],
                "next_page_uri": None,
                "page": 0,
                "page_size": 1000,
                "uri": request.url.path,
                "first_page_uri": request.url.path,
                "previous_page_uri": None,
                "start": 0,
                "end": len(rows),
            }
        )

    def count_by_body_and_to(self) -> dict:
        with self.lock:
            out: dict = {}
            for r in self.creates:
                out[(r["to"], r["body"])] = out.get((r["to"], r["body"]), 0) + 1
            return out
