"""python -m core.migrations revision "message" | upgrade | current | history (DATABASE_URL picks the database)."""

from __future__ import annotations

import sys

from alembic import command

from core.migrations import config


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("revision", "upgrade", "current", "history"):
        print(__doc__)
        return 2
    cfg = config()
    if argv[0] == "revision":
        if len(argv) < 2:
            print('give a message: python -m core.migrations revision "what changed"')
            return 2
        command.revision(cfg, message=argv[1], autogenerate=True)
    elif argv[0] == "upgrade":
        command.upgrade(cfg, "head")
    elif argv[0] == "current":
        command.current(cfg, verbose=True)
    else:
        command.history(cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
