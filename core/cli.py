"""The `optin-desk` console script (pyproject [project.scripts]): a small argparse dispatcher.

    optin-desk reset-password        # a new owner password, typed twice at the prompt (never echoed)

DATABASE_URL picks the database, as for the app. Each subcommand is a function taking the parsed
arguments and returning the exit code; add one with `_add(...)` below.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Callable, Optional, Sequence

from core.errors import OwnerError


def _engine():
    from core import bootstrap, db

    engine = db.make_engine(os.environ.get("DATABASE_URL") or None)
    bootstrap.init_db(engine)
    return engine


def reset_password(args: argparse.Namespace, *, ask: Callable[[str], str] = getpass.getpass) -> int:
    """Reset the owner's password from the server's console (never from the web): the owner's account is
    enabled again and every session of theirs ends."""
    from sqlmodel import Session

    from core.staff import accounts

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        again = password
    else:
        password = ask("New owner password: ")
        again = ask("Type it again: ")
    if password != again:
        print("The two passwords are different; nothing changed.", file=sys.stderr)
        return 1
    engine = _engine()
    try:
        with Session(engine) as s:
            owner = accounts.reset_owner_password(s, password)
            print(
                f"The owner password is reset. {owner.name} signs in with the sign-in name "
                f"“{owner.sign_in_name}” (or the password alone while nobody else has an account)."
            )
    except OwnerError as exc:
        print(f"{exc} Nothing changed.", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="optin-desk",
        description="Opt-In Desk on the server's command line. "
        "DATABASE_URL picks the database (the SQLite file beside the app otherwise).",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    reset = sub.add_parser(
        "reset-password", help="reset a forgotten owner password", description=reset_password.__doc__
    )
    reset.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the new password from the first line of standard input (for scripts)",
    )
    reset.set_defaults(run=reset_password)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if not getattr(args, "run", None):
        p.print_help()
        return 2
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
