"""Owner password (scrypt, never plain text), sign-in lockout and the first-start choice."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from core import auth
from core.models import Setting

T0 = dt.datetime(2026, 11, 30, 19, 0, 0)


def _stored(session) -> str:
    return session.get(Setting, auth.PASSWORD_KEY).value


def test_a_new_shop_has_no_password(session):
    assert not auth.has_password(session)
    assert not auth.verify(session, "anything at all")


def test_the_password_is_stored_salted_and_hashed_never_in_plain_text(session):
    auth.set_password(session, "correct horse battery")
    stored = _stored(session)
    assert "correct horse battery" not in stored
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", str(2 ** 14), "8", "1")
    assert salt and digest
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


def test_four_wrong_passwords_do_not_pause_sign_in(session):
    for _ in range(4):
        assert auth.record_failure(session, T0) == 0
    assert auth.check_lockout(session, T0) == 0


def test_the_fifth_wrong_password_pauses_sign_in_for_30_seconds(session):
    for _ in range(4):
        auth.record_failure(session, T0)
    assert auth.record_failure(session, T0) == 30
    assert auth.check_lockout(session, T0) == 30
    assert auth.check_lockout(session, T0 + dt.timedelta(seconds=10)) == 20
    assert auth.check_lockout(session, T0 + dt.timedelta(seconds=29, milliseconds=500)) == 1
    assert auth.check_lockout(session, T0 + dt.timedelta(seconds=30)) == 0


def test_each_further_failure_doubles_the_pause(session):
    for _ in range(5):
        auth.record_failure(session, T0)
    t = T0 + dt.timedelta(seconds=31)
    assert auth.record_failure(session, t) == 60
    assert auth.check_lockout(session, t) == 60
    t += dt.timedelta(seconds=61)
    assert auth.record_failure(session, t) == 120
    assert [auth.pause_after(n) for n in range(4, 9)] == [0, 30, 60, 120, 240]
    assert auth.pause_after(40) == auth.MAX_PAUSE


def test_a_successful_sign_in_clears_the_failures(session):
    for _ in range(5):
        auth.record_failure(session, T0)
    auth.record_success(session)
    assert auth.check_lockout(session, T0) == 0
    assert auth.record_failure(session, T0) == 0  # counting starts again


def test_the_lockout_is_kept_in_the_database_so_a_new_session_sees_it(engine):
    from sqlmodel import Session

    with Session(engine) as s1:
        for _ in range(5):
            auth.record_failure(s1, T0)
    with Session(engine) as s2:
        assert auth.check_lockout(s2, T0 + dt.timedelta(seconds=5)) == 25


def test_sign_in_refuses_even_the_right_password_while_paused(session):
    auth.set_password(session, "right password")
    for _ in range(4):
        assert auth.sign_in(session, "wrong", T0) is False
    with pytest.raises(auth.Locked) as exc:
        auth.sign_in(session, "wrong", T0)
    assert "Sign-in paused for 30 seconds" in str(exc.value)
    with pytest.raises(auth.Locked):
        auth.sign_in(session, "right password", T0 + dt.timedelta(seconds=10))
    assert auth.sign_in(session, "right password", T0 + dt.timedelta(seconds=31)) is True
    assert auth.check_lockout(session, T0 + dt.timedelta(seconds=31)) == 0


def test_the_first_start_choice_is_remembered(session):
    assert not auth.first_start_done(session)
    auth.mark_first_start(session, "empty")
    assert auth.first_start_done(session)
    with pytest.raises(auth.AuthError):
        auth.mark_first_start(session, "sideways")
