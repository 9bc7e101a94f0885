"""Which texting provider the shop uses, its credentials, and the provider object itself.

Settings › Texting provider writes these; the environment or `.streamlit/secrets.toml` preset wins
(like the owner password), field by field:

    OPTIN_DESK_SMS_PROVIDER   simulated | twilio
    TWILIO_ACCOUNT_SID        the account (AC…)
    TWILIO_AUTH_TOKEN         the token: never stored in plain text, never shown back
    OPTIN_DESK_PUBLIC_URL     the public base URL Twilio calls (webhook signatures are checked against it)
    TWILIO_API_URL            Twilio's API base (default https://api.twilio.com; tests use a local fake)
    OPTIN_DESK_SEND_RATE      texts per second the background sender keeps to (default 1)
    OPTIN_DESK_SECRET_KEY     the key that encrypts an Auth Token typed on the page (Fernet, AES-128 + HMAC)

The demo and training shops always text in simulation, whatever is set. Adding a provider: one
module with a class following providers.base.Provider, and one line in FACTORIES.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Mapping, Optional
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from core.db import PROJECT_ROOT, lock_for_write, run_write
from core.messaging.providers.base import Outcome, Provider, ProviderUnavailable, SendResult, SentRecord  # noqa: F401
from core.models import Setting
from core.staff.roles import Actor, allow

SIMULATED = "simulated"
TWILIO = "twilio"
PROVIDERS = {SIMULATED: "Simulated (nothing leaves this computer)", TWILIO: "Twilio"}
DEFAULT_RATE = 1.0  # texts per second: the low-volume 10DLC class
MAX_RATE = 100.0

KEY_PROVIDER = "sms_provider"
KEY_SID = "twilio_account_sid"
KEY_TOKEN = "twilio_auth_token_enc"  # Fernet ciphertext, never the token
KEY_PUBLIC_URL = "public_url"
KEY_RATE = "send_rate"
_KEYS = (KEY_PROVIDER, KEY_SID, KEY_TOKEN, KEY_PUBLIC_URL, KEY_RATE)

ENV_PROVIDER = "OPTIN_DESK_SMS_PROVIDER"
ENV_SID = "TWILIO_ACCOUNT_SID"
ENV_TOKEN = "TWILIO_AUTH_TOKEN"
ENV_PUBLIC_URL = "OPTIN_DESK_PUBLIC_URL"
ENV_API_URL = "TWILIO_API_URL"
ENV_RATE = "OPTIN_DESK_SEND_RATE"
ENV_SECRET_KEY = "OPTIN_DESK_SECRET_KEY"

INBOUND_PATH = "/sms/twilio/inbound"
STATUS_PATH = "/sms/twilio/status"

SID_RE = re.compile(r"AC[0-9a-fA-F]{32}")
TOKEN_RE = re.compile(r"[0-9a-fA-F]{32}")


class ProviderSettingsError(ValueError):
    """Settings the owner typed that cannot be saved; `errors` maps each field to what is wrong."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__(" ".join(errors.values()))


class TestTextError(ValueError):
    """A test text that cannot go (no number, an opted-out phone, the provider refused)."""


# --- presets: environment, then .streamlit/secrets.toml ---------------------------------------

SECRETS_FILES = (PROJECT_ROOT / ".streamlit" / "secrets.toml", Path.home() / ".streamlit" / "secrets.toml")


@lru_cache(maxsize=8)
def _read_secrets(path: str, mtime: float) -> dict:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    return {k: str(v) for k, v in data.items() if isinstance(v, (str, int, float))}


def preset(name: str, environ: Optional[Mapping[str, str]] = None) -> str:
    """The value the environment (first) or a secrets.toml file gives `name`, else ''."""
    env = os.environ if environ is None else environ
    value = (env.get(name) or "").strip()
    if value:
        return value
    for path in SECRETS_FILES:
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        value = _read_secrets(str(path), mtime).get(name, "").strip()
        if value:
            return value
    return ""


# --- the Auth Token, encrypted at rest ---------------------------------------------------------


def _fernet(environ=None):
    secret = preset(ENV_SECRET_KEY, environ)
    if not secret:
        return None
    from cryptography.fernet import Fernet

    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode("utf-8")).digest()))


def can_store_token(environ=None) -> bool:
    return _fernet(environ) is not None


