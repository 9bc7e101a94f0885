"""core.messaging.compliance: template checks (rulebook §5)."""

from __future__ import annotations

import pytest

from core.messaging.compliance import (
    DEFAULT_TEMPLATES,
    PLACEHOLDERS,
    REQUIREMENTS,
    TEMPLATE_KINDS,
    Finding,
    Level,
    check,
    errors,
    placeholders_in,
    sample_render,
)
from core.models import MessageKind
from core.messaging.segments import count

BRAND = "Bella Boutique"
TAIL = "Msg frequency varies. Msg & data rates may apply. Reply HELP for help, STOP to opt out."

# A compliant text for each kind, written without placeholders, and the
# parts that satisfy each requirement (removing one must raise its code).
GOOD = {
    "opt_in_request": "Bella Boutique: Reply YES to join our texts. Msg frequency varies. "
    "Msg & data rates may apply. Reply STOP to opt out.",
    "opt_in_confirmation": "Bella Boutique: You're in! " + TAIL,
    "opt_out_confirmation": "Bella Boutique: You're unsubscribed and will receive no more messages.",
    "resubscribe_confirmation": "Bella Boutique: Welcome back! " + TAIL,
    "help_reply": "Bella Boutique: For help call (415) 867-5309. Reply STOP to opt out.",
}

MISSING = [
    ("opt_in_request", "Bella Boutique: ", "", "brand"),
    ("opt_in_request", "Reply YES to join", "Text us to join", "confirm_instruction"),
    ("opt_in_request", "Reply STOP to opt out.", "", "stop_instruction"),
    ("opt_in_request", "Msg & data rates may apply. ", "", "rates"),
    ("opt_in_request", "Msg frequency varies. ", "", "frequency"),
    ("opt_in_confirmation", "Bella Boutique: ", "", "brand"),
    ("opt_in_confirmation", "Msg frequency varies. ", "", "frequency"),
    ("opt_in_confirmation", "Msg & data rates may apply. ", "", "rates"),
    ("opt_in_confirmation", "Reply HELP for help, ", "", "help_instruction"),
    ("opt_in_confirmation", ", STOP to opt out", "", "stop_instruction"),
    ("resubscribe_confirmation", "Bella Boutique: ", "", "brand"),
    ("resubscribe_confirmation", "Msg frequency varies. ", "", "frequency"),
    ("resubscribe_confirmation", "Msg & data rates may apply. ", "", "rates"),
    ("resubscribe_confirmation", "Reply HELP for help, ", "", "help_instruction"),
    ("resubscribe_confirmation", ", STOP to opt out", "", "stop_instruction"),
    ("opt_out_confirmation", "Bella Boutique: ", "", "brand"),
    ("opt_out_confirmation", "unsubscribed and will receive no more messages", "all set", "no_more_messages"),
    ("help_reply", "Bella Boutique: ", "", "brand"),
    ("help_reply", " call (415) 867-5309", " just ask", "support_contact"),
    ("help_reply", " Reply STOP to opt out.", "", "stop_instruction"),
]


def codes(findings: list[Finding], level: Level | None = None) -> list[str]:
    return [f.code for f in findings if level is None or f.level is level]


def render(template: str, brand: str) -> str:
    return template.format(brand=brand, first_name="there", join_number="(415) 555-0100", help_contact="(415) 555-0100")


# --- defaults --------------------------------------------------------------


def test_there_is_a_default_template_for_every_kind():
    assert set(DEFAULT_TEMPLATES) == set(TEMPLATE_KINDS) == {k.value for k in MessageKind if k.templated}


@pytest.mark.parametrize("kind", TEMPLATE_KINDS)
@pytest.mark.parametrize("brand", [BRAND, "Joe's", "Free Spirit Wine & Guns", "", None, "A" * 40])
def test_each_default_template_passes_for_any_brand(kind, brand):
    assert errors(check(kind, DEFAULT_TEMPLATES[kind], brand=brand)) == []


