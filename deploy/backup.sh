#!/bin/sh
# A pg_dump of the whole portal database (public and every station's schema, with the audit
# trail's triggers) in PostgreSQL's custom format, into $BACKUP_DIR; dumps older than
# $BACKUP_KEEP_DAYS days are removed. Prints the file it wrote.
#   DATABASE_URL=postgres://... BACKUP_DIR=/var/backups/escort-portal deploy/backup.sh
set -eu
: "${DATABASE_URL:?set DATABASE_URL to the portal database}"
BACKUP_DIR=${BACKUP_DIR:-./backups}
BACKUP_KEEP_DAYS=${BACKUP_KEEP_DAYS:-14}
mkdir -p "$BACKUP_DIR"
file="$BACKUP_DIR/escort_portal-$(date -u +%Y%m%dT%H%M%SZ).dump"
# Written under a temporary name first: a dump cut short never looks like a good one.
pg_dump --format=custom --no-owner --no-privileges --file="$file.partial" "$DATABASE_URL"
mv "$file.partial" "$file"
find "$BACKUP_DIR" -name 'escort_portal-*.dump' -mtime +"$BACKUP_KEEP_DAYS" -delete
echo "$file"
