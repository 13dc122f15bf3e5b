"""``pbm serve``: the HTTP service (needs the ``service`` extra: FastAPI and uvicorn).

    pbm serve --book BOOK --db DB [--host 127.0.0.1] [--port 8000] [--workers N]
              [--token SECRET[:SCOPES][@FAMILY] ...] [--tokens-file FILE]

Without a token it serves only on a loopback address, open, and says so.  The access log names
the method, the route template and the status -- never a member id, a query or a body.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

__all__ = ["register"]


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        print("pbm serve needs the service extra: pip install 'pbm-engine[service]'",
              file=sys.stderr)
        return 2
    from pbm_engine.errors import ConfigError
    from pbm_engine.service.app import LOG_FORMAT, SETTINGS_ENV, Settings, create_app
    from pbm_engine.service.auth import LOOPBACK, load_tokens_file, parse_token

    grants = [parse_token(spec) for spec in args.token or ()]
    if args.tokens_file:
        grants += load_tokens_file(args.tokens_file)
    if not grants and args.host not in LOOPBACK:
        raise ConfigError(f"no tokens configured: refusing to serve on {args.host}; give "
                          "--token or --tokens-file, or bind a loopback address")
    from pbm_engine.cli.openers import open_store
    from pbm_engine.service.stores import store_target
    from pbm_engine.store import is_postgres

    if is_postgres(args.db) or not os.path.exists(args.db):
        open_store(args.db, "--db").close()  # create (SQLite: owner-only) or migrate it now
        if not is_postgres(args.db):
            print(f"pbm serve: created an empty store {args.db}", file=sys.stderr)
    settings = Settings(str(os.path.abspath(args.book)), store_target(args.db),
                        tuple(grants), args.host)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    if not grants:
        print(f"pbm serve: no tokens configured: serving {args.host} (loopback only) without "
              "authentication", file=sys.stderr)
    else:
        print(f"pbm serve: {len(grants)} token(s) configured", file=sys.stderr)
    options: dict[str, Any] = {"host": args.host, "port": args.port, "access_log": False,
                               "log_level": "info"}
    if args.workers > 1:
        os.environ[SETTINGS_ENV] = settings.to_json()
        create_app(settings)  # fail here, once, on a bad book or store
        uvicorn.run("pbm_engine.service.app:app_from_env", factory=True,
                    workers=args.workers, **options)
    else:
        uvicorn.run(create_app(settings), **options)
    return 0


def register(sub: Any) -> None:
    """Add ``serve`` to the ``pbm`` parser."""
    p = sub.add_parser("serve", help="run the HTTP service (estimates, member views, claims)")
    p.add_argument("--book", required=True, help="the book YAML")
    p.add_argument("--db", required=True, help="the claim store: a SQLite file (created "
                   "empty if missing) or a postgresql:// URL")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    p.add_argument("--token", action="append",
                   help="SECRET[:read,claims][@FAMILY or @MEMBER] (repeatable)")
    p.add_argument("--tokens-file", help="one token spec per line")
    p.set_defaults(func=cmd_serve)


__all__ = ["register"]