@pytest.mark.parametrize("kind", TEMPLATE_KINDS)
def test_each_default_template_fits_two_gsm7_segments_with_a_short_brand(kind):
    rendered = render(DEFAULT_TEMPLATES[kind], BRAND)
    result = count(rendered)
    assert result.encoding == "GSM-7"
    assert result.segments <= 2
    assert check(kind, DEFAULT_TEMPLATES[kind], brand=BRAND) == []


@pytest.mark.parametrize("kind", TEMPLATE_KINDS)
def test_each_default_template_uses_only_known_placeholders(kind):
    assert set(placeholders_in(DEFAULT_TEMPLATES[kind])) <= set(PLACEHOLDERS)
    assert "brand" in placeholders_in(DEFAULT_TEMPLATES[kind])


# --- requirements ----------------------------------------------------------


@pytest.mark.parametrize("kind", TEMPLATE_KINDS)
def test_each_good_literal_template_passes(kind):
    assert check(kind, GOOD[kind], brand=BRAND) == []


@pytest.mark.parametrize("kind, remove, replace_with, code", MISSING)
def test_each_missing_requirement_yields_its_code(kind, remove, replace_with, code):
    assert remove in GOOD[kind]
    text = GOOD[kind].replace(remove, replace_with)
    findings = check(kind, text, brand=BRAND)
    assert codes(findings, Level.error) == [code]
    assert all(f.message.endswith((".", '."')) for f in findings)


def test_the_requirements_table_is_the_rulebook_table():
    assert REQUIREMENTS == {
        "opt_in_request": ("brand", "confirm_instruction", "stop_instruction", "rates", "frequency"),
        "opt_in_confirmation": ("brand", "frequency", "rates", "help_instruction", "stop_instruction"),
        "opt_out_confirmation": ("brand", "no_more_messages"),
        "resubscribe_confirmation": ("brand", "frequency", "rates", "help_instruction", "stop_instruction"),
        "help_reply": ("brand", "support_contact", "stop_instruction"),
    }


def test_a_message_says_how_to_confirm():
    findings = check("opt_in_request", GOOD["opt_in_request"].replace("YES", "OK"), brand=BRAND)
    assert findings == [
        Finding(Level.error, "confirm_instruction", "Add how to confirm: ask the customer to reply Y or YES.")
    ]


@pytest.mark.parametrize(
    "text, brand",
    [
        ("{brand}: hi", "Other Name"),
        ("bella boutique: hi", BRAND),
        ("BELLA   BOUTIQUE: hi", BRAND),
        ("Thanks from Bella Boutique!", BRAND),
        ("{brand}: hi", None),
    ],
)
def test_the_brand_is_the_placeholder_or_the_name_in_any_case(text, brand):
    assert "brand" not in codes(check("opt_out_confirmation", text, brand=brand))


@pytest.mark.parametrize("text", ["Bellabout: hi", "Bella: hi", "hi"])
def test_a_partial_brand_name_is_not_the_brand(text):
    assert "brand" in codes(check("opt_out_confirmation", text, brand=BRAND))


