#!/usr/bin/env bash
# Runs koji-rs: the hub with its builder on an embedded SQLite database in
# ./koji-data, an admin user, and the upstream `koji` client; then builds a
# real package (scripts/demo/hello.spec) through `koji build`, and keeps
# serving until interrupted.
#
#   KOJI_ADMIN_PASSWORD  admin's password (default: generated and printed)
#   KOJI_HUB_LISTEN      address (default 127.0.0.1:8080)
#   KOJI_RUN_NO_DEMO=1   skip the demo build
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/koji-rs/target}"
command -v cargo >/dev/null || { echo "cargo is missing: install the Rust toolchain (rustup)"; exit 1; }

# rpm, bubblewrap, git, createrepo-c and the upstream client (koji==1.36.1)
eval "$(scripts/setup-koji-client.sh | grep '^KOJI_CLIENT=')"

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
KOJI_LOG=warn "$bin/koji-hub" create-admin admin --password "$pw" >/dev/null

listen="${KOJI_HUB_LISTEN:-127.0.0.1:8080}"
"$bin/koji-hub" serve --listen "$listen" --db sqlite://koji-data/koji.db \
  --topdir koji-data/topdir --builder --builder-workdir koji-data/builder-work \
  > koji-data/hub.out 2> koji-data/hub.log &
hub_pid=$!
trap 'kill -TERM $hub_pid 2>/dev/null; wait $hub_pid 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 100); do
  grep -q '^listening on ' koji-data/hub.out 2>/dev/null && break
  kill -0 $hub_pid 2>/dev/null || { echo "koji-hub did not start:"; cat koji-data/hub.log; exit 1; }
  sleep 0.1
done
url=$(sed -n 's/^listening on //p' koji-data/hub.out)

# the client's profile for this hub (the client reads no other config)
cat > koji-data/client.conf <<CONF
[koji]
server = $url/kojihub
weburl = $url/koji
topurl = $url/kojifiles
authtype = password
CONF
koji() { "$KOJI_CLIENT" -c koji-data/client.conf --user admin --password "$pw" "$@"; }

cat <<MSG
koji-rs hub on $url/kojihub  (database koji-data/koji.db, files koji-data/topdir, log koji-data/hub.log)
with a builder (host "builder") running builds in bubblewrap
admin password: $pw   (kept in $pwfile)

Upstream client:  $KOJI_CLIENT -c koji-data/client.conf --user admin --password '$pw' hello
Web UI:           $url/koji/
MSG

if [ "${KOJI_RUN_NO_DEMO:-0}" = "0" ]; then
  arch=$(uname -m)
  echo
  echo "== demo: tags, a target, and a real build"
  if [ "$(koji call --json-output getTag demo-build)" = "null" ]; then
    koji add-tag demo-build --arches "$arch"
    koji add-tag demo
    koji add-target demo-candidate demo-build demo
    koji add-pkg --owner admin demo hello-koji-rs
  fi
  top=$(mktemp -d)
  # the release goes into the spec itself: the builder rebuilds the SRPM
  sed "s/^%{!?demo_release: %global demo_release 1}$/%global demo_release $(date +%s)/" \
    scripts/demo/hello.spec > "$top/hello-koji-rs.spec"
  rpmbuild -bs --define "_topdir $top" "$top/hello-koji-rs.spec" >/dev/null
  srpm=$(ls "$top"/SRPMS/*.src.rpm)
  koji build --wait --noprogress demo-candidate "$srpm"
  rm -rf "$top"
  echo
  koji list-tagged demo
  echo
  echo "The build is in koji-data/topdir/packages/hello-koji-rs/. The hub keeps serving; Ctrl-C stops it."
fi
wait $hub_pid
