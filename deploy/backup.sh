#!/bin/sh
# A backup of the portal: the database (pg_dump, custom format) and the uploaded files
# (a tar of MEDIA_ROOT), both named by the UTC time, in BACKUP_DIR; the newest BACKUP_KEEP
# of each are kept. Reads DATABASE_URL, MEDIA_ROOT, BACKUP_DIR (default /var/backups/portal)
# and BACKUP_KEEP (default 14) from the environment (/etc/portal/portal.env).
#
#   deploy/backup.sh                # as the portal user (portal-backup.timer runs it nightly)
#
# Restore with deploy/restore.sh. tests/production/test_backup.py runs both.
set -eu

: "${DATABASE_URL:?DATABASE_URL is not set}"
: "${MEDIA_ROOT:?MEDIA_ROOT is not set}"
dest="${BACKUP_DIR:-/var/backups/portal}"
keep="${BACKUP_KEEP:-14}"
case "$keep" in
  ''|*[!0-9]*|0) echo "backup: BACKUP_KEEP=$keep must be a whole number above 0" >&2; exit 2 ;;
esac

. "$(dirname "$0")/pgenv.sh"

umask 077
mkdir -p "$dest"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
dump="$dest/portal-$stamp.dump"
media="$dest/portal-$stamp.media.tar.gz"

# Written under a temporary name first: a backup cut off half-way is never taken for whole,
# and is removed (it holds personal data) however the script ends.
trap 'rm -f -- "$dump.partial" "$media.partial"' EXIT
pg_dump --format=custom --compress=6 --no-owner --no-privileges --file="$dump.partial"
mv "$dump.partial" "$dump"
if [ -d "$MEDIA_ROOT" ]; then
  tar -C "$MEDIA_ROOT" -czf "$media.partial" .
else
  tar -czf "$media.partial" --files-from=/dev/null  # no upload yet: an empty archive
fi
mv "$media.partial" "$media"

# Keep the newest $keep of each kind (the names sort by time).
for pattern in 'portal-*.dump' 'portal-*.media.tar.gz'; do
  find "$dest" -maxdepth 1 -type f -name "$pattern" | sort -r | tail -n "+$((keep + 1))" |
    while IFS= read -r old; do rm -f -- "$old"; done
done
echo "backup: $dump"
echo "backup: $media"