@pytest.mark.parametrize(
    "kind, phrase, code",
    [
        ("opt_in_request", "Reply Y to join", "confirm_instruction"),
        ("opt_in_request", "reply yes to join", "confirm_instruction"),
        ("opt_in_request", "Msg&data rates may apply", "rates"),
        ("opt_in_request", "Msg and data rates may apply", "rates"),
        ("opt_in_request", "Message and data rates may apply", "rates"),
        ("opt_in_request", "Std. msg & data rates may apply", "rates"),
        ("opt_in_request", "MSG & DATA RATES MAY APPLY", "rates"),
        ("opt_in_request", "Msg frequency varies", "frequency"),
        ("opt_in_request", "Msg freq. varies", "frequency"),
        ("opt_in_request", "recurring texts", "frequency"),
        ("opt_in_request", "up to 4 msgs/mo", "frequency"),
        ("opt_in_request", "4 msgs/month", "frequency"),
        ("opt_in_request", "2 messages per week", "frequency"),
        ("opt_in_request", "weekly texts", "frequency"),
        ("opt_out_confirmation", "no more messages", "no_more_messages"),
        ("opt_out_confirmation", "you will not receive texts", "no_more_messages"),
        ("opt_out_confirmation", "you won't receive texts", "no_more_messages"),
        ("opt_out_confirmation", "you won’t receive texts", "no_more_messages"),
        ("opt_out_confirmation", "you are unsubscribed", "no_more_messages"),
        ("opt_out_confirmation", "no further messages", "no_more_messages"),
        ("opt_out_confirmation", "you will no longer receive texts", "no_more_messages"),
        ("help_reply", "email help@bella.com", "support_contact"),
        ("help_reply", "visit https://bella.example/help", "support_contact"),
        ("help_reply", "visit www.bella.example", "support_contact"),
        ("help_reply", "visit bellaboutique.com", "support_contact"),
        ("help_reply", "call 415-867-5309", "support_contact"),
        ("help_reply", "call +44 20 7946 0958", "support_contact"),
        ("help_reply", "contact {help_contact}", "support_contact"),
    ],
)
def test_requirements_accept_common_wordings(kind, phrase, code):
    assert code not in codes(check(kind, phrase, brand=BRAND))


@pytest.mark.parametrize(
    "kind, phrase, code",
    [
        ("opt_in_request", "Reply yesterday", "confirm_instruction"),
        ("opt_in_request", "Reply Yo", "confirm_instruction"),
        ("opt_in_request", "Reply STOPS", "stop_instruction"),
        ("opt_in_request", "rates apply", "rates"),
        ("opt_in_request", "we text sometimes", "frequency"),
        ("opt_in_confirmation", "HELPFUL tips", "help_instruction"),
        ("opt_out_confirmation", "see you soon", "no_more_messages"),
        ("help_reply", "ask us anything", "support_contact"),
        ("help_reply", "ask {first_name}", "support_contact"),
    ],
)
def test_requirements_need_the_whole_word_or_phrase(kind, phrase, code):
    assert code in codes(check(kind, phrase, brand=BRAND))


# --- forbidden content -----------------------------------------------------


@pytest.mark.parametrize(
    "extra, found",
    [
        ("20% off everything", "20% off"),
        ("Get 15 % OFF", "15 % OFF"),
        ("Free gift!", "Free"),
        ("FREE shipping", "FREE"),
        ("a discount", "discount"),
        ("discounted prices", "discounted"),
        ("big sale", "sale"),
        ("weekly deals", "deals"),
        ("special offer", "offer"),
        ("a coupon", "coupon"),
        ("promo inside", "promo"),
        ("BOGO today", "BOGO"),
        ("only $5", "$5"),
        ("only $5.99", "$5.99"),
        ("just 5 dollars", "5 dollars"),
    ],
)
def test_promotional_language_in_an_opt_in_request_is_an_error(extra, found):
    findings = check("opt_in_request", GOOD["opt_in_request"] + " " + extra, brand=BRAND)
    promo = [f for f in findings if f.code == "promotional"]
    assert [f.level for f in promo] == [Level.error]
    assert f'"{found}"' in promo[0].message
    assert "carriers" in promo[0].message


def test_twenty_percent_off_everything_is_promotional():
    assert "promotional" in codes(check("opt_in_request", "20% off everything", brand=BRAND), Level.error)