def _decrypt(ciphertext: str, environ=None) -> str:
    f = _fernet(environ)
    if f is None or not ciphertext:
        return ""
    from cryptography.fernet import InvalidToken

    try:
        return f.decrypt(ciphertext.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        return ""


# --- the settings, resolved --------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderConfig:
    provider: str = SIMULATED
    account_sid: str = ""
    auth_token: str = field(default="", repr=False)  # never shown, never logged
    public_url: str = ""
    api_url: str = ""
    rate: float = DEFAULT_RATE
    preset: frozenset = frozenset()  # the fields the environment or secrets.toml set (not editable)
    token_stored: bool = False  # an encrypted token is in the database
    token_unreadable: bool = False  # one is stored but OPTIN_DESK_SECRET_KEY cannot open it
    simulated_shop: bool = False  # the demo or a training shop: always simulated

    @property
    def live(self) -> bool:
        return self.provider == TWILIO and not self.simulated_shop

    @property
    def has_token(self) -> bool:
        return bool(self.auth_token)

    @property
    def ready(self) -> bool:
        """Everything Twilio needs is there."""
        return bool(self.account_sid and self.auth_token and self.public_url)

    def webhook_url(self, path: str) -> str:
        return (self.public_url.rstrip("/") + path) if self.public_url else ""

    @property
    def inbound_url(self) -> str:
        return self.webhook_url(INBOUND_PATH)

    @property
    def status_url(self) -> str:
        return self.webhook_url(STATUS_PATH)


def _simulated_shop(stored: dict[str, str]) -> bool:
    from core.training import demo, training

    return demo.MARK_KEY in stored or training.STARTED_KEY in stored


def _rate(value: str) -> float:
    try:
        r = float(value)
    except (TypeError, ValueError):
        return DEFAULT_RATE
    return r if 0 < r <= MAX_RATE else DEFAULT_RATE


_CACHE = "provider_config"


def load(session: Session, environ: Optional[Mapping[str, str]] = None) -> ProviderConfig:
    """The provider settings in force: presets win, then what the owner saved, then the defaults.

    Read once per session (a page run, a webhook request, one sender step) and kept in session.info:
    every outbound text asks whether texting is live."""
    if environ is None and (cached := session.info.get(_CACHE)) is not None:
        return cached
    config = _load(session, environ)
    if environ is None:
        session.info[_CACHE] = config
    return config


def _load(session: Session, environ: Optional[Mapping[str, str]]) -> ProviderConfig:
    from core.training import demo, training

    keys = (*_KEYS, demo.MARK_KEY, training.STARTED_KEY)
    stored = dict(session.exec(select(Setting.key, Setting.value).where(col(Setting.key).in_(keys))).all())
    given: set[str] = set()

    def pick(env_name: str, key: Optional[str], name: str) -> str:
        value = preset(env_name, environ)
        if value:
            given.add(name)
            return value
        return stored.get(key, "") if key else ""

    provider = pick(ENV_PROVIDER, KEY_PROVIDER, "provider").lower() or SIMULATED
    if provider not in PROVIDERS:
        provider = SIMULATED
    token = pick(ENV_TOKEN, None, "auth_token")
    ciphertext = stored.get(KEY_TOKEN, "")
    if not token and ciphertext:
        token = _decrypt(ciphertext, environ)
    return ProviderConfig(
        provider=provider,
        account_sid=pick(ENV_SID, KEY_SID, "account_sid"),
        auth_token=token,
        public_url=pick(ENV_PUBLIC_URL, KEY_PUBLIC_URL, "public_url").rstrip("/"),
        api_url=preset(ENV_API_URL, environ),
        rate=_rate(pick(ENV_RATE, KEY_RATE, "rate") or DEFAULT_RATE),
        preset=frozenset(given),
        token_stored=bool(ciphertext),
        token_unreadable=bool(ciphertext) and "auth_token" not in given and not token,
        simulated_shop=_simulated_shop(stored),
    )


def is_live(session: Session) -> bool:
    """True when this shop's texts really go out through a provider (never the demo or training shop)."""
    return load(session).live


def _check_url(url: str) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "The public URL starts with https:// and names your server, e.g. https://texts.myshop.com."
    if parts.query or parts.fragment or "_" in parts.hostname:
        return "The public URL is only the address of your server: no ?, # or underscores."
    return ""


def save(
    session: Session,
    *,
    provider: str,
    account_sid: str = "",
    auth_token: Optional[str] = None,
    public_url: str = "",
    rate: float = DEFAULT_RATE,
    environ: Optional[Mapping[str, str]] = None,
    by: Optional[Actor] = None,
) -> ProviderConfig:
    """Save what the owner chose (the owner's alone: roles.NotAllowed otherwise). A field the environment
    presets is left as it is. `auth_token` None or '' keeps the stored one. Raises ProviderSettingsError
    (per field) before anything is written. The activity trail says what changed, never the token."""
    by = allow(session, by, "texting_provider")
    current = load(session, environ)
    provider = (provider or SIMULATED).strip().lower()
    account_sid = (account_sid or "").strip()
    auth_token = (auth_token or "").strip()
    public_url = (public_url or "").strip().rstrip("/")
    errors: dict[str, str] = {}
    if provider not in PROVIDERS:
        errors["provider"] = "Choose Simulated or Twilio."
    if account_sid and not SID_RE.fullmatch(account_sid):
        errors["account_sid"] = (
            "An Account SID is AC followed by 32 letters and digits (Twilio Console › Account info)."
        )
    if auth_token and not TOKEN_RE.fullmatch(auth_token):
        errors["auth_token"] = "An Auth Token is 32 letters and digits (Twilio Console › Account info)."
    elif auth_token and "auth_token" not in current.preset and not can_store_token(environ):
        errors["auth_token"] = (
            f"The Auth Token can be saved here only when {ENV_SECRET_KEY} is set (it encrypts "
            f"the token). Set it, or set {ENV_TOKEN} in the environment or .streamlit/secrets.toml."
        )
    if msg := _check_url(public_url):
        errors["public_url"] = msg
    if not (0 < float(rate or 0) <= MAX_RATE):
        errors["rate"] = f"Send between 0.1 and {MAX_RATE:g} texts a second (1 suits a new 10DLC number)."
    if provider == TWILIO and not errors:
        if not (account_sid or "account_sid" in current.preset):
            errors["account_sid"] = "Twilio needs your Account SID."
        if not (auth_token or current.has_token):
            errors["auth_token"] = "Twilio needs your Auth Token."
        if not (public_url or "public_url" in current.preset):
            errors["public_url"] = "Twilio needs the public URL of this app to send texts to it."
    if errors:
        raise ProviderSettingsError(errors)

    values = {KEY_PROVIDER: provider, KEY_SID: account_sid, KEY_PUBLIC_URL: public_url, KEY_RATE: f"{float(rate):g}"}
    skip = {"provider": KEY_PROVIDER, "account_sid": KEY_SID, "public_url": KEY_PUBLIC_URL, "rate": KEY_RATE}
    for name, key in skip.items():
        if name in current.preset:
            values.pop(key)
    if auth_token and "auth_token" not in current.preset:
        values[KEY_TOKEN] = _fernet(environ).encrypt(auth_token.encode("utf-8")).decode("ascii")

    def write() -> None:
        from core import activity

        lock_for_write(session, "provider-settings")
        for key, value in values.items():
            session.merge(Setting(key=key, value=value))
        what = [PROVIDERS.get(provider, provider).split(" (")[0]] + (
            ["a new Auth Token"] if KEY_TOKEN in values else []
        )
        activity.record(session, by, activity.Kind.settings, "Saved the texting provider: " + ", ".join(what))

    run_write(session, write)
    session.info.pop(_CACHE, None)
    return load(session, environ)


def forget_token(session: Session, *, by: Optional[Actor] = None) -> None:
    """Delete the stored (encrypted) Auth Token (the owner's alone)."""
    from core import activity

    by = allow(session, by, "texting_provider")

    def write() -> None:
        lock_for_write(session, "provider-settings")
        row = session.get(Setting, KEY_TOKEN)
        if row is not None:
            session.delete(row)
            activity.record(session, by, activity.Kind.settings, "Forgot the saved Twilio Auth Token")

    run_write(session, write)
    session.info.pop(_CACHE, None)


# --- the provider object -------------------------------------------------------------------


def _twilio(config: ProviderConfig) -> Provider:
    from core.messaging.providers.twilio import TwilioProvider

    return TwilioProvider(config.account_sid, config.auth_token, api_url=config.api_url)


def _simulated(config: ProviderConfig) -> Provider:
    from core.messaging.providers.simulated import SimulatedProvider

    return SimulatedProvider()


FACTORIES: dict[str, Callable[[ProviderConfig], Provider]] = {SIMULATED: _simulated, TWILIO: _twilio}


def make(config: ProviderConfig) -> Provider:
    return FACTORIES[config.provider if config.live else SIMULATED](config)


TEST_BODY = "Opt-In Desk test: your shop's number is connected and can send texts. No reply needed."


def send_test(
    session: Session, *, phone: str, config: Optional[ProviderConfig] = None, by: Optional[Actor] = None
) -> SendResult:
    """ "Send a test text" to the owner's own phone, from the shop's main number (the owner's alone). Not a
    customer text: it is not logged with the customers' messages, and it never goes to a phone that opted out."""
    by = allow(session, by, "texting_provider")
    from core import phones
    from core.messaging import texting
    from core.models import Customer, SmsStatus

    config = config or load(session)
    defaults = texting.get_defaults(session)
    try:
        e164 = phones.normalize(phone, defaults.default_region)
    except phones.InvalidPhone as exc:
        raise TestTextError(str(exc)) from None
    customer = session.exec(select(Customer).where(Customer.phone == e164)).first()
    if customer is not None and customer.sms_status is SmsStatus.opted_out:
        raise TestTextError("That phone opted out: no text goes to it, not even a test. Use your own phone.")
    if config.live and not defaults.main_number:
        raise TestTextError("Set the shop's main number in Configure › Texting Defaults first: texts go out from it.")
    if config.live and not config.ready:
        raise TestTextError("Save the Account SID, Auth Token and public URL first.")
    result = make(config).send(to=e164, from_=defaults.main_number or "", body=TEST_BODY)
    if result.outcome is not Outcome.accepted:
        raise TestTextError(f"Not sent: {result.detail or 'no answer from the provider'}.")
    from core import activity

    def trail() -> None:
        activity.record(
            session,
            by,
            activity.Kind.settings,
            f"Sent a test text to {phones.redact(e164)}" + ("" if config.live else " (simulated)"),
        )

    run_write(session, trail)
    return result
