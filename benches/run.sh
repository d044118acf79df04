#!/usr/bin/env bash
# Reproduces the figures in docs/PERFORMANCE.md: a release koji-hub on
# SQLite and on PostgreSQL, populated by `koji-load setup`, then N clients
# calling getTag, listTags, getFullInheritance and inherited listPackages.
#
#   CLIENTS=16 SECONDS=10 benches/run.sh [sqlite|postgres ...]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/koji-rs/target}"
CLIENTS="${CLIENTS:-16}"
SECS="${SECONDS_PER_CALL:-10}"
PG="${KOJI_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}"
backends=("$@"); [ ${#backends[@]} -gt 0 ] || backends=(sqlite postgres)

cargo build --release -p koji-server -p benches
bin="$CARGO_TARGET_DIR/release"
work=$(mktemp -d)
hub_pid=
cleanup() { [ -n "$hub_pid" ] && kill "$hub_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

for b in "${backends[@]}"; do
  case "$b" in
    sqlite) db="sqlite://$work/bench.db" ;;
    postgres)
      name="koji_bench_$$"
      psql "$PG" -qc "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name"
      db="${PG%/*}/$name" ;;
    *) echo "unknown backend $b"; exit 2 ;;
  esac
  "$bin/koji-hub" create-admin admin --password admin --db "$db" >/dev/null
  KOJI_LOG=warn "$bin/koji-hub" serve --db "$db" --topdir "$work/top" --listen 127.0.0.1:0 > "$work/hub.out" &
  hub_pid=$!
  for _ in $(seq 1 100); do grep -q listening "$work/hub.out" 2>/dev/null && break; sleep 0.1; done
  url="$(sed -n 's/^listening on //p' "$work/hub.out" | head -1)/kojihub"
  "$bin/koji-load" setup --url "$url" --password admin --tags 20 --packages 400 >/dev/null
  echo "## $b ($CLIENTS clients, ${SECS}s per call, $(nproc) cores)"
  for call in 'getTag:["load-tag-19"]' 'listTags:[]' 'getFullInheritance:["load-tag-19"]' \
              'listPackages:[{"tagID":"load-tag-19","inherited":true,"__starstar":true}]'; do
    "$bin/koji-load" run --url "$url" --clients "$CLIENTS" --seconds "$SECS" --call "$call"
  done
  kill "$hub_pid"; wait "$hub_pid" 2>/dev/null || true; hub_pid=
  [ "$b" = postgres ] && psql "$PG" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)"
done
