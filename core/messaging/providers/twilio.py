"""Twilio: the real `twilio` client (PyPI), pointed at TWILIO_API_URL when set (tests: a local fake).

The client is given a TwilioHttpClient that swaps Twilio's own base address (https://api.twilio.com)
for `api_url`: the library's documented hook for a custom HTTP client, so every request still goes
through the library's own serialisation, authentication and error handling.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Optional

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from core.messaging.providers.base import Outcome, ProviderUnavailable, SendResult, SentRecord

TWILIO_API = "https://api.twilio.com"
TIMEOUT_S = 15.0
log = logging.getLogger(__name__)


class _BaseUrlHttpClient(TwilioHttpClient):
    """Sends the library's requests to `base` instead of Twilio's API host; keeps the last headers
    (Retry-After)."""

    def __init__(self, base: str, timeout: float = TIMEOUT_S):
        super().__init__(timeout=timeout, logger=log)
        self.base = base.rstrip("/")
        self.last_headers: dict = {}

    def request(
        self, method, url, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False
    ):
        if self.base and url.startswith(TWILIO_API):
            url = self.base + url[len(TWILIO_API) :]
        response = super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )
        self.last_headers = dict(response.headers or {})
        return response


def _retry_after(headers: dict) -> Optional[float]:
    for k, v in headers.items():
        if k.lower() == "retry-after":
            try:
                return max(0.0, float(v))
            except (TypeError, ValueError):
                return None
    return None


def _naive_utc(value) -> Optional[dt.datetime]:
    if not isinstance(value, dt.datetime):
        return None
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None) if value.tzinfo else value


class TwilioProvider:
    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, *, api_url: str = "", timeout: float = TIMEOUT_S):
        self._http = _BaseUrlHttpClient(api_url or TWILIO_API, timeout=timeout)
        # environment={} : the credentials are exactly those given, never read behind our back
        self._client = Client(account_sid, auth_token, http_client=self._http, environment={})

    def send(self, *, to: str, from_: str, body: str, status_callback: str = "") -> SendResult:
        kwargs = {"to": to, "from_": from_, "body": body}
        if status_callback:
            kwargs["status_callback"] = status_callback
        try:
            m = self._client.messages.create(**kwargs)
        except TwilioRestException as exc:
            detail = (
                f"Twilio {exc.status}"
                + (f" error {exc.code}" if exc.code else "")
                + (f": {exc.msg}" if exc.msg else "")
            )
            if exc.status == 429:
                return SendResult(
                    Outcome.retry,
                    error_code=exc.code,
                    detail=detail[:300],
                    retry_after=_retry_after(self._http.last_headers),
                )
            if exc.status >= 500:
                return SendResult(
                    Outcome.unknown,
                    error_code=exc.code,
                    detail=detail[:300],
                    retry_after=_retry_after(self._http.last_headers),
                )
            return SendResult(Outcome.rejected, error_code=exc.code, detail=detail[:300])
        except (requests.RequestException, OSError) as exc:
            # the request may or may not have reached Twilio: the sender looks it up before sending again
            return SendResult(Outcome.unknown, detail=f"No answer from Twilio ({type(exc).__name__})")
        return SendResult(Outcome.accepted, sid=m.sid or "", status=str(m.status or "queued"), error_code=m.error_code)

    def find_sent(self, *, to: str, from_: str, since: dt.datetime) -> list[SentRecord]:
        try:
            rows = self._client.messages.list(
                to=to, from_=from_, date_sent_after=since - dt.timedelta(days=1), limit=200
            )
        except (TwilioRestException, requests.RequestException, OSError) as exc:
            raise ProviderUnavailable(f"Could not ask Twilio ({type(exc).__name__})") from None
        return [
            SentRecord(
                sid=r.sid,
                to=r.to or "",
                from_=getattr(r, "from_", "") or "",
                body=r.body or "",
                created_at=_naive_utc(r.date_created),
                status=str(r.status or ""),
            )
            for r in rows
        ]
