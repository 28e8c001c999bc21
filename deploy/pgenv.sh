# Sourced by deploy/backup.sh and deploy/restore.sh: DATABASE_URL handed to pg_dump and
# pg_restore as libpq's PG* variables, so that its password is on no command line (every
# user of the machine reads the others' command lines in ps and /proc/*/cmdline).
eval "$(python3 -c '
import os, shlex
from urllib.parse import parse_qsl, unquote, urlsplit

url = urlsplit(os.environ["DATABASE_URL"])
query = dict(parse_qsl(url.query))
env = {
    "PGHOST": unquote(url.hostname or ""),
    "PGPORT": str(url.port or ""),
    "PGUSER": unquote(url.username or ""),
    "PGPASSWORD": unquote(url.password or ""),
    "PGDATABASE": unquote(url.path.lstrip("/")),
    "PGSSLMODE": query.get("sslmode", ""),
}
for name, value in env.items():
    if value:
        print(f"export {name}={shlex.quote(value)}")
')"
: "${PGDATABASE:?DATABASE_URL names no database}"
