#!/usr/bin/env bash
# Runs the koji-rs test suite: formatting, clippy, and every test on SQLite
# and PostgreSQL, including the upstream `koji` client against our hub.
#
# Installs what it needs (Debian packages and the upstream client in a venv,
# via scripts/setup-koji-client.sh). PostgreSQL is found at KOJI_TEST_PG
# (default postgres://postgres@127.0.0.1:5432/test) or started with
# pg_ctlcluster; set KOJI_TEST_NO_POSTGRES=1 to test on SQLite only.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/koji-rs/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
JOBS="${JOBS:-2}"

step() { printf '\n== %s\n' "$*"; }

step "tools"
command -v cargo >/dev/null || { echo "cargo is missing: install the Rust toolchain (rustup)"; exit 1; }
eval "$(scripts/setup-koji-client.sh | grep '^KOJI_CLIENT=')"
export KOJI_CLIENT
echo "upstream client: $KOJI_CLIENT"

step "postgresql"
PG_URL="${KOJI_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}"
export KOJI_TEST_PG="$PG_URL"
if [ "${KOJI_TEST_NO_POSTGRES:-0}" != "0" ]; then
  echo "KOJI_TEST_NO_POSTGRES is set: testing on SQLite only"
else
  pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
  if ! pg_up && command -v pg_ctlcluster >/dev/null; then
    echo "PostgreSQL is not answering on 127.0.0.1:5432; starting it"
    for v in $(ls /etc/postgresql 2>/dev/null); do
      pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
    done
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
  if ! pg_up; then
    echo "PostgreSQL is unavailable at 127.0.0.1:5432 (tried pg_isready and pg_ctlcluster)."
    echo "Start it (user postgres, trust auth, database test) or run with KOJI_TEST_NO_POSTGRES=1."
    exit 1
  fi
  echo "PostgreSQL is up: $PG_URL"
fi

step "format"
cargo fmt --all -- --check

step "build"
cargo build --workspace --all-targets -j "$JOBS"

step "clippy"
cargo clippy --workspace --all-targets -j "$JOBS" -- -D warnings

step "tests"
cargo test --workspace -j "$JOBS" -- --test-threads="$JOBS"
