"""What a customer list's statement does to a status (rulebook §1, §7, §8): one function in core.consent.rules,
from which the importer's set-wise tables are built."""

from __future__ import annotations

import itertools

import pytest

from core.consent.rules import ListOutcome, list_statement
from core.importing import plan, values
from core.models import SmsStatus

NOT_IN, PENDING, IN, OUT = SmsStatus.not_opted_in, SmsStatus.pending, SmsStatus.opted_in, SmsStatus.opted_out
STATUSES = [None, NOT_IN, PENDING, IN, OUT]  # None: not a customer yet


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("attested", [True, False])
def test_opt_out_is_always_applied_and_wins_over_opt_in(status, attested):
    assert list_statement(OUT, status, attested=attested) == (ListOutcome.opted_out, None if status is OUT else OUT)
    assert list_statement(OUT, status, attested=attested, file_also_says_in=True) == (
        ListOutcome.kept_opted_out,
        None if status is OUT else OUT,
    )
    assert list_statement(IN, OUT, attested=attested) == (ListOutcome.kept_opted_out, None)


@pytest.mark.parametrize("status,new", [(None, IN), (NOT_IN, IN), (PENDING, IN), (IN, None)])
def test_opted_in_needs_the_owners_attestation(status, new):
    assert list_statement(IN, status, attested=True) == (ListOutcome.opted_in, new)
    assert list_statement(IN, status, attested=False) == (ListOutcome.not_attested, None)


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("says", [None, NOT_IN])
def test_a_blank_or_no_changes_nothing(status, says):
    assert list_statement(says, status, attested=True) == (ListOutcome.no_status, None)


@pytest.mark.parametrize("may_opt_in", [True, False])
def test_every_cell_of_the_importers_tables_is_what_the_rule_says(may_opt_in):
    buckets, targets = plan.decide_tables(may_opt_in)
    says = {
        values.V_NONE: (None, False),
        values.V_NO: (NOT_IN, False),
        values.V_IN: (IN, False),
        values.V_OUT: (OUT, False),
        values.V_OUT_OVER_IN: (OUT, True),
    }
    codes = {NOT_IN: plan.S_NOT, PENDING: plan.S_PENDING, IN: plan.S_IN, OUT: plan.S_OUT}
    assert buckets.shape == targets.shape == (len(says), len(codes))
    for (v, (said, also_in)), (status, code) in itertools.product(says.items(), codes.items()):
        outcome, new = list_statement(said, status, attested=may_opt_in, file_also_says_in=also_in)
        assert plan.BUCKET_FIELDS[buckets[v, code]] == outcome.value, (v, status)
        assert targets[v, code] == (plan.T_NONE if new is None else codes[new]), (v, status)


def test_the_report_has_a_count_for_every_outcome():
    from core.importing.report import ImportReport

    assert all(hasattr(ImportReport(), field) for field in plan.BUCKET_FIELDS)
    assert set(plan.BUCKET_FIELDS) == {o.value for o in ListOutcome}