@pytest.mark.parametrize(
    "word",
    [
        "cannabis",
        "marijuana",
        "weed",
        "THC",
        "CBD",
        "dispensary",
        "dispensaries",
        "420",
        "vape",
        "vapes",
        "alcohol",
        "beer",
        "wine",
        "wines",
        "liquor",
        "tobacco",
        "cigarettes",
        "firearm",
        "gun",
        "guns",
    ],
)
def test_regulated_industry_words_in_an_opt_in_request_are_an_error(word):
    findings = check("opt_in_request", f"{GOOD['opt_in_request']} News about our {word}.", brand=BRAND)
    assert codes(findings, Level.error) == ["regulated"]
    assert f'"{word}"' in findings[0].message
    assert "carriers" in findings[0].message


@pytest.mark.parametrize(
    "link, domain",
    [
        ("bit.ly/x", "bit.ly"),
        ("https://bit.ly/abc", "bit.ly"),
        ("tinyurl.com/abc", "tinyurl.com"),
        ("goo.gl/x", "goo.gl"),
        ("https://t.co/x", "t.co"),
        ("ow.ly/x", "ow.ly"),
        ("is.gd/x", "is.gd"),
        ("buff.ly/x", "buff.ly"),
        ("rebrand.ly/x", "rebrand.ly"),
        ("cutt.ly/x", "cutt.ly"),
        ("shorturl.at/x", "shorturl.at"),
        ("tiny.cc/x", "tiny.cc"),
        ("BIT.LY/X", "BIT.LY"),
    ],
)
def test_public_link_shorteners_in_an_opt_in_request_are_an_error(link, domain):
    findings = check("opt_in_request", f"{GOOD['opt_in_request']} See {link}", brand=BRAND)
    assert codes(findings, Level.error) == ["link_shortener"]
    assert domain in findings[0].message


@pytest.mark.parametrize(
    "extra",
    [
        "Enjoy your weekend",
        "Carefree style",
        "Call toll-free 1-800-555-0100",
        "Wholesale orders welcome",
        "Freedom to choose",
        "Our gunmetal jewelry",
        "Winery tours",
        "Call 415-420-1234",
        "habit.ly good",
        "Visit bellaboutique.com/about",
        "Offering news",
    ],
)
def test_words_inside_other_words_do_not_trigger_content_errors(extra):
    assert check("opt_in_request", f"{GOOD['opt_in_request']} {extra}.", brand=BRAND) == []


def test_the_brand_name_itself_is_not_held_against_the_shop():
    text = "Wine & Gun Club: Reply YES to join our texts. Msg frequency varies. Msg & data rates may apply. Reply STOP to opt out."
    assert errors(check("opt_in_request", text, brand="Wine & Gun Club")) == []
    assert "regulated" in codes(check("opt_in_request", text, brand="Bella Boutique"))


def test_an_opt_out_confirmation_must_have_no_promotional_content():
    text = GOOD["opt_out_confirmation"] + " Come back for 20% off!"
    findings = check("opt_out_confirmation", text, brand=BRAND)
    assert codes(findings, Level.error) == ["promotional"]
    assert "20% off" in findings[0].message


@pytest.mark.parametrize("kind", ["opt_in_confirmation", "resubscribe_confirmation", "help_reply"])
def test_content_rules_apply_only_to_the_kinds_the_rulebook_names(kind):
    assert check(kind, GOOD[kind] + " Free wine bit.ly/x", brand=BRAND) == []


# --- placeholders and form -------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Hi {first_name} from {brand}, {brand}", ["first_name", "brand"]),
        ("no placeholders", []),
        ("{{brand}} is escaped", []),
        ("{coupon}", ["coupon"]),
        ("", []),
    ],
)
def test_placeholders_in_lists_names_in_order(text, expected):
    assert placeholders_in(text) == expected


@pytest.mark.parametrize("text", ["Hi {first_name", "Hi }", "{brand!r}", "{brand:>10}", "{ {"])
def test_placeholders_in_rejects_malformed_templates(text):
    with pytest.raises(ValueError):
        placeholders_in(text)


