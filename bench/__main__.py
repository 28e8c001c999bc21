"""``python -m bench``: the area tree and imports on a throw-away PostgreSQL database, then
every page and job on the synthetic city (``bench/city.py``, built once when absent).

Output is ``name: value`` lines (units in the name); lines starting with ``#`` are comments.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from bench import data, db


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="import table (100,000)")
    parser.add_argument(
        "--tree-rows", type=int, default=300_000, help="tree for insert/move/export (300,000)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile one more import of --rows rows and print the top functions",
    )
    parser.add_argument("--tree-only", action="store_true", help="the tree and imports only")
    parser.add_argument("--city-only", action="store_true", help="the seeded city only")
    parser.add_argument("--no-digests", action="store_true", help="the city without digests")
    parser.add_argument("--city-url", default="", help="the city's database (portal_bench_city)")
    args = parser.parse_args(argv)
    for option, rows in (("--rows", args.rows), ("--tree-rows", args.tree_rows)):
        try:
            data.level_sizes(rows)
        except ValueError as exc:
            parser.error(f"{option}: {exc}")
    return args


def _setup_django(url: str) -> None:
    """Point Django at the bench database, as production runs it (DEBUG off: no query log)."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 50)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # DEBUG off wants an SMTP server and collected, hashed static files: the bench sends no
    # mail and renders its pages from the static folder as it is.
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    os.environ.setdefault("STATIC_HASHED", "false")

    import django
    from django.conf import settings
    from django.core import checks
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    name = connection.settings_dict["NAME"]
    if connection.vendor != "postgresql" or name != db.BENCH_DB or settings.DEBUG:
        raise SystemExit(f"bench: refusing to run on {connection.vendor} database {name!r}")
    problems = [m for m in checks.run_checks() if m.is_serious() and not m.is_silenced()]
    if problems:  # a broken project fails here, before any timing
        raise SystemExit("bench: Django's system checks fail:\n" + "\n".join(map(str, problems)))
    call_command("migrate", verbosity=0, interactive=False)


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    if not args.city_only:
        tree_bench(args)
    if not args.tree_only:
        from bench import city

        city.main(
            [
                *(["--city-url", args.city_url] if args.city_url else []),
                *(["--no-digests"] if args.no_digests else []),
            ]
        )


def tree_bench(args: argparse.Namespace) -> None:
    """The tree and import figures, on a throw-away database (bench/README.md)."""
    url = db.bench_url(os.environ.get("DATABASE_URL", ""))
    version = db.server_version(url)
    print(f"# bench on PostgreSQL {version}, {os.cpu_count()} cores", flush=True)
    db.create(url)
    try:
        _setup_django(url)
        from bench import run

        with tempfile.TemporaryDirectory(prefix="portal-bench-") as workdir:
            run.main(Path(workdir), args.rows, args.tree_rows, args.profile)
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        db.drop(url)


if __name__ == "__main__":
    main()
