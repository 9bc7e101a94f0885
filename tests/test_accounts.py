"""Staff accounts (issue 17): people, passwords, sign-in per account, sessions, the console reset, who did what."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlmodel import select

from core import activity, auth, cli
from core.consent import customers
from core.consent import evidence
from core.messaging import inbox
from core.models import Activity, Person, Setting, SmsStatus, StaffSession
from core.staff import accounts
from core.staff.roles import Role
from tests.conftest import NOW
from tests.factories import make_customer, phone

PASSWORD = "counter-password-1"


def _add(session, name="Maria Lopez", login="maria", role="staff", password=PASSWORD):
    return accounts.add_person(session, name=name, sign_in_name=login, role=role, password=password)


def _count(session, model):
    return len(session.exec(select(model)).all())


# --- accounts: bad input -----------------------------------------------------------------------------


def test_the_built_in_owner_exists_from_the_start_and_is_an_owner(session):
    owner = accounts.owner(session)
    assert owner.builtin and owner.role == "owner" and owner.sign_in_name == "owner"


def test_a_duplicate_sign_in_name_is_refused_beside_its_field_and_nothing_is_added(session):
    _add(session)
    people_before = _count(session, Person)
    with pytest.raises(accounts.AccountError) as exc:
        _add(session, name="Maria Two", login="  MARIA ")
    assert exc.value.field == "sign_in_name" and "taken" in str(exc.value) and "Maria Lopez" in str(exc.value)
    assert _count(session, Person) == people_before


@pytest.mark.parametrize("name", ["", "   ", "x" * 5000])
def test_an_empty_or_5000_character_name_is_refused_with_a_clear_message(session, name):
    with pytest.raises(accounts.AccountError) as exc:
        _add(session, name=name)
    assert exc.value.field == "name"
    assert ("Type the person's name" in str(exc.value)) if not name.strip() else ("5,000" in str(exc.value))
    assert _count(session, Person) == 1  # the owner alone


def test_every_wrong_field_is_named_at_once(session):
    with pytest.raises(accounts.AccountError) as exc:
        accounts.add_person(session, name="", sign_in_name="has space", role="boss", password="short")
    assert set(exc.value.errors) == {"name", "sign_in_name", "role", "password"}


def test_a_password_is_stored_as_an_argon2id_hash_never_as_typed(session):
    p = _add(session)
    assert p.password_hash.startswith("$argon2id$") and PASSWORD not in p.password_hash


def test_disabling_or_demoting_the_last_owner_is_refused_and_nothing_changes(session):
    owner = accounts.owner(session)
    with pytest.raises(accounts.LastOwner, match="only owner"):
        accounts.set_disabled(session, person_id=owner.id, disabled=True)
    second = _add(session, name="Co Owner", login="co", role="owner")
    with pytest.raises(accounts.LastOwner):  # the original owner stays an owner
        accounts.update_person(session, person_id=owner.id, role="manager")
    accounts.set_disabled(session, person_id=owner.id, disabled=True)  # another owner can sign in now
    with pytest.raises(accounts.LastOwner):
        accounts.set_disabled(session, person_id=second.id, disabled=True)
    with pytest.raises(accounts.LastOwner):
        accounts.update_person(session, person_id=second.id, role="staff")
    assert accounts.get(session, second.id).role == "owner" and accounts.get(session, second.id).disabled_at is None


def test_nobody_disables_their_own_account_while_using_it(session):
    co = _add(session, name="Co Owner", login="co", role="owner")
    with pytest.raises(accounts.AccountError, match="your own"):
        accounts.set_disabled(session, person_id=co.id, disabled=True, by=accounts.actor_for(co))


# --- signing in ----------------------------------------------------------------------------------------


def test_each_person_signs_in_with_their_own_name_and_password(session):
    p = _add(session)
    done = accounts.sign_in(session, "Maria", PASSWORD, client="ip:10.0.0.1", now=NOW)
    assert done.person.id == p.id and done.token
    assert accounts.check_session(session, person_id=p.id, token=done.token, now=NOW).name == "Maria Lopez"
    # the token is kept by the browser session only: the database has its hash
    assert done.token not in [r.token_hash for r in session.exec(select(StaffSession))]
    assert accounts.sign_in(session, "maria", "wrong-password", client="ip:10.0.0.1", now=NOW) is None


def test_the_owner_signs_in_with_the_password_alone_or_with_the_name_owner(session):
    auth.set_password(session, "owner-password-1")
    assert accounts.sign_in(session, "", "owner-password-1", client="local", now=NOW).person.builtin
    assert accounts.sign_in(session, "owner", "owner-password-1", client="local", now=NOW).person.builtin


def test_a_disabled_person_cannot_sign_in_and_reads_the_same_answer_as_a_wrong_password(session):
    p = _add(session)
    accounts.set_disabled(session, person_id=p.id, disabled=True)
    assert accounts.sign_in(session, "maria", PASSWORD, client="ip:10.0.0.2", now=NOW) is None


def test_sign_in_is_throttled_per_account_across_clients(session):
    _add(session)
    for n in range(auth.FREE_ATTEMPTS - 1):  # each guess from a different address
        assert accounts.sign_in(session, "maria", "wrong-guess", client=f"ip:10.0.1.{n}", now=NOW) is None
    with pytest.raises(auth.Locked) as exc:
        accounts.sign_in(session, "maria", "wrong-guess", client="ip:10.0.2.1", now=NOW)
    assert exc.value.account and "this sign-in name" in str(exc.value)
    with pytest.raises(auth.Locked):  # even the right password waits for the pause
        accounts.sign_in(session, "maria", PASSWORD, client="ip:10.0.3.1", now=NOW)
    later = NOW + dt.timedelta(seconds=auth.FIRST_PAUSE + 1)
    assert accounts.sign_in(session, "maria", PASSWORD, client="ip:10.0.3.1", now=later) is not None


def test_an_unknown_name_is_throttled_like_a_real_one(session):
    for n in range(auth.FREE_ATTEMPTS - 1):
        assert accounts.sign_in(session, "nobody", "guess", client=f"ip:10.9.0.{n}", now=NOW) is None
    with pytest.raises(auth.Locked) as exc:
        accounts.sign_in(session, "nobody", "guess", client="ip:10.9.1.1", now=NOW)
    assert exc.value.account


def test_sign_in_is_still_throttled_per_client(session):
    _add(session)
    _add(session, name="Sam", login="sam")
    for n in range(auth.FREE_ATTEMPTS - 1):
        accounts.sign_in(session, "maria" if n % 2 else "sam", "wrong", client="ip:10.7.0.1", now=NOW)
    with pytest.raises(auth.Locked) as exc:
        accounts.sign_in(session, "sam", "wrong", client="ip:10.7.0.1", now=NOW)
    assert not exc.value.account


# --- sessions -------------------------------------------------------------------------------------------


def test_a_session_ends_after_the_inactivity_setting_default_30_minutes(session):
    _add(session)
    done = accounts.sign_in(session, "maria", PASSWORD, client="local", now=NOW)
    pid = done.person.id
    accounts.check_session(session, person_id=pid, token=done.token, now=NOW + dt.timedelta(minutes=29))
    accounts.check_session(session, person_id=pid, token=done.token, now=NOW + dt.timedelta(minutes=58))  # active
    with pytest.raises(accounts.SessionEnded, match="30 minutes without activity"):
        accounts.check_session(session, person_id=pid, token=done.token, now=NOW + dt.timedelta(minutes=89))


def test_the_owner_sets_the_inactivity_minutes_within_bounds(session):
    assert accounts.set_timeout(session, 10) == 10
    with pytest.raises(accounts.AccountError, match="between 5 and 720"):
        accounts.set_timeout(session, 1)
    with pytest.raises(accounts.AccountError):
        accounts.set_timeout(session, "ten")
    assert accounts.timeout_minutes(session) == 10


def test_sign_out_ends_the_session(session):
    _add(session)
    done = accounts.sign_in(session, "maria", PASSWORD, client="local", now=NOW)
    accounts.sign_out(session, token=done.token, now=NOW)
    with pytest.raises(accounts.SessionEnded, match="signed out"):
        accounts.check_session(session, person_id=done.person.id, token=done.token, now=NOW)


def test_the_owner_signs_a_person_out_everywhere(session):
    _add(session)
    one = accounts.sign_in(session, "maria", PASSWORD, client="ip:10.1.1.1", now=NOW)
    two = accounts.sign_in(session, "maria", PASSWORD, client="ip:10.1.1.2", now=NOW)
    assert accounts.sign_out_everywhere(session, person_id=one.person.id, now=NOW) == 2
    for done in (one, two):
        with pytest.raises(accounts.SessionEnded, match="The owner signed you out"):
            accounts.check_session(session, person_id=done.person.id, token=done.token, now=NOW)


def test_disabling_signs_out_and_keeps_the_history_under_their_name(session):
    p = _add(session)
    done = accounts.sign_in(session, "maria", PASSWORD, client="local", now=NOW)
    c = make_customer(session)
    customers.record_opt_out(
        session, customer_id=c.id, reason="asked at the counter", by=accounts.actor_for(p), now=NOW
    )
    accounts.set_disabled(session, person_id=p.id, disabled=True)
    with pytest.raises(accounts.SessionEnded, match="disabled"):
        accounts.check_session(session, person_id=p.id, token=done.token, now=NOW)
    trail, _ = activity.page(session, activity.filters(person_id=p.id))
    assert [a.person_name for a in trail] == ["Maria Lopez"]
    assert customers.ledger(session, c.id)[0].evidence["by"] == "Maria Lopez"


def test_a_role_changed_while_signed_in_is_the_role_of_the_next_click(session):
    p = _add(session, role="manager")
    done = accounts.sign_in(session, "maria", PASSWORD, client="local", now=NOW)
    accounts.update_person(session, person_id=p.id, role="staff")
    who = accounts.check_session(session, person_id=p.id, token=done.token, now=NOW)
    assert who.role is Role.staff  # still signed in, with the new role


def test_resetting_someones_password_signs_them_out(session):
    p = _add(session)
    done = accounts.sign_in(session, "maria", PASSWORD, client="local", now=NOW)
    accounts.set_password(session, person_id=p.id, password="a-new-password-2")
    with pytest.raises(accounts.SessionEnded, match="password was changed"):
        accounts.check_session(session, person_id=p.id, token=done.token, now=NOW)
    assert accounts.sign_in(session, "maria", "a-new-password-2", client="local", now=NOW) is not None


# --- the console reset -------------------------------------------------------------------------------------


def test_optin_desk_reset_password_resets_the_owner_password_from_the_console(tmp_path, monkeypatch, capsys):
    from sqlmodel import Session

    from core import bootstrap, db

    url = f"sqlite:///{tmp_path / 'shop.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    engine = db.make_engine(url)
    bootstrap.init_db(engine)
    with Session(engine) as s:
        auth.set_password(s, "forgotten-password")
    answers = iter(["brand-new-password", "brand-new-password"])
    assert cli.reset_password(cli.parser().parse_args(["reset-password"]), ask=lambda _: next(answers)) == 0
    assert "reset" in capsys.readouterr().out
    with Session(engine) as s:
        assert auth.verify(s, "brand-new-password") and not auth.verify(s, "forgotten-password")
        stored = s.get(Setting, auth.PASSWORD_KEY).value
        assert "brand-new-password" not in stored
        assert s.exec(select(Activity)).first().summary.startswith("Reset Owner's password from the console")
    answers = iter(["one-password-1", "another-pass-2"])
    assert cli.reset_password(cli.parser().parse_args(["reset-password"]), ask=lambda _: next(answers)) == 1
    assert "different" in capsys.readouterr().err
    answers = iter(["short", "short"])
    assert cli.reset_password(cli.parser().parse_args(["reset-password"]), ask=lambda _: next(answers)) == 1
    assert "at least 8" in capsys.readouterr().err
    engine.dispose()


def test_the_console_script_is_declared_and_dispatches(capsys):
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["optin-desk"] == "core.cli:main"
    assert cli.main([]) == 2
    assert "reset-password" in capsys.readouterr().out


# --- who did what ------------------------------------------------------------------------------------------


def test_the_proof_of_consent_export_names_the_person_behind_each_manual_change(session):
    p = _add(session)
    staff = accounts.actor_for(p)
    c = make_customer(session, phone_number=phone())
    customers.request_opt_in(session, customer_id=c.id, now=NOW, by=staff)
    inbox.receive(session, phone=c.phone, body="STOP", now=NOW + dt.timedelta(minutes=1))  # the customer's own
    rows = list(csv.DictReader(io.StringIO(evidence.proof_of_consent_csv(session, c.id).decode("utf-8-sig"))))
    assert [(r["new_status"], r["by"]) for r in rows] == [("pending", "Maria Lopez"), ("opted_out", "")]
    assert "by Maria Lopez" in rows[0]["evidence"]


def test_a_persons_name_starting_with_a_formula_is_exported_as_text(session):
    p = _add(session, name='=HYPERLINK("http://x")', login="eve")
    c = make_customer(session)
    customers.record_opt_out(session, customer_id=c.id, reason="@sum(1)", by=accounts.actor_for(p), now=NOW)
    proof = evidence.proof_of_consent_csv(session, c.id).decode("utf-8-sig")
    trail = b"".join(activity.export(session)).decode("utf-8-sig")
    for text in (proof, trail):
        for row in csv.reader(io.StringIO(text)):
            assert not any(cell[:1] in ("=", "+", "-", "@") for cell in row), row


def test_the_activity_trail_filters_by_person_kind_and_date_and_pages_in_sql(session):
    maria, sam = accounts.actor_for(_add(session)), accounts.actor_for(_add(session, name="Sam", login="sam"))
    for n in range(7):
        c = make_customer(session)
        customers.record_opt_out(
            session, customer_id=c.id, reason="asked", by=maria if n % 2 else sam, now=NOW + dt.timedelta(days=n)
        )
    customers.add_customer(session, phone=phone(), first_name="New", by=sam, now=NOW)
    f = activity.filters(person_id=maria.id)
    assert activity.count(session, f) == 3
    assert activity.count(session, activity.filters(kinds=["customer"])) == 1
    assert (
        activity.count(session, activity.filters(start=NOW + dt.timedelta(days=5), end=NOW + dt.timedelta(days=7))) == 2
    )
    first, after = activity.page(session, activity.filters(kinds=["consent"]), limit=3)
    second, after2 = activity.page(session, activity.filters(kinds=["consent"]), after=after, limit=3)
    third, end = activity.page(session, activity.filters(kinds=["consent"]), after=after2, limit=3)
    ats = [a.at for a in first + second + third]
    assert len(ats) == 7 and ats == sorted(ats, reverse=True) and end is None


def test_the_opt_out_event_and_the_trail_name_the_staff_member(session):
    staff = accounts.actor_for(_add(session))
    c = make_customer(session)
    event = customers.record_opt_out(session, customer_id=c.id, reason="asked at the counter", by=staff, now=NOW)
    assert event.evidence == {"reason": "asked at the counter", "by": "Maria Lopez", "by_id": staff.id}
    [row] = session.exec(select(Activity).where(Activity.customer_id == c.id)).all()
    assert row.person_name == "Maria Lopez" and row.person_role == "staff" and row.kind == "consent"
    assert session.get(type(c), c.id).sms_status is SmsStatus.opted_out