def test_an_unknown_placeholder_is_an_error_naming_it_and_the_allowed_ones():
    findings = check("opt_in_request", GOOD["opt_in_request"] + " Use {coupon}", brand=BRAND)
    assert codes(findings, Level.error) == ["unknown_placeholder"]
    message = findings[0].message
    assert "{coupon}" in message
    assert all("{" + name + "}" in message for name in PLACEHOLDERS)


@pytest.mark.parametrize("placeholder", ["{brand.__class__}", "{brand[0]}", "{0}", "{}"])
def test_attribute_index_and_positional_placeholders_are_unknown(placeholder):
    assert "unknown_placeholder" in codes(check("help_reply", GOOD["help_reply"] + placeholder, brand=BRAND))


@pytest.mark.parametrize("text", ["Hi {first_name", "Hi } there", "{brand!r}", "{brand:{first_name}}"])
def test_a_malformed_template_is_an_error(text):
    findings = check("help_reply", GOOD["help_reply"] + " " + text, brand=BRAND)
    assert codes(findings, Level.error) == ["malformed_placeholder"]


@pytest.mark.parametrize("text", ["", "   ", "\n\t", None])
def test_a_blank_template_is_an_error(text):
    assert check("help_reply", text, brand=BRAND) == [
        Finding(Level.error, "empty", "Write the message; it can't be blank.")
    ]


def test_a_template_over_1000_characters_is_too_long_and_says_the_limit():
    text = GOOD["opt_out_confirmation"] + " " + "x" * 1000
    findings = check("opt_out_confirmation", text, brand=BRAND)
    assert codes(findings, Level.error) == ["too_long"]
    assert "1,000" in findings[0].message


def test_exactly_1000_characters_is_not_too_long():
    text = GOOD["opt_out_confirmation"]
    text += " " + "x" * (1000 - len(text) - 1)
    assert len(text) == 1000
    assert "too_long" not in codes(check("opt_out_confirmation", text, brand=BRAND))


# --- warnings --------------------------------------------------------------


def test_more_than_two_segments_is_a_warning_not_an_error():
    text = GOOD["opt_out_confirmation"] + " " + "Thanks for shopping with us. " * 10
    findings = check("opt_out_confirmation", text, brand=BRAND)
    assert [(f.level, f.code) for f in findings] == [(Level.warning, "long")]
    assert errors(findings) == []


def test_ucs2_is_a_warning_that_names_the_characters():
    text = GOOD["opt_out_confirmation"].replace("You're", "You’re") + " 💜"
    findings = check("opt_out_confirmation", text, brand=BRAND)
    assert codes(findings) == ["ucs2"]
    assert findings[0].level is Level.warning
    assert "’" in findings[0].message and "💜" in findings[0].message


def test_warnings_count_the_text_as_sent_with_the_brand_filled_in():
    template = "{brand}: You're unsubscribed and will receive no more messages."
    assert check("opt_out_confirmation", template, brand="Joe’s") == [
        Finding(
            Level.warning,
            "ucs2",
            "These characters make it a UCS-2 text (70 characters per segment instead of 160): ’.",
        )
    ]
    assert "Joe’s" in sample_render(template, brand="Joe’s")


# --- kinds and helpers -----------------------------------------------------


@pytest.mark.parametrize("kind", [k for k in MessageKind if k.templated])
def test_check_accepts_the_message_kind_enum(kind):
    assert check(kind, DEFAULT_TEMPLATES[kind.value], brand=BRAND) == []


def test_an_unknown_kind_is_a_value_error():
    with pytest.raises(ValueError):
        check("marketing_blast", "hi", brand=BRAND)


def test_errors_keeps_only_error_findings():
    error = Finding(Level.error, "empty", "x.")
    warning = Finding(Level.warning, "long", "y.")
    assert errors([warning, error, warning]) == [error]


def test_level_and_finding_are_plain_values():
    assert Level.error == "error" and Level.warning == "warning"
    with pytest.raises(AttributeError):
        Finding(Level.error, "empty", "x.").code = "other"  # type: ignore[misc]
