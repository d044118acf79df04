#!/usr/bin/env bash
# Reproduces the "Fedora-sized content" figures in docs/PERFORMANCE.md:
# a release koji-hub on SQLite and on PostgreSQL over a dataset of 30,000
# packages, 150,000 builds and 1,500,000 RPMs in a three-level inheritance.
#
#   benches/content.sh [sqlite|postgres ...]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/koji-rs/target}"
PG="${KOJI_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}"
REPEAT="${REPEAT:-10}"
backends=("$@"); [ ${#backends[@]} -gt 0 ] || backends=(sqlite postgres)

cargo build --release -p koji-server -p benches
bin="$CARGO_TARGET_DIR/release"
work=$(mktemp -d)
hub_pid=
cleanup() { [ -n "$hub_pid" ] && kill "$hub_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

calls=(
  'getBuild:["pkg01234-1.3-1.fc42"]'
  'getLatestBuilds:["bench-candidate",{"package":"pkg01234","__starstar":true}]'
  'listTagged:["bench-candidate",{"inherit":true,"latest":true,"package":"pkg01234","__starstar":true}]'
  'listPackages:[{"tagID":"bench-candidate","inherited":true,"__starstar":true}]'
  'getLatestBuilds:["bench-candidate"]'
  'listTagged:["bench-candidate",{"inherit":true,"latest":true,"__starstar":true}]'
)

for b in "${backends[@]}"; do
  case "$b" in
    sqlite) db="sqlite://$work/bench.db" ;;
    postgres)
      name="koji_content_$$"
      psql "$PG" -qc "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name"
      db="${PG%/*}/$name" ;;
    *) echo "unknown backend $b"; exit 2 ;;
  esac
  "$bin/koji-hub" create-admin admin --password admin --db "$db" >/dev/null
  KOJI_LOG=warn "$bin/koji-load" dataset --db "$db"
  echo "## $b: cold, in-process ($REPEAT calls each)"
  args=(); for c in "${calls[@]}"; do args+=(--call "$c"); done
  KOJI_LOG=warn "$bin/koji-load" latency --db "$db" --repeat "$REPEAT" --cold "${args[@]}"
  echo "## $b: warm, over HTTP (1 client, 5 s per call)"
  KOJI_LOG=warn "$bin/koji-hub" serve --db "$db" --topdir "$work/top" --listen 127.0.0.1:0 > "$work/hub.out" &
  hub_pid=$!
  for _ in $(seq 1 100); do grep -q listening "$work/hub.out" 2>/dev/null && break; sleep 0.1; done
  url="$(sed -n 's/^listening on //p' "$work/hub.out" | head -1)/kojihub"
  for c in "${calls[@]}"; do
    "$bin/koji-load" run --url "$url" --clients 1 --seconds 5 --call "$c"
  done
  kill "$hub_pid"; wait "$hub_pid" 2>/dev/null || true; hub_pid=
  [ "$b" = postgres ] && psql "$PG" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)"
done
