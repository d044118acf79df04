#!/usr/bin/env bash
# Reproduces the "Tasks, scheduler and builds" figures in
# docs/PERFORMANCE.md, per backend:
#  - `koji-load scheduler`: one scheduler pass over 10,000 free tasks and
#    500 ready hosts, in-process against a fresh database;
#  - `koji-load builds`: a release `koji-hub serve --builder` (bubblewrap)
#    builds N trivial noarch packages (scripts/demo/hello.spec) one after
#    the other; timed from the `build` call to the builder opening the
#    task and to the build being tagged.
#
#   BUILDS=5 benches/tasks.sh [sqlite|postgres ...]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/koji-rs/target}"
PG="${KOJI_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}"
BUILDS="${BUILDS:-5}"
backends=("$@"); [ ${#backends[@]} -gt 0 ] || backends=(sqlite postgres)
command -v rpmbuild >/dev/null || { echo "rpmbuild is missing: apt-get install rpm"; exit 1; }
command -v bwrap >/dev/null || { echo "bwrap is missing: apt-get install bubblewrap"; exit 1; }

cargo build --release -p koji-server -p benches
bin="$CARGO_TARGET_DIR/release"
work=$(mktemp -d)
hub_pid=
dbs=()
cleanup() {
  [ -n "$hub_pid" ] && kill "$hub_pid" 2>/dev/null || true
  for d in "${dbs[@]}"; do psql "$PG" -qc "DROP DATABASE IF EXISTS $d WITH (FORCE)" || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# distinct NVRs of the demo package
# (the release is written into each spec: the builder rebuilds the SRPM
# without our --define)
for i in $(seq 1 "$BUILDS"); do
  mkdir -p "$work/spec$i"
  sed "s/^%{!?demo_release: %global demo_release 1}$/%global demo_release $i.bench/" \
    scripts/demo/hello.spec > "$work/spec$i/hello-koji-rs.spec"
  rpmbuild -bs --define "_topdir $work/rpmbuild" "$work/spec$i/hello-koji-rs.spec" >/dev/null
done
srpms=("$work"/rpmbuild/SRPMS/*.src.rpm)

fresh_db() { # backend name -> url
  case "$1" in
    sqlite) echo "sqlite://$work/$2.db" ;;
    postgres)
      local name="koji_${2}_$$"
      psql "$PG" -qc "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name"
      echo "${PG%/*}/$name" ;;
    *) echo "unknown backend $1" >&2; exit 2 ;;
  esac
}

for b in "${backends[@]}"; do
  echo "## $b ($(nproc) cores)"
  db=$(fresh_db "$b" sched)
  [ "$b" = postgres ] && dbs+=("koji_sched_$$")
  "$bin/koji-hub" create-admin admin --password admin --db "$db" >/dev/null
  KOJI_LOG=warn "$bin/koji-load" scheduler --db "$db" --hosts 500 --tasks 10000 --repeat 10

  db=$(fresh_db "$b" builds)
  [ "$b" = postgres ] && dbs+=("koji_builds_$$")
  "$bin/koji-hub" create-admin admin --password admin --db "$db" >/dev/null
  rm -rf "$work/top" "$work/bw"
  KOJI_LOG=warn "$bin/koji-hub" serve --db "$db" --topdir "$work/top" --listen 127.0.0.1:0 \
    --builder --builder-workdir "$work/bw" > "$work/hub.out" 2> "$work/hub.log" &
  hub_pid=$!
  for _ in $(seq 1 100); do grep -q listening "$work/hub.out" 2>/dev/null && break; sleep 0.1; done
  url="$(sed -n 's/^listening on //p' "$work/hub.out" | head -1)/kojihub"
  "$bin/koji-load" builds --url "$url" --password admin --target bench-candidate \
    --dest-tag bench "${srpms[@]}" || { cat "$work/hub.log"; exit 1; }
  kill "$hub_pid"; wait "$hub_pid" 2>/dev/null || true; hub_pid=
done
