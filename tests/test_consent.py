"""Every cell of rulebook §3, as a table (pure)."""

import pytest

from core.consent.rules import decide
from core.consent.keywords import Keyword
from core.models import MessageKind as K
from core.models import SmsStatus as S

UNKNOWN = None
REQ, CONF, OUTC, RESUB, HELP = (
    K.opt_in_request,
    K.opt_in_confirmation,
    K.opt_out_confirmation,
    K.resubscribe_confirmation,
    K.help_reply,
)

# keyword, number, status -> (new status, sends, join request)
CELLS = [
    # opt-out word
    (Keyword.OPT_OUT, "main", UNKNOWN, S.opted_out, (OUTC,), False),
    (Keyword.OPT_OUT, "main", S.not_opted_in, S.opted_out, (OUTC,), False),
    (Keyword.OPT_OUT, "main", S.pending, S.opted_out, (OUTC,), False),
    (Keyword.OPT_OUT, "main", S.opted_in, S.opted_out, (OUTC,), False),
    (Keyword.OPT_OUT, "main", S.opted_out, None, (), False),
    (Keyword.OPT_OUT, "join", S.opted_in, S.opted_out, (OUTC,), False),
    (Keyword.OPT_OUT, "join", S.opted_out, None, (), False),
    # Y / YES
    (Keyword.CONFIRM, "main", UNKNOWN, S.pending, (REQ,), True),
    (Keyword.CONFIRM, "main", S.not_opted_in, S.pending, (REQ,), True),
    (Keyword.CONFIRM, "main", S.pending, S.opted_in, (CONF,), False),
    (Keyword.CONFIRM, "main", S.opted_in, None, (), False),
    (Keyword.CONFIRM, "main", S.opted_out, None, (), False),
    (Keyword.CONFIRM, "join", S.pending, S.opted_in, (CONF,), False),
    (Keyword.CONFIRM, "join", S.opted_out, None, (), False),
    # START / UNSTOP
    (Keyword.RESUBSCRIBE, "main", UNKNOWN, S.pending, (REQ,), True),
    (Keyword.RESUBSCRIBE, "main", S.not_opted_in, S.pending, (REQ,), True),
    (Keyword.RESUBSCRIBE, "main", S.pending, S.opted_in, (CONF,), False),
    (Keyword.RESUBSCRIBE, "main", S.opted_in, None, (), False),
    (Keyword.RESUBSCRIBE, "main", S.opted_out, S.opted_in, (RESUB,), False),
    (Keyword.RESUBSCRIBE, "join", S.opted_out, S.opted_in, (RESUB,), False),
    # HELP / INFO
    (Keyword.HELP, "main", UNKNOWN, None, (HELP,), False),
    (Keyword.HELP, "main", S.not_opted_in, None, (HELP,), False),
    (Keyword.HELP, "main", S.pending, None, (HELP,), False),
    (Keyword.HELP, "main", S.opted_in, None, (HELP,), False),
    (Keyword.HELP, "main", S.opted_out, None, (HELP,), False),
    # anything else to the main number: logged only
    (Keyword.NONE, "main", UNKNOWN, None, (), False),
    (Keyword.NONE, "main", S.not_opted_in, None, (), False),
    (Keyword.NONE, "main", S.pending, None, (), False),
    (Keyword.NONE, "main", S.opted_in, None, (), False),
    (Keyword.NONE, "main", S.opted_out, None, (), False),
    # anything else to the Text To Join number
    (Keyword.NONE, "join", UNKNOWN, S.pending, (REQ,), True),
    (Keyword.NONE, "join", S.not_opted_in, S.pending, (REQ,), True),
    (Keyword.NONE, "join", S.pending, S.pending, (REQ,), True),
    (Keyword.NONE, "join", S.opted_in, None, (), False),
    (Keyword.NONE, "join", S.opted_out, None, (), False),
]


@pytest.mark.parametrize("keyword,number,status,new,sends,join", CELLS)
def test_each_cell_of_the_keyword_table_does_what_the_rulebook_says(keyword, number, status, new, sends, join):
    t = decide(status, keyword, number)
    assert t.new_status == new
    assert t.sends == sends
    assert t.join_request == join
    assert not t.review


@pytest.mark.parametrize("status", [UNKNOWN, S.not_opted_in, S.pending, S.opted_in, S.opted_out])
@pytest.mark.parametrize("number", ["main", "join"])
def test_a_possible_opt_out_goes_to_the_owner_and_changes_nothing_by_itself(status, number):
    t = decide(status, Keyword.POSSIBLE_OPT_OUT, number)
    assert t.review and t.new_status is None and t.sends == () and not t.join_request


def test_the_table_accepts_status_words_as_plain_strings():
    assert decide("pending", Keyword.CONFIRM).new_status is S.opted_in
