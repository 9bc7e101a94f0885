"""Twilio's webhooks, served by the dashboard's own process (app.py: st.App(routes=..., lifespan=...)).

    POST /sms/twilio/inbound   a text to the shop's number (Messaging webhook) → inbox.receive, answers <Response/>
    POST /sms/twilio/status    a status callback for a text we sent → delivery.apply_status

Every request is checked in this order, and nothing is written unless all pass:
    400  not form-encoded, larger than MAX_FORM_BYTES, or unreadable;
    503  Twilio texting is not on in Settings › Texting provider (or has no Auth Token);
    403  X-Twilio-Signature missing or wrong: checked with twilio's RequestValidator against
         OPTIN_DESK_PUBLIC_URL + path (+ the query), the address Twilio was given; a request for
         another Twilio account (AccountSid) is refused the same way;
    400  a field missing or wrong (From not a phone, a body over 1,600 characters, ...), with the reason.
A retried webhook (same MessageSid) changes nothing.

The background sender (core/messaging/sender.py) starts in `lifespan`; OPTIN_DESK_SENDER=off leaves it
out (e.g. when `python -m core.messaging.sender` runs as its own process).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from contextlib import asynccontextmanager, contextmanager
from functools import lru_cache
from typing import Callable, Optional
from urllib.parse import parse_qsl

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MultiDict
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator, get_signature_algorithm

from core import bootstrap, db, phones
from core.messaging import delivery, inbox, providers
from core.models import Message, MessageKind, MessageStatus, utcnow

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 32 * 1024  # Twilio's form is ~1 KB; a 1,600-character body percent-encoded is < 20 KB
TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
SID_RE = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")
FORM_TYPE = "application/x-www-form-urlencoded"
# Twilio's Advanced Opt-Out answered the keyword itself: our own reply of that kind is not sent too
OPT_OUT_TYPES = {
    "STOP": (MessageKind.opt_out_confirmation,),
    "START": (MessageKind.resubscribe_confirmation, MessageKind.opt_in_confirmation),
    "HELP": (MessageKind.help_reply,),
}


class BadRequest(Exception):
    def __init__(self, status: int, reason: str):
        self.status = status
        self.reason = reason


@lru_cache(maxsize=4)
def _engine_for(url: str) -> Engine:
    engine = db.make_engine(url)
    bootstrap.init_db(engine)
    return engine


def shop_engine() -> Engine:
    """The real shop's database (never the demo's or a training shop's): DATABASE_URL or the SQLite file."""
    return _engine_for(db.database_url())


_sqlite_writer = threading.Lock()


@contextmanager
def _one_writer(engine: Engine):
    """SQLite has one writer at a time: webhook threads queue here instead of in SQLite's busy loop
    (which sleeps in steps and would stretch the slowest answers)."""
    if engine.dialect.name == "sqlite":
        with _sqlite_writer:
            yield
    else:
        yield


async def _form(request: Request) -> MultiDict:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != FORM_TYPE:
        raise BadRequest(400, f"Expected {FORM_TYPE}, got {ctype or 'no content type'}.")
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise BadRequest(400, "Bad Content-Length.")
        if int(length) > MAX_FORM_BYTES:
            raise BadRequest(400, f"The form is larger than {MAX_FORM_BYTES:,} bytes.")
    raw = bytearray()
    try:
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_FORM_BYTES:
                raise BadRequest(400, f"The form is larger than {MAX_FORM_BYTES:,} bytes.")
    except ClientDisconnect:
        raise BadRequest(400, "The request ended early.") from None
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(400, "The form is not valid URL-encoded UTF-8.") from None
    return MultiDict(pairs)


def _single(form: MultiDict, name: str, *, required: bool = True) -> Optional[str]:
    values = form.getlist(name)
    if not values:
        if required:
            raise BadRequest(400, f"{name} is missing.")
        return None
    if len(values) > 1:
        raise BadRequest(400, f"{name} is given more than once.")
    if "\x00" in values[0]:
        raise BadRequest(400, f"{name} holds a NUL character.")
    return values[0]


def _check(config: providers.ProviderConfig, request: Request, form: MultiDict, path: str) -> None:
    if not (config.live and config.auth_token and config.public_url):
        raise BadRequest(503, "Twilio texting is not turned on for this shop (Settings › Texting provider).")
    signature = request.headers.get("x-twilio-signature", "")
    if not signature:
        raise BadRequest(403, "The X-Twilio-Signature header is missing.")
    url = config.public_url + path + (f"?{request.url.query}" if request.url.query else "")
    algorithm = get_signature_algorithm(request.headers.get("x-twilio-webhooks-signature-settings", ""))
    if not RequestValidator(config.auth_token).validate(url, form, signature, algorithm):
        raise BadRequest(403, "The signature does not match: this request did not come from your Twilio account.")
    account = form.get("AccountSid")
    if account and config.account_sid and account != config.account_sid:
        raise BadRequest(403, "This request is for another Twilio account.")


