#!/bin/sh
# Restore a backup made by deploy/backup.sh into DATABASE_URL and MEDIA_ROOT.
#
#   deploy/restore.sh /var/backups/portal/portal-20261202T023000Z.dump \
#                     /var/backups/portal/portal-20261202T023000Z.media.tar.gz
#
# Stop the web, worker and beat units first. The database may be empty (created anew) or the
# damaged one: every object of the dump is dropped and made again, in one transaction (a
# failed restore leaves the database as it was). The media folder is replaced by the archive's
# (the old one kept beside it as MEDIA_ROOT.before-restore until the next restore).
# tests/production/test_backup.py runs it: dump, wipe, restore, same rows and files.
set -eu

dump="${1:?usage: restore.sh DUMP [MEDIA_TAR]}"
media="${2:-}"
: "${DATABASE_URL:?DATABASE_URL is not set}"

. "$(dirname "$0")/pgenv.sh"
pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction \
  --exit-on-error --dbname="$PGDATABASE" "$dump"
echo "restore: database from $dump"

if [ -n "$media" ]; then
  : "${MEDIA_ROOT:?MEDIA_ROOT is not set}"
  fresh="$MEDIA_ROOT.restoring"
  rm -rf -- "$fresh"
  mkdir -p -- "$fresh"
  tar -C "$fresh" -xzf "$media"
  rm -rf -- "$MEDIA_ROOT.before-restore"
  if [ -e "$MEDIA_ROOT" ]; then mv -- "$MEDIA_ROOT" "$MEDIA_ROOT.before-restore"; fi
  mv -- "$fresh" "$MEDIA_ROOT"
  echo "restore: media from $media into $MEDIA_ROOT"
fi
