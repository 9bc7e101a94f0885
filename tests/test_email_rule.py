"""One email rule (core.text.valid_email) for Add a customer, the sign-up form and imports: the same address
gets the same answer on every path."""

from __future__ import annotations

import random

import pytest

from core.consent import customers
from core.importing.service import import_csv
from core.signups import forms, signup
from core.text import careful_valid_email, valid_email
from tests.conftest import NOW
from tests.import_helpers import write_csv

# (address, accepted). Internationalised addresses (RFC 6531) are accepted: customers have them, and the shop
# only stores the address.
ADDRESSES = [
    ("a@b.com", True),
    ("first.last+tag@mail.example.co.uk", True),
    ("José@exámple.com", True),
    ("a@b..com", False),  # two dots in a row in the domain
    ("a..b@c.com", False),  # two dots in a row before the @
    ("a.@b.com", False),  # a dot ending the local part
    (".a@b.com", False),  # a dot starting the local part
    ("a@.b.com", False),
    ("a@b.com.", False),
    ("a@b", False),  # no dot in the domain
    ("a@b.c", False),  # a one-letter top-level domain
    ("a@-b.com", False),
    ("a b@c.com", False),
    ("a@b@c.com", False),
    ("@b.com", False),
    ("a" * 65 + "@b.com", False),  # more than 64 characters before the @
    ("a@" + "b" * 250 + ".com", False),  # more than 254 characters
]


@pytest.mark.parametrize("address,ok", ADDRESSES)
def test_the_rule(address, ok):
    assert valid_email(address) is ok


def test_the_fast_check_of_ascii_addresses_is_the_careful_rule():
    rng = random.Random(4)
    alphabet = "ab1.-@_+\" x<,:;'\t\x7f"
    samples = [a for a, _ in ADDRESSES if a.isascii()] + [
        "a@" + "b" * 63 + ".com",
        "a@" + "b" * 64 + ".com",
        "a@b.c0m",
        "a@b.123",
        "x@a-b.cd",
        "a@b_c.com",
    ]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(20_000)]
    samples += [
        rng.choice(["a", "ab", "a.b"])
        + "@"
        + ".".join(rng.choice(["b", "c1", "-d", "e-", "xn--f", "12", ""]) for _ in range(rng.randint(1, 4)))
        for _ in range(5_000)
    ]
    assert sum(valid_email(a) for a in samples) > 200  # the samples reach both answers
    assert [a for a in samples if valid_email(a) != careful_valid_email(a)] == []


@pytest.mark.parametrize("address,ok", ADDRESSES)
def test_add_a_customer_gives_the_same_answer(address, ok):
    if ok:
        assert customers.validate_details(email=address)["email"] == address.lower()
    else:
        with pytest.raises(customers.InvalidDetails) as info:
            customers.validate_details(email=address)
        assert "email" in info.value.errors


@pytest.mark.parametrize("address,ok", ADDRESSES)
def test_the_sign_up_form_gives_the_same_answer(session, address, ok):
    main = forms.main_form(session)
    form = forms.update(session, form_id=main.id, fields={**main.fields, "email": "optional"})
    answers = {"first_name": "Ann", "last_name": "Lee", "phone": "(415) 555-0123", "email": address}
    if ok:
        assert signup.validate(form, answers, region="US", today=NOW.date())["email"] == address.lower()
    else:
        with pytest.raises(signup.InvalidSubmission) as info:
            signup.validate(form, answers, region="US", today=NOW.date())
        assert set(info.value.errors) == {"email"}


def test_an_import_gives_the_same_answer_keeping_the_row_without_a_bad_address(session, tmp_path):
    lines = ["phone,email"] + [f'415-555-{1000 + i},"{address}"' for i, (address, _) in enumerate(ADDRESSES)]
    report = import_csv(session, write_csv(tmp_path, "emails.csv", lines), attested=False, now=NOW)
    assert report.created == len(ADDRESSES)  # a bad address never costs the row
    dropped = {w.value for w in report.warnings if w.column == "email"}
    assert dropped == {address[:80] for address, ok in ADDRESSES if not ok}
