#!/bin/sh
# Restores a dump of deploy/backup.sh into an empty database, stopping at the first error.
#   deploy/restore.sh backups/escort_portal-20261201T013000Z.dump postgres://.../escort_portal_restored
# Create the database first (createdb); then point DATABASE_URL at it and start the portal.
set -eu
dump=${1:?the dump file}
target=${2:?the URL of an empty database}
pg_restore --exit-on-error --no-owner --no-privileges --single-transaction --dbname="$target" "$dump"