def _error(exc: BadRequest) -> Response:
    return PlainTextResponse(exc.reason + "\n", status_code=exc.status)


# --- inbound texts ----------------------------------------------------------------------------


def _receive(engine: Engine, form: MultiDict, request: Request) -> Response:
    with Session(engine) as session:
        config = providers.load(session)
        _check(config, request, form, providers.INBOUND_PATH)
        sid = _single(form, "MessageSid")
        if not SID_RE.fullmatch(sid):
            raise BadRequest(400, "MessageSid is not a Twilio message id.")
        from_ = _single(form, "From")
        to = _single(form, "To", required=False)
        body = _single(form, "Body")
        try:
            phones.normalize(from_, "US")
        except phones.InvalidPhone:
            raise BadRequest(400, "From is not a phone number.") from None
        if not body.strip():
            return _twiml()  # a picture without words: nothing for the rules to act on
        try:
            with _one_writer(engine):
                replies = inbox.receive(session, phone=from_, body=body, to=to, provider_sid=sid)
                kinds = OPT_OUT_TYPES.get((form.get("OptOutType") or "").strip().upper())
                if kinds and replies:
                    _answered_by_provider(session, [m.id for m in replies if m.kind in kinds])
        except (phones.InvalidPhone, inbox.InvalidMessage) as exc:
            raise BadRequest(400, str(exc)) from None
    return _twiml()


def _answered_by_provider(session: Session, ids: list[int]) -> None:
    """Twilio's Advanced Opt-Out already answered this keyword: our reply would be a second one."""
    if not ids:
        return

    def work() -> None:
        db.lock_for_write(session)
        for msg in session.exec(
            select(Message).where(
                col(Message.id).in_(ids), Message.status == MessageStatus.sending, col(Message.claimed_by).is_(None)
            )
        ).all():
            msg.status = MessageStatus.blocked
            msg.reason = "Answered by Twilio's own opt-out handling (Advanced Opt-Out): not sent twice"
            session.add(msg)

    db.run_write(session, work)


def _twiml() -> Response:
    return Response(TWIML_EMPTY, media_type="text/xml")


# --- status callbacks -------------------------------------------------------------------------


def _status(engine: Engine, form: MultiDict, request: Request) -> Response:
    with Session(engine) as session:
        config = providers.load(session)
        _check(config, request, form, providers.STATUS_PATH)
        sid = _single(form, "MessageSid")
        if not SID_RE.fullmatch(sid):
            raise BadRequest(400, "MessageSid is not a Twilio message id.")
        word = (_single(form, "MessageStatus") or "").strip().lower()
        if word not in delivery.PROVIDER_STATUS:
            raise BadRequest(400, f"MessageStatus {word!r} is not one Twilio sends.")
        raw_code = (_single(form, "ErrorCode", required=False) or "").strip()
        if raw_code and not raw_code.isdigit():
            raise BadRequest(400, "ErrorCode is not a number.")
        code = int(raw_code) if raw_code and int(raw_code) else None
        m = request.query_params.get("m", "")
        msg_id = int(m) if m.isdigit() else None

        def work() -> None:
            msg = None
            if msg_id is not None:
                msg = session.get(Message, msg_id, populate_existing=True)
                if msg is not None and msg.provider_sid not in (None, sid):
                    msg = None
            if msg is None:
                msg = session.exec(select(Message).where(Message.provider_sid == sid)).first()
            if msg is None:
                return  # not one of ours (or already gone): nothing to record
            db.lock_phones(session, [msg.phone])
            session.refresh(msg)
            delivery.apply_status(session, msg, word, code, sid=sid, now=utcnow())

        with _one_writer(engine):
            db.run_write(session, work)
    return Response(status_code=204)


# --- routes, app, lifespan ---------------------------------------------------------------------


def routes(engine: Callable[[], Engine] = shop_engine) -> list[Route]:
    def endpoint(handler):
        async def run(request: Request) -> Response:
            try:
                form = await _form(request)
                return await run_in_threadpool(handler, engine(), form, request)
            except BadRequest as exc:
                if exc.status >= 500 or exc.status == 403:
                    log.warning("twilio webhook %s refused: %s", request.url.path, exc.reason)
                return _error(exc)

        return run

    return [
        Route(providers.INBOUND_PATH, endpoint(_receive), methods=["POST"]),
        Route(providers.STATUS_PATH, endpoint(_status), methods=["POST"]),
    ]


def make_app(engine: Engine) -> Starlette:
    """The webhooks alone, on `engine` (tests and the benchmark)."""
    return Starlette(routes=routes(lambda: engine))


@asynccontextmanager
async def lifespan(app):
    """Start the background sender with the server; stop it with the server."""
    from core.messaging import sender

    thread = stop = None
    if os.environ.get("OPTIN_DESK_SENDER", "on").strip().lower() not in ("off", "0", "no", "false"):
        thread, stop = sender.start_thread(shop_engine())
    try:
        yield None
    finally:
        if stop is not None:
            stop.set()
            thread.join(timeout=20)
