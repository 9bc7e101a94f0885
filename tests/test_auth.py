"""Owner password (Argon2id, never plain text; old scrypt hashes upgraded), the per-client sign-in
throttle counted before each check (also under 40 parallel guesses) and the first-start choice."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import threading

import pytest
from sqlmodel import Session, select

from core import auth
from core.models import Setting, SignInThrottle
from tests.conftest import BACKENDS

T0 = dt.datetime(2026, 11, 30, 19, 0, 0)
OWNER = auth.client_key("198.51.100.7")
STRANGER = auth.client_key("203.0.113.9")


def _stored(session) -> str:
    return session.get(Setting, auth.PASSWORD_KEY).value


def test_a_new_shop_has_no_password(session):
    assert not auth.has_password(session)
    assert not auth.verify(session, "anything at all")


def test_the_password_is_stored_salted_and_hashed_never_in_plain_text(session):
    auth.set_password(session, "correct horse battery")
    stored = _stored(session)
    assert "correct horse battery" not in stored
    assert stored.startswith("$argon2id$")
    _, _, version, params, salt, digest = stored.split("$")
    assert version == "v=19" and params.startswith("m=") and salt and digest
    values = " ".join(s.value for s in session.exec(select(Setting)).all())
    assert "correct horse battery" not in values


def test_two_hashes_of_one_password_differ_because_of_the_salt():
    assert auth.hash_password("same password") != auth.hash_password("same password")


def test_verify_accepts_the_password_and_refuses_others(session):
    auth.set_password(session, "s3cret-shop-pass")
    assert auth.has_password(session)
    assert auth.verify(session, "s3cret-shop-pass")
    assert not auth.verify(session, "s3cret-shop-pas")
    assert not auth.verify(session, "S3CRET-SHOP-PASS")
    assert not auth.verify(session, "")
    assert not auth.verify(session, None)


def test_a_password_with_accents_and_emoji_works(session):
    auth.set_password(session, "crème brûlée 🌿")
    assert auth.verify(session, "crème brûlée 🌿")


@pytest.mark.parametrize("weak", ["", "   ", "short", "1234567"])
def test_a_password_under_8_characters_is_refused_with_a_reason(session, weak):
    with pytest.raises(auth.WeakPassword) as exc:
        auth.set_password(session, weak)
    assert "8 characters" in str(exc.value) or "empty" in str(exc.value)
    assert not auth.has_password(session)


def test_an_existing_password_is_not_overwritten_unless_asked(session):
    auth.set_password(session, "first password")
    with pytest.raises(auth.PasswordExists):
        auth.set_password(session, "second password")
    assert auth.verify(session, "first password")
    auth.set_password(session, "second password", replace=True)
    assert auth.verify(session, "second password")
    assert not auth.verify(session, "first password")


def test_a_preset_password_is_installed_hashed_only_when_none_is_stored(session):
    assert auth.preset_from(session, "preset-from-env")
    assert "preset-from-env" not in _stored(session)
    assert auth.verify(session, "preset-from-env")
    assert not auth.preset_from(session, "another-preset")
    assert auth.verify(session, "preset-from-env")


def test_an_empty_preset_installs_nothing(session):
    assert not auth.preset_from(session, None)
    assert not auth.preset_from(session, "  ")
    assert not auth.has_password(session)


def test_a_corrupt_stored_hash_never_verifies(session):
    auth.set_password(session, "good password")
    row = session.get(Setting, auth.PASSWORD_KEY)
    row.value = "not-a-hash"
    session.add(row)
    session.commit()
    assert not auth.verify(session, "good password")


def _scrypt_hash(password: str, salt: bytes = b"0123456789abcdef") -> str:
    """A hash as versions before Argon2id stored it: "scrypt$n$r$p$salt_b64$hash_b64"."""
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32, maxmem=2**28)
    return f"scrypt${2**14}$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _store(session, value: str) -> None:
    session.add(Setting(key=auth.PASSWORD_KEY, value=value))
    session.commit()


@pytest.fixture
def fast_checks(monkeypatch):
    """Counts password checks and skips the slow hashing: only "right password" is right."""
    checks: list[str] = []
    guard = threading.Lock()

    def check(password, stored):
        with guard:
            checks.append(password)
        return password == "right password"

    monkeypatch.setattr(auth, "check_hash", check)
    return checks


def test_new_hashes_are_argon2id_and_verify():
    stored = auth.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert auth.check_hash("correct horse battery", stored)
    assert not auth.check_hash("correct horse batter", stored)
    assert not auth.needs_upgrade(stored)


def test_an_old_scrypt_hash_still_verifies(session):
    _store(session, _scrypt_hash("shop password from 2025"))
    assert auth.verify(session, "shop password from 2025")
    assert not auth.verify(session, "shop password from 2024")
    assert auth.needs_upgrade(_stored(session))


def test_signing_in_with_an_old_scrypt_hash_upgrades_it_to_argon2id(session):
    old = _scrypt_hash("shop password from 2025")
    _store(session, old)
    assert auth.sign_in(session, "wrong password", client=OWNER, now=T0) is False
    assert _stored(session) == old  # a wrong password changes nothing
    assert auth.sign_in(session, "shop password from 2025", client=OWNER, now=T0) is True
    upgraded = _stored(session)
    assert upgraded.startswith("$argon2id$") and "shop password from 2025" not in upgraded
    assert auth.sign_in(session, "shop password from 2025", client=OWNER, now=T0) is True
    assert _stored(session) == upgraded  # already current: not hashed again


def test_an_argon2id_hash_with_weaker_parameters_is_rehashed_at_sign_in(session):
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("right password")
    _store(session, weak)
    assert auth.needs_upgrade(weak)
    assert auth.sign_in(session, "right password", client=OWNER, now=T0) is True
    stored = _stored(session)
    assert stored != weak and stored.startswith("$argon2id$") and not auth.needs_upgrade(stored)


def test_four_wrong_passwords_do_not_pause_sign_in(session, fast_checks):
    auth.set_password(session, "right password")
    for tries_left in (4, 3, 2, 1):
        assert auth.sign_in(session, "wrong", client=OWNER, now=T0) is False
        assert auth.attempts_left(session, client=OWNER) == tries_left
    assert auth.check_lockout(session, client=OWNER, now=T0) == 0


def test_the_fifth_wrong_password_pauses_sign_in_for_30_seconds(session, fast_checks):
    auth.set_password(session, "right password")
    for _ in range(4):
        auth.sign_in(session, "wrong", client=OWNER, now=T0)
    with pytest.raises(auth.Locked) as exc:
        auth.sign_in(session, "wrong", client=OWNER, now=T0)
    assert exc.value.after_failure and exc.value.seconds == 30
    assert str(exc.value).startswith("Wrong password. Sign-in paused for 30 seconds")
    assert auth.check_lockout(session, client=OWNER, now=T0) == 30
    assert auth.check_lockout(session, client=OWNER, now=T0 + dt.timedelta(seconds=10)) == 20
    assert auth.check_lockout(session, client=OWNER, now=T0 + dt.timedelta(seconds=29, milliseconds=500)) == 1
    assert auth.check_lockout(session, client=OWNER, now=T0 + dt.timedelta(seconds=30)) == 0
    assert len(fast_checks) == 5


def test_each_further_failure_doubles_the_pause(session, fast_checks):
    auth.set_password(session, "right password")
    for _ in range(4):
        auth.sign_in(session, "wrong", client=OWNER, now=T0)
    t = T0
    for pause in (30, 60, 120):
        with pytest.raises(auth.Locked) as exc:
            auth.sign_in(session, "wrong", client=OWNER, now=t)
        assert exc.value.seconds == pause
        assert auth.check_lockout(session, client=OWNER, now=t) == pause
        t += dt.timedelta(seconds=pause + 1)
    assert "Sign-in paused for 2 minutes" in str(exc.value)
    assert [auth.pause_after(n) for n in range(4, 9)] == [0, 30, 60, 120, 240]
    assert auth.pause_after(40) == auth.pause_after(10**6) == auth.MAX_PAUSE


def test_sign_in_refuses_even_the_right_password_while_paused_without_checking_it(session, fast_checks):
    auth.set_password(session, "right password")
    for _ in range(4):
        assert auth.sign_in(session, "wrong", client=OWNER, now=T0) is False
    with pytest.raises(auth.Locked) as exc:
        auth.sign_in(session, "wrong", client=OWNER, now=T0)
    assert "Sign-in paused for 30 seconds" in str(exc.value)
    with pytest.raises(auth.Locked) as exc:
        auth.sign_in(session, "right password", client=OWNER, now=T0 + dt.timedelta(seconds=10))
    assert not exc.value.after_failure and exc.value.seconds == 20
    assert len(fast_checks) == 5  # the paused attempt was not checked
    assert auth.sign_in(session, "right password", client=OWNER, now=T0 + dt.timedelta(seconds=31)) is True
    assert auth.check_lockout(session, client=OWNER, now=T0 + dt.timedelta(seconds=31)) == 0


def test_a_successful_sign_in_clears_the_clients_failures(session, fast_checks):
    auth.set_password(session, "right password")
    for _ in range(4):
        auth.sign_in(session, "wrong", client=OWNER, now=T0)
    assert auth.sign_in(session, "right password", client=OWNER, now=T0) is True
    assert auth.attempts_left(session, client=OWNER) == auth.FREE_ATTEMPTS
    for _ in range(4):  # counting starts again
        assert auth.sign_in(session, "wrong", client=OWNER, now=T0) is False


def test_the_pause_is_kept_in_the_database_so_a_new_session_sees_it(engine, fast_checks):
    with Session(engine) as s1:
        auth.set_password(s1, "right password")
        for _ in range(4):
            auth.sign_in(s1, "wrong", client=OWNER, now=T0)
        with pytest.raises(auth.Locked):
            auth.sign_in(s1, "wrong", client=OWNER, now=T0)
    with Session(engine) as s2:
        assert auth.check_lockout(s2, client=OWNER, now=T0 + dt.timedelta(seconds=5)) == 25


def test_a_strangers_wrong_passwords_never_pause_the_owners_client(session, fast_checks):
    auth.set_password(session, "right password")
    for _ in range(4):
        auth.sign_in(session, "guess", client=STRANGER, now=T0)
    with pytest.raises(auth.Locked):
        auth.sign_in(session, "guess", client=STRANGER, now=T0)
    assert auth.check_lockout(session, client=STRANGER, now=T0) == 30
    assert auth.check_lockout(session, client=OWNER, now=T0) == 0
    assert auth.paused(session, client=OWNER, now=T0) is None
    assert auth.attempts_left(session, client=OWNER) == auth.FREE_ATTEMPTS
    assert auth.sign_in(session, "right password", client=OWNER, now=T0) is True
    with pytest.raises(auth.Locked):  # the owner's sign-in does not free the stranger
        auth.sign_in(session, "right password", client=STRANGER, now=T0 + dt.timedelta(seconds=5))


def test_the_throttle_stores_a_keyed_hash_of_the_client_never_its_address(session, fast_checks):
    auth.set_password(session, "right password")
    auth.sign_in(session, "guess", client=STRANGER, now=T0)
    keys = [r.client_key for r in session.exec(select(SignInThrottle)).all()]
    assert auth.SHOP_ROW in keys
    (client_row,) = [k for k in keys if k != auth.SHOP_ROW]
    assert len(client_row) == 64 and "203.0.113" not in client_row
    assert client_row != hashlib.sha256(STRANGER.encode()).hexdigest()  # salted with the shop's secret
    everything = " ".join(s.value for s in session.exec(select(Setting)).all())
    assert "203.0.113" not in everything and "guess" not in everything


def test_the_client_key_is_the_address_and_localhost_shares_one_key():
    assert auth.client_key(None) == auth.client_key("") == auth.LOCAL_CLIENT
    assert auth.client_key("203.0.113.9") == "ip:203.0.113.9"
    assert auth.client_key(" 203.0.113.9 ") == auth.client_key("::ffff:203.0.113.9") == "ip:203.0.113.9"
    # one IPv6 household or server holds a whole /64: it counts as one client
    assert auth.client_key("2001:db8:1:2::1") == auth.client_key("2001:db8:1:2:ffff::9") == "ip:2001:db8:1:2::/64"
    assert auth.client_key("2001:db8:1:3::1") != auth.client_key("2001:db8:1:2::1")


@pytest.mark.parametrize("file_engine", BACKENDS, indirect=True)
def test_forty_parallel_wrong_guesses_check_at_most_five_passwords_and_the_rest_are_paused(file_engine, monkeypatch):
    with Session(file_engine) as s:
        auth.set_password(s, "right password")
    real_check = auth.check_hash
    checks: list[str] = []
    guard = threading.Lock()

    def counting_check(password, stored):
        with guard:
            checks.append(password)
        return real_check(password, stored)  # the real Argon2id check: slow enough to race

    monkeypatch.setattr(auth, "check_hash", counting_check)
    n = 40
    barrier = threading.Barrier(n)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def guess(i: int) -> None:
        try:
            with Session(file_engine) as s:
                barrier.wait(timeout=60)
                try:
                    ok = auth.sign_in(s, f"guess number {i}", client=STRANGER, now=T0)
                    outcome = "signed in" if ok else "wrong"
                except auth.Locked as exc:
                    outcome = "wrong, now paused" if exc.after_failure else "refused: paused"
                with guard:
                    outcomes.append(outcome)
        except BaseException as exc:  # noqa: BLE001 - any escape fails the test
            errors.append(exc)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert len(checks) <= auth.FREE_ATTEMPTS
    assert sorted(outcomes) == sorted(
        ["wrong"] * (auth.FREE_ATTEMPTS - 1) + ["wrong, now paused"] + ["refused: paused"] * (n - auth.FREE_ATTEMPTS)
    )
    with Session(file_engine) as s:
        assert auth.check_lockout(s, client=STRANGER, now=T0) == auth.FIRST_PAUSE  # refusals not counted
        # the owner's browser is not paused by the stranger's guesses
        assert auth.sign_in(s, "right password", client=OWNER, now=T0) is True


def test_many_wrong_passwords_from_many_addresses_pause_new_clients_but_not_the_owners_usual_one(
    session, fast_checks, monkeypatch
):
    monkeypatch.setattr(auth, "GLOBAL_FREE_ATTEMPTS", 12)
    auth.set_password(session, "right password")
    assert auth.sign_in(session, "right password", client=OWNER, now=T0 - dt.timedelta(days=2))
    for i in range(12):  # 3 wrong guesses from each of 4 addresses: none of them paused on its own
        assert auth.sign_in(session, "guess", client=auth.client_key(f"203.0.113.{i // 3}"), now=T0) is False
    newcomer = auth.client_key("192.0.2.50")
    with pytest.raises(auth.Locked) as exc:
        auth.sign_in(session, "right password", client=newcomer, now=T0 + dt.timedelta(seconds=1))
    assert exc.value.shop_wide and "many wrong passwords for this shop" in str(exc.value)
    checked = len(fast_checks)
    # the owner's connection, which signed in lately, still gets in
    assert auth.sign_in(session, "right password", client=OWNER, now=T0 + dt.timedelta(seconds=1)) is True
    assert len(fast_checks) == checked + 1
    # once the pause is over a newcomer may try again; a quiet hour clears the shop-wide count
    later = T0 + dt.timedelta(hours=2)
    assert auth.paused(session, client=newcomer, now=later) is None
    assert auth.sign_in(session, "wrong", client=newcomer, now=later) is False
    assert auth.sign_in(session, "wrong", client=auth.client_key("192.0.2.51"), now=later) is False


def test_a_password_over_the_length_limit_is_never_hashed(session, fast_checks):
    auth.set_password(session, "right password")
    assert auth.sign_in(session, "x" * (auth.MAX_LENGTH + 1), client=OWNER, now=T0) is False
    assert fast_checks == []
    assert auth.attempts_left(session, client=OWNER) == auth.FREE_ATTEMPTS - 1


def test_the_first_start_choice_is_remembered(session):
    assert not auth.first_start_done(session)
    auth.mark_first_start(session, "empty")
    assert auth.first_start_done(session)
    with pytest.raises(auth.AuthError):
        auth.mark_first_start(session, "sideways")
