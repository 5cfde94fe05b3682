"""`prosync migrate [--database-url URL]`: apply the pending SQL migrations."""

import os

from prosync.db.connection import connect
from prosync.db.migrate import apply_migrations
from prosync.settings import DatabaseSettings


def register(sub) -> None:
    parser = sub.add_parser("migrate", help="apply pending database migrations")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="defaults to $DATABASE_URL")
    parser.set_defaults(func=run)


def run(args) -> int:
    if not args.database_url:
        print("prosync migrate: give --database-url or set DATABASE_URL")
        return 2
    with connect(DatabaseSettings(database_url=args.database_url)) as conn:
        applied = apply_migrations(conn)
    print(f"applied: {', '.join(applied)}" if applied else "database is up to date")
    return 0
