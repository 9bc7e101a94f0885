"""Opening a shop's database: migrate the schema, then make the first rows, in one locked transaction.

Every start calls init_db (the app, the training and demo shops, tests, benchmarks). It is safe at
every start and from several app replicas at once: the start lock (core.db.start_transaction) lets
one replica migrate and seed while the others wait, then find nothing to do.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import db
from core.messaging import texting
from core.signups import forms
from core.staff import accounts


def init_db(engine: Engine) -> None:
    """Bring the schema to the newest revision and make sure texting defaults, the main sign-up
    form and the built-in owner's account exist."""
    with db.start_transaction(engine) as conn:
        db.migrate(conn)
        with Session(bind=conn) as session:
            texting.ensure_defaults(session)
            forms.ensure_main_form(session)
            accounts.ensure_owner(session)
            session.flush()
