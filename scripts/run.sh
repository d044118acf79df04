#!/usr/bin/env bash
# Runs a koji-rs hub on an embedded SQLite database in ./koji-data, with an
# admin user, and prints how to point the upstream `koji` client at it.
#
#   KOJI_ADMIN_PASSWORD  admin's password (default: generated and printed)
#   KOJI_HUB_LISTEN      address (default 127.0.0.1:8080)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/koji-rs/target}"
command -v cargo >/dev/null || { echo "cargo is missing: install the Rust toolchain (rustup)"; exit 1; }

cargo build --release -p koji-server -p koji-worker -p koji-cli
bin="$CARGO_TARGET_DIR/release"

mkdir -p koji-data
pwfile=koji-data/admin-password
if [ -n "${KOJI_ADMIN_PASSWORD:-}" ]; then
  printf '%s' "$KOJI_ADMIN_PASSWORD" > "$pwfile"
elif [ ! -s "$pwfile" ]; then
  head -c 12 /dev/urandom | base64 | tr -d '/+=' > "$pwfile"
fi
chmod 600 "$pwfile"
pw=$(cat "$pwfile")
"$bin/koji-hub" create-admin admin --password "$pw" >/dev/null

listen="${KOJI_HUB_LISTEN:-127.0.0.1:8080}"
cat <<MSG
koji-rs hub on http://$listen/kojihub  (database koji-data/koji.db, files koji-data/topdir)
admin password: $pw   (kept in $pwfile)

Upstream client:  scripts/setup-koji-client.sh   # once; prints KOJI_CLIENT=...
                  \$KOJI_CLIENT --server http://$listen/kojihub --authtype password --user admin --password '$pw' hello
Web UI:           http://$listen/koji/
Note: this version serves the hub API (users, tags, inheritance, package lists, targets, hosts,
history); the builder (kojid) that builds packages comes with the tasks work.
MSG
exec "$bin/koji-hub" serve --listen "$listen" --db sqlite://koji-data/koji.db --topdir koji-data/topdir
