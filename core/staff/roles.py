"""Who may do what: the roles table (issue 17), pure data, tested cell by cell.

- Owner: everything.
- Manager: everything except people and roles, the texting provider and its credentials, attesting an
  import, deleting a customer's data.
- Staff: Personas (view, add a customer, send an opt-in request, record an opt-out received at the
  counter or by phone), the Inbox simulator, Reports read-only; no exports, no imports, no settings.

PAGES says which pages each role may open (app.py builds the navigation from it; pages/ui.require_page
refuses the rest by URL). ACTIONS says which changing core functions each role may call; every such
function starts with `by = roles.allow(session, by, "<action>")`, which re-reads the person (so a role
changed or an account disabled while someone is signed in applies at their next click) and raises
NotAllowed, changing nothing, when the role may not.

`by=None` is the shop acting outside the dashboard (the console, a customer's own text or sign-up, the
tests of earlier issues): it acts as the owner and is recorded as "owner".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Optional

from core.errors import OwnerError


class Role(str, Enum):
    owner = "owner"
    manager = "manager"
    staff = "staff"

    @property
    def label(self) -> str:
        return self.value.capitalize()


ALL = frozenset(Role)
OWNER = frozenset({Role.owner})
MANAGERS = frozenset({Role.owner, Role.manager})

ROLE_HELP = {
    Role.owner: "Everything, including people and roles, the texting provider, attesting an import and "
    "deleting a customer's data.",
    Role.manager: "Everything except people and roles, the texting provider, attesting an import and "
    "deleting a customer's data.",
    Role.staff: "Personas (look up and add customers, send an opt-in request, record an opt-out), the Inbox "
    "simulator and Reports to read. No exports, imports or settings.",
}

# url path of each page -> the roles that may open it. A page missing here is the owner's alone. The public
# pages (sign-up, Stop texting me, sign-in) are not here: they need no sign-in and no role.
PAGES: dict[str, frozenset[Role]] = {
    "personas": ALL,
    "audiences": MANAGERS,
    "inbox": ALL,  # staff see the simulator only (the reviews are manager work: decide_review)
    "reports": ALL,  # staff read it; its downloads are exports (manager and owner)
    "member-club": MANAGERS,
    "texting-defaults": MANAGERS,
    "signup-forms": MANAGERS,
    "integrations": MANAGERS,
    "import": MANAGERS,
    "texting-provider": OWNER,  # the provider and its credentials
    "age-gate": MANAGERS,
    "carrier-registration": MANAGERS,
    "walkthrough": MANAGERS,
    "activity": MANAGERS,
    "people": OWNER,
}

# action -> the roles that may do it. One entry per changing core function (and per export).
ACTIONS: dict[str, frozenset[Role]] = {
    # Personas
    "add_customer": ALL,
    "request_opt_in": ALL,
    "record_opt_out": ALL,
    "edit_customer": MANAGERS,
    "delete_customer_data": OWNER,
    # Inbox
    "simulate_text": ALL,
    "decide_review": MANAGERS,
    # Texting defaults, sign-up forms, sign-up limits, the public address
    "change_templates": MANAGERS,
    "change_forms": MANAGERS,
    "change_signup_limits": MANAGERS,
    # Import and POS
    "import": MANAGERS,
    "attest_import": OWNER,
    "deactivation_import": MANAGERS,
    "pos_sources": MANAGERS,
    "pos_date": MANAGERS,
    "pos_sync": MANAGERS,
    # Audiences, Member Club
    "save_audience": MANAGERS,
    "resend_requests": MANAGERS,
    # every download of customer data or figures
    "export": MANAGERS,
    # the texting provider and its credentials (saving, forgetting the token, a test text)
    "texting_provider": OWNER,
    # the age gate setting; the carrier registration answers
    "age_gate": MANAGERS,
    "registration": MANAGERS,
    # training and the demo shop
    "training": MANAGERS,
    # people, roles, their passwords and sessions; the inactivity setting
    "people": OWNER,
    # the first-start choice (demo or empty)
    "first_start": OWNER,
}

ACTION_LABELS = {
    "add_customer": "add a customer",
    "request_opt_in": "send an opt-in request",
    "record_opt_out": "record an opt-out",
    "edit_customer": "edit a customer's details",
    "delete_customer_data": "delete a customer's data",
    "simulate_text": "simulate a text",
    "decide_review": "decide a possible opt-out",
    "change_templates": "change the texting defaults",
    "change_forms": "change sign-up forms",
    "change_signup_limits": "change the sign-up limits",
    "import": "import customers",
    "attest_import": "attest an import's consent",
    "deactivation_import": "apply a deactivation file",
    "pos_sources": "change POS sources",
    "pos_date": "change a POS double opt-in date",
    "pos_sync": "run a POS sync",
    "save_audience": "save or delete audiences",
    "resend_requests": "resend opt-in requests",
    "export": "export",
    "texting_provider": "change the texting provider",
    "age_gate": "change the age gate",
    "registration": "change the carrier registration answers",
    "training": "run the training",
    "people": "manage people and roles",
    "first_start": "choose how the shop starts",
}


@dataclass(frozen=True)
class Actor:
    """The person doing something: `id` None for the shop acting outside the dashboard (console)."""

    id: Optional[int]
    name: str
    role: Role

    @property
    def evidence(self) -> dict:
        """What a consent event's evidence says about who did it."""
        return {"by": self.name} if self.id is None else {"by": self.name, "by_id": self.id}


