"""The one base class of errors the person at the screen can fix.

Every named error a service raises for bad input or a refused action derives from OwnerError: its
message says what is wrong and what to do, in words a shop owner (or, on the public sign-up page, a
customer) reads; `field` names the input it concerns, so the page shows it beside that input; `errors`
maps several fields to their messages when more than one is wrong. Nothing was changed when one is raised.

Pages catch OwnerError (pages/ui.py guard / show_error). Any other exception is a bug or an outage:
it is logged with its traceback and the page shows a short apology with the log's reference.
It derives from ValueError, as every named error did before it had a base.
"""

from __future__ import annotations

from typing import Optional


class OwnerError(ValueError):
    def __init__(self, message: str = "", field: Optional[str] = None, *, errors: Optional[dict[str, str]] = None):
        errors = dict(errors or {})
        if not message:
            message = " ".join(errors.values())
        super().__init__(message)
        self.message = message
        self.errors = errors or ({field: message} if field else {})
        if field is None and len(errors) == 1:
            field = next(iter(errors))
        self.field = field
