"""core.consent.keywords: inbound keyword classification (rulebook §3)."""

from __future__ import annotations

import pytest

from core.consent.keywords import KEYWORDS, Keyword, classify, normalize_body

OPT_OUT_WORDS = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT", "OPT-OUT"]
TABLE = (
    [(word, Keyword.OPT_OUT) for word in OPT_OUT_WORDS]
    + [("Y", Keyword.CONFIRM), ("YES", Keyword.CONFIRM)]
    + [("START", Keyword.RESUBSCRIBE), ("UNSTOP", Keyword.RESUBSCRIBE)]
    + [("HELP", Keyword.HELP), ("INFO", Keyword.HELP)]
)


def _variants(word: str) -> list[str]:
    return [
        word,
        word.lower(),
        word.capitalize(),
        f"  {word.lower()}  ",
        f"{word}.",
        f"{word}!",
        f"{word}?",
        f"{word}!!",
        f"{word.lower()}?!.",
        f"{word} !",
        f"\t{word}\n",
        f"{word}\x00",
    ]


@pytest.mark.parametrize(
    "body, expected",
    [(variant, keyword) for word, keyword in TABLE for variant in _variants(word)],
)
def test_every_keyword_matches_in_any_case_with_trailing_punctuation(body, expected):
    assert classify(body) is expected


@pytest.mark.parametrize(
    "body, expected",
    [
        ("STOP!!", Keyword.OPT_OUT),
        ("stop.", Keyword.OPT_OUT),
        ("Stop", Keyword.OPT_OUT),
        ("opt   out", Keyword.OPT_OUT),
        ("Opt\tOut", Keyword.OPT_OUT),
        ("opt\nout", Keyword.OPT_OUT),
        ("opt-out", Keyword.OPT_OUT),
        ("OptOut", Keyword.OPT_OUT),
        ("Yes", Keyword.CONFIRM),
        ("y", Keyword.CONFIRM),
        ("YES!", Keyword.CONFIRM),
        ("yes...", Keyword.CONFIRM),
        ("Info", Keyword.HELP),
        ("help?", Keyword.HELP),
        ("Start", Keyword.RESUBSCRIBE),
        ("unstop", Keyword.RESUBSCRIBE),
        ("\u200bSTOP", Keyword.OPT_OUT),
        ("\ufeffyes", Keyword.CONFIRM),
    ],
)
def test_whole_message_keywords(body, expected):
    assert classify(body) is expected


@pytest.mark.parametrize(
    "body",
    [
        "please stop texting me",
        "Can I cancel these?",
        "STOP STOP",
        "stop please",
        "I want to opt out",
        "opt-out please",
        "please optout me",
        "QUIT sending me these",
        "how do I unsubscribe",
        "I revoke my consent",
        "make it end",
        "Stop, wrong number",
        "no more texts. STOP",
        "stopall now",
    ],
)
def test_a_revocation_word_among_other_words_is_a_possible_opt_out(body):
    assert classify(body) is Keyword.POSSIBLE_OPT_OUT


@pytest.mark.parametrize(
    "body",
    [
        "",
        "   ",
        None,
        "\x00",
        "hello",
        "Yes please",
        "yes I'd love to",
        "See you this weekend",
        "I stopped by yesterday",
        "Don't spend too much",
        "The ending was great",
        "candle cancellation policy?",
        "unstoppable",
        "friend",
        "nonstop deals",
        "s t o p",
        "Thanks!",
        "🙂",
    ],
)
def test_other_messages_and_partial_words_are_none(body):
    assert classify(body) is Keyword.NONE


@pytest.mark.parametrize(
    "body, normalized",
    [
        ("  stop  ", "STOP"),
        ("opt   out", "OPT OUT"),
        ("Stop!!!", "STOP"),
        ("stop?!.", "STOP"),
        ("stop . !", "STOP"),
        ("please\n\nstop   texting", "PLEASE STOP TEXTING"),
        ("st\x00op", "STOP"),
        ("a \x00 b", "A B"),
        ("wait... what?", "WAIT... WHAT"),
        ("", ""),
        (None, ""),
        ("!!!", ""),
    ],
)
def test_normalize_body_trims_collapses_strips_trailing_punctuation_and_uppercases(body, normalized):
    assert normalize_body(body) == normalized


@pytest.mark.parametrize(
    "body, expected",
    [
        ("a" * 10_000, Keyword.NONE),
        ("word " * 2_000, Keyword.NONE),
        ("word " * 2_000 + "stop", Keyword.POSSIBLE_OPT_OUT),
        ("\x00" * 10_000, Keyword.NONE),
        (" " * 10_000 + "STOP" + "!" * 5_000, Keyword.OPT_OUT),
    ],
)
def test_ten_thousand_character_bodies_are_handled(body, expected):
    assert classify(body) is expected


def test_keyword_values_are_the_stored_words():
    assert [k.value for k in Keyword] == ["opt_out", "confirm", "resubscribe", "help", "possible_opt_out", "none"]
    assert Keyword.OPT_OUT == "opt_out"


def test_keyword_table_is_the_rulebook_table():
    assert KEYWORDS == dict(TABLE)