SHOP = Actor(id=None, name="owner", role=Role.owner)  # by=None: the console, a customer's own action, old callers
NOBODY = Actor(id=0, name="signed out", role=Role.staff)  # a page's action after its session ended: refused


class NotAllowed(OwnerError):
    """The signed-in person's role may not do this; nothing was changed."""

    def __init__(self, role: Role, action: str):
        self.role = Role(role)
        self.action = action
        what = ACTION_LABELS.get(action, action.replace("_", " "))
        if self.role is Role.owner:  # only a disabled or signed-out owner gets here
            text = f"You can't {what}: you are signed out. Sign in again."
        else:
            text = (
                f"Your role ({self.role.label}) can't {what}. Nothing was changed. Ask the shop's owner if you need to."
            )
        super().__init__(text)


class SignedOut(NotAllowed):
    """The person's session ended or their account was disabled since the page loaded."""

    def __init__(self, action: str):
        OwnerError.__init__(
            self, "You are signed out (or your account was disabled), so nothing was changed. Sign in again."
        )
        self.role = Role.staff
        self.action = action


def may_open(role: Role | str, page: str) -> bool:
    """A page missing from PAGES (one added since) is the owner's until it is listed."""
    return Role(role) in PAGES.get(page, OWNER)


def can(role: Role | str, action: str) -> bool:
    if action not in ACTIONS:
        raise KeyError(f"no action {action!r} in the roles table")
    return Role(role) in ACTIONS[action]


def pages_for(role: Role | str) -> list[str]:
    return [page for page, roles in PAGES.items() if Role(role) in roles]


def allow(session, by: Optional[Actor], action: str) -> Actor:
    """The one role check at the start of every changing core function: the actor as they are now in the
    database (role changes and disabled accounts apply at once), or NotAllowed. `session` may be None for
    a pure function (the role as passed is used)."""
    if action not in ACTIONS:
        raise KeyError(f"no action {action!r} in the roles table")
    if by is None:
        return SHOP
    if by == NOBODY:
        raise SignedOut(action)
    if by.id is not None and session is not None:
        from core.models import Person

        person = session.get(Person, by.id, populate_existing=True)
        if person is not None:  # (a demo or training shop's database has only its built-in owner)
            if person.disabled_at is not None:
                raise SignedOut(action)
            by = Actor(id=person.id, name=person.name, role=Role(person.role))
    if by.role not in ACTIONS[action]:
        raise NotAllowed(by.role, action)
    return by
