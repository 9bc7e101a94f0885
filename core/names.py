"""A person's name, as the shop texts it back ("Hi {first_name}, ..."): no links, phone numbers or markup.

Pure functions, no I/O. One rule for every path a name comes in by: the public sign-up form, Add a
customer (and editing a customer), and imports. Real names pass: O'Brien, Anne-Marie, José, Nguyễn,
St. John, Mary Ann, J.R., Zoë, 李小龙, Ørsted, D'Angelo (Dee).
"""

from __future__ import annotations

import re
from typing import Optional

__all__ = ["problem", "message", "MAX_DIGITS"]

#: A name may hold a few digits ("Ann 2nd"), never a phone number's worth.
MAX_DIGITS = 6

# Common top-level domains and the ones link shorteners and spam use (bit.ly, goo.gl, t.co, ...). A dot
# between two words is a link only when the second is one of these, so "St.John" and "J.R." stay names.
_TLDS = (
    "com|net|org|info|biz|io|co|me|ly|gl|gd|to|tk|ml|ga|cf|gq|xyz|top|click|link|site|online|shop|store|"
    "app|dev|page|us|uk|ru|cn|de|fr|it|nl|eu|ca|au|in|tv|cc|ws|be|su|pw|live|club|icu|vip|win|bid|loan|"
    "work|ai|gg|sh|is|at|li|cx|am|fm|vu|lc|mobi|pro|name|buzz|rest|fun|today|life|world|email|pics|zip|mov"
)
_LINK = re.compile(
    r"[a-z][a-z0-9+.\-]*://"  # http://, https://, ftp://, javascript://
    r"|(?<![\w.])www\."  # www.
    r"|[\w\-]\.(?:" + _TLDS + r")(?![\w\-'’])"  # x.com, bit.ly, phish.example.co
    r"|[\w\-]\.[a-z]{2,}/",  # any.domain/path
    re.IGNORECASE,
)
# Characters that render as markup somewhere a name is shown or sent (HTML, Markdown, chat apps,
# spreadsheets, templates), an email address, or hidden text-direction controls that disguise what a
# name says. Apostrophes, hyphens, dots, commas, spaces, parentheses and & stay allowed.
_MARKUP = re.compile(r"[<>\[\]{}`*_|\\~^#$@\u202a-\u202e\u2066-\u2069]")

_PROBLEMS = {
    "link": "a web address or link",
    "phone": "a phone number",
    "markup": "symbols like < > [ ] { }",
}


def problem(text: str) -> Optional[str]:
    """What a name must not contain and does ("a web address or link", "a phone number", "symbols like
    < > [ ] { }"), or None when it is fine."""
    if not text or text.isalpha():  # the usual name: letters only, in any script
        return None
    if _LINK.search(text):
        return _PROBLEMS["link"]
    if sum(ch.isdigit() for ch in text) > MAX_DIGITS:
        return _PROBLEMS["phone"]
    if _MARKUP.search(text):
        return _PROBLEMS["markup"]
    return None


def message(label: str, text: str) -> Optional[str]:
    """The sentence shown beside the field ("First name can't contain a web address or link: type just
    the name."), or None when the name is fine."""
    found = problem(text)
    if found is None:
        return None
    return f"{label} can't contain {found}: type just the name."
