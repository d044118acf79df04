#!/usr/bin/env bash
# Reproduces the "Repo regeneration" figures in docs/PERFORMANCE.md, per
# backend: a release `koji-hub serve --builder` (repo upkeep off, so only
# the benchmark makes repos) with a tag holding PACKAGES binary RPMs (one
# build whose spec has that many subpackages), then
#  - a full regeneration: the first repo of the tag (no repo to reuse);
#  - an incremental one: after one more small build is tagged, the next
#    repo (createrepo_c --update from the previous one).
# Each figure is the newRepo task's wall time (start to completion, which
# includes the hub's repoInit/repoDone and the createrepo subtask), and
# the createrepo subtask's own.
#
#   PACKAGES=5000 SIZE_KB=100 [DROP_CACHES=1] benches/repos.sh [sqlite|postgres ...]
#
# DROP_CACHES=1 empties the page cache before each regeneration (needs
# root): the packages are then read from disk, as for a tag whose
# packages were not touched lately.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/koji-rs/target}"
PG="${KOJI_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}"
PACKAGES="${PACKAGES:-5000}"
backends=("$@"); [ ${#backends[@]} -gt 0 ] || backends=(sqlite postgres)
for t in rpmbuild createrepo_c; do
  command -v "$t" >/dev/null || { echo "$t is missing: apt-get install rpm createrepo-c"; exit 1; }
done
eval "$(scripts/setup-koji-client.sh | grep '^KOJI_CLIENT=')"

cargo build --release -p koji-server
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

# one build with PACKAGES binary RPMs of SIZE_KB of incompressible data
# each (createrepo_c reads and checksums every package it has not seen:
# that, not the XML, is what a full run costs with real packages), and a
# small build for the increment
SIZE_KB="${SIZE_KB:-100}"
spec="$work/many.spec"
{
  printf '%%global debug_package %%{nil}\n%%global __os_install_post %%{nil}\n'
  printf '%%global _binary_payload w0.gzdio\n'
  printf 'Name: many\nVersion: 1.0\nRelease: 1\nSummary: many\nLicense: MIT\nBuildArch: noarch\n'
  printf '%%description\nmany\n'
  for i in $(seq 1 "$PACKAGES"); do
    printf '%%package p%d\nSummary: p%d\n%%description p%d\np%d\n' "$i" "$i" "$i" "$i"
  done
  printf '%%install\nfor i in $(seq 1 %d); do mkdir -p %%{buildroot}/usr/share/many/p$i; head -c %dk /dev/urandom > %%{buildroot}/usr/share/many/p$i/f; done\n' "$PACKAGES" "$SIZE_KB"
  for i in $(seq 1 "$PACKAGES"); do
    printf '%%files p%d\n/usr/share/many/p%d/f\n' "$i" "$i"
  done
} > "$spec"
echo "building $PACKAGES packages..."
rpmbuild -ba --define "_topdir $work/rpmbuild" "$spec" >/dev/null 2>&1
rpmbuild -ba --define "_topdir $work/small" --define "pkg small" \
  koji-server/tests/fixtures/hello.spec >/dev/null 2>&1

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
  echo "## $b ($(nproc) cores, $PACKAGES packages of ${SIZE_KB} KiB)"
  db=$(fresh_db "$b" repos)
  [ "$b" = postgres ] && dbs+=("koji_repos_$$")
  "$bin/koji-hub" create-admin admin --password admin --db "$db" >/dev/null
  rm -rf "$work/top" "$work/bw" "$work/home"
  KOJI_LOG=warn "$bin/koji-hub" serve --db "$db" --topdir "$work/top" --listen 127.0.0.1:0 \
    --builder --builder-backend none --builder-workdir "$work/bw" --no-repo-regen \
    > "$work/hub.out" 2> "$work/hub.log" &
  hub_pid=$!
  for _ in $(seq 1 100); do grep -q listening "$work/hub.out" 2>/dev/null && break; sleep 0.1; done
  base="$(sed -n 's/^listening on //p' "$work/hub.out" | head -1)"
  mkdir -p "$work/home"
  printf '[koji]\nserver = %s/kojihub\nauthtype = password\n' \
    "$base" > "$work/home/koji.conf"
  k() { "$KOJI_CLIENT" -c "$work/home/koji.conf" --user admin --password admin "$@"; }
  k add-tag bench-dest >/dev/null
  k add-tag bench --arches "$(uname -m)" >/dev/null
  k add-target bench-candidate bench bench-dest >/dev/null
  k add-pkg --owner admin bench many small >/dev/null
  start=$(date +%s)
  k import "$work"/rpmbuild/SRPMS/*.src.rpm "$work"/rpmbuild/RPMS/noarch/*.rpm >/dev/null
  echo "import of $PACKAGES RPMs: $(( $(date +%s) - start )) s"
  k tag-build bench many-1.0-1 >/dev/null

  regen() { # label
    local out task
    if [ "${DROP_CACHES:-0}" != 0 ]; then
      # cold: the packages come from disk, as for a tag not built lately
      sync; echo 3 > /proc/sys/vm/drop_caches
    fi
    out=$(k regen-repo --make-task --wait bench)
    task=$(sed -n 's/^Created task: //p' <<<"$out")
    k call --json-output getTaskInfo "$task" > "$work/t.json"
    k call --json-output getTaskChildren "$task" > "$work/c.json"
    k call --json-output getRepo bench > "$work/r.json"
    python3 - "$1" "$work/t.json" "$work/c.json" "$work/r.json" "$work/top" <<'PY'
import json, sys, glob
label, t, c, r = (sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3])),
                  json.load(open(sys.argv[4])))
cr = [x for x in c if x["method"] == "createrepo"][0]
n = sum(len(open(p).readlines())
        for p in glob.glob(f"{sys.argv[5]}/repos/bench/{r['id']}/*/pkglist"))
log = open(f"{sys.argv[5]}/work/tasks/{cr['id'] % 10000}/{cr['id']}/createrepo.log").read()
steps = [l[20:] for l in log.splitlines()
         if " took " in l or "spliced in" in l or "chunked in" in l]
print(f"{label}: repo {r['id']} with {n} packages: newRepo "
      f"{t['completion_ts'] - t['start_ts']:.2f} s, "
      f"createrepo {cr['completion_ts'] - cr['start_ts']:.2f} s ({'; '.join(steps)})")
ms = lambda a, b: f"{(b - a) * 1000:.0f} ms"
print(f"  newRepo started -> createrepo made {ms(t['start_ts'], cr['create_ts'])}, "
      f"-> opened {ms(cr['create_ts'], cr['start_ts'])}, "
      f"-> closed {ms(cr['start_ts'], cr['completion_ts'])}, "
      f"-> newRepo closed {ms(cr['completion_ts'], t['completion_ts'])}")
PY
  }
  regen "full (first repo)"
  k import "$work"/small/SRPMS/*.src.rpm "$work"/small/RPMS/*/small-1.0-1.*.rpm >/dev/null
  k tag-build bench small-1.0-1 >/dev/null
  regen "incremental (one more build)"
  kill "$hub_pid"; wait "$hub_pid" 2>/dev/null || true; hub_pid=
done
