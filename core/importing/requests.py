"""Opt-in requests in bulk: the rules of outbox.send (and customers.send_opt_in_request), applied set-wise to
the customers of an import chunk or of a POS source's date setting."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Optional

from sqlmodel import Session

from core.clock import as_utc
from core.consent import customers
from core.db import lock_every_phone
from core.importing.context import ImportContext, PosTarget, Wanted, request_key
from core.importing.sql import MESSAGE, MESSAGE_COLS, Retry, Sql
from core.messaging import outbox, providers, segments, texting
from core.models import Channel, Direction, MessageKind, MessageStatus, SmsStatus

_NOT, _PENDING = SmsStatus.not_opted_in.value, SmsStatus.pending.value


@dataclass
class RequestTally:
    """Opt-in requests of a bulk action: sent now, queued for quiet hours, refused (and why), and those
    not sent because they were already sent for this file or POS round."""

    sent: int = 0
    queued: int = 0
    blocked: int = 0
    already: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def merge(self, other: "RequestTally") -> None:
        self.sent += other.sent
        self.queued += other.queued
        self.blocked += other.blocked
        self.already += other.already
        for k, v in other.reasons.items():
            self.reasons[k] = self.reasons.get(k, 0) + v

    def add_to(self, report: Any) -> None:
        report.requests_sent += self.sent
        report.requests_queued += self.queued
        report.requests_blocked += self.blocked
        report.requests_already += self.already
        for k, v in self.reasons.items():
            report.request_reasons[k] = report.request_reasons.get(k, 0) + v


def bulk_requests(ctx: ImportContext, wanted: list[tuple[str, Wanted]]) -> RequestTally:
    """One opt-in request per customer in `wanted`, decided exactly as outbox.send(kind=opt_in_request,
    bulk=True) decides it -- outbox.refusal (opt-out, already opted in, request limit, 24 hours) and
    outbox.hold (the recipient's state window and cap, §9: queued with the rule) -- and logged set-wise.
    With live texting a request that goes now is `sending`, for the background sender (outbox._dispatch).
    A request that is not blocked
    makes a not-opted-in customer pending, with its consent event, as customers.request_opt_in does.
    Each request has a dedupe key: one already logged is not sent again ("nothing new")."""
    session, now = ctx.session, ctx.now
    tally = RequestTally()
    defaults = ctx.defaults = ctx.defaults or texting.get_defaults(session)
    sql = ctx.sql
    file_hash = ctx.opened.file_hash if ctx.opened else ""
    keys = {p: request_key(ctx.origin, file_hash, p, ctx.pos) for p, _ in wanted}
    done = sql.existing_keys(MESSAGE, list(keys.values())) if ctx.check_request_keys else set()
    kind = MessageKind.opt_in_request
    live = providers.is_live(session)
    bodies: dict[str, tuple[str, str, int]] = {}
    messages: list[tuple] = []
    counters: list[tuple] = []
    pendings: list[tuple] = []
    events: list[tuple] = []
    now_db = sql.dt(now)
    recent = outbox.recent_capped(session, [p for p, _ in wanted], now)  # what the states' caps count
    for phone, w in wanted:
        key = keys[phone]
        if key in done:
            tally.already += 1
            continue
        last = w.last_request_at
        who = SimpleNamespace(
            sms_status=SmsStatus(w.status),
            opt_in_requests=w.requests,
            queued_requests=w.queued,
            last_request_at=sql.dt_result(last) if last is not None else None,
            first_name=w.first_name or "",
        )
        reason = outbox.refusal(who, kind, defaults, now)
        cached = bodies.get(who.first_name)
        if cached is None:
            body = texting.render(kind, who, defaults)
            seg = segments.count(body)
            cached = bodies[who.first_name] = (body, seg.encoding, seg.segments)
        body, encoding, nseg = cached
        send_at = sent_at = None
        if reason:
            status = MessageStatus.blocked.value
            tally.blocked += 1
            tally.reasons[reason] = tally.reasons.get(reason, 0) + 1
        else:
            held = outbox.hold(phone, now, defaults, zip=w.zip, recent=recent.get(phone, ()))
            if held.until is not None:
                status = MessageStatus.queued.value
                send_at = held.until
                reason = held.reason[:300]
                tally.queued += 1
            else:  # live texting: `sending`, for the background sender (outbox._dispatch)
                status = (MessageStatus.sending if live else MessageStatus.sent).value
                sent_at = None if live else now
                tally.sent += 1
            if send_at is None:  # the counter counts requests sent; the 24 hours run from then
                counters.append((w.requests + 1, w.queued, now, now_db, w.id))
            else:
                counters.append(
                    (w.requests, w.queued + 1, sql.dt_result(last) if last is not None else None, now_db, w.id)
                )
            if w.status == _NOT:
                pendings.append((_PENDING, now_db, now_db, w.id))
                ev = (
                    ctx.evidence(w.row, action="sent an opt-in request")
                    if ctx.opened is not None
                    else {"pos_source": ctx.pos.name, "action": "sent an opt-in request"}
                )
                events.append(
                    (
                        w.id,
                        phone,
                        _NOT,
                        _PENDING,
                        now_db,
                        ctx.origin,
                        json.dumps(ev),
                        key + ":pending",
                        None,
                        w.source,
                        None,
                    )
                )
        messages.append(
            (
                w.id,
                phone,
                defaults.main_number,
                Direction.outbound.value,
                body,
                kind.value,
                status,
                reason,
                encoding,
                nseg,
                now_db,
                sql.dt(send_at),
                sql.dt(sent_at),
                True,
                key,
            )
        )
    if ctx.write:
        if sql.insert(MESSAGE, MESSAGE_COLS, messages, conflict=["dedupe_key"]) != len(messages):
            ctx.check_request_keys = True
            raise Retry()
        if not sql.update_customers(
            "opt_in_requests = ?, queued_requests = ?, last_request_at = ?, updated_at = ?",
            [(*c[:2], sql.dt(c[2]), *c[3:]) for c in counters],
        ):
            ctx.check_request_keys = True
            raise Retry()
        if not sql.write_status_changes(pendings, events):
            ctx.check_request_keys = True
            raise Retry()
    return tally


def request_for_pos_contacts(
    session: Session, *, target: PosTarget, now: Optional[dt.datetime], after_id: int = 0, limit: int = 5000
) -> tuple["RequestTally", tuple[int, Optional[int]]]:
    """Inside a write transaction: the next `limit` contacts of the source (keyset after PosContact id
    `after_id`) synced at or after the cutoff and not opted in or pending get an opt-in request by the
    rules of outbox.send (dedupe key per round). Returns (tally, (contacts seen, last id or None at the end))."""
    if target.cutoff is None:
        return RequestTally(), (0, None)
    lock_every_phone(session)  # the phones are picked by the query below
    now = as_utc(now)  # read under the lock: the ledger's times follow its order
    sql = Sql(session)
    tail = " FOR UPDATE OF c" if not sql.sqlite else ""
    rows = sql.conn.exec_driver_sql(
        (
            "SELECT pc.id, c.id, c.phone, c.sms_status, c.opt_in_requests, c.last_request_at, c.first_name, c.source, "
            "c.source_detail, c.version, c.queued_requests, c.zip FROM pos_contact pc JOIN customer c ON c.id = pc.customer_id "
            "WHERE pc.source_id = ? AND pc.synced_at >= ? AND pc.id > ? AND c.sms_status IN (?, ?) "
            "ORDER BY pc.id LIMIT ?" + tail
        ).replace("?", sql.ph),
        (target.source_id, sql.dt(target.cutoff), after_id, _NOT, _PENDING, limit),
    ).all()
    ctx = ImportContext(
        session=session,
        opened=None,
        columns=None,
        attested=False,
        origin=Channel.pos_sync.value,
        now=now,
        write=True,
        send_requests=False,
        pos=target,
        report=None,
    )
    ctx.sql = sql
    sql.versions.update({r[1]: r[9] for r in rows})
    wanted = [
        (
            phone,
            Wanted(
                cid,
                status,
                requests or 0,
                last,
                first or "",
                None,
                customers.source_key(source, detail or ""),
                queued or 0,
                zip_code or "",
            ),
        )
        for _pcid, cid, phone, status, requests, last, first, source, detail, _v, queued, zip_code in rows
    ]
    tally = bulk_requests(ctx, wanted) if wanted else RequestTally()
    last_id = rows[-1][0] if len(rows) == limit else None
    return tally, (len(rows), last_id)
