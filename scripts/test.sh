#!/usr/bin/env bash
# tessera's test command: every test, on SQLite and on PostgreSQL, plus the browser tests.
#
# It installs what a fresh Debian machine lacks (Chromium and ChromeDriver for the browser
# tests), makes sure PostgreSQL answers on 127.0.0.1:5432, then runs lints and `cargo test`.
# A component that cannot be reached fails the run; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

# --- Chromium + ChromeDriver (Debian packages; versions must match) ---------------------
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  say "installing chromium and chromium-driver"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
chromium --version
chromedriver --version

# --- PostgreSQL on 127.0.0.1:5432 -------------------------------------------------------
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! pg_up && command -v pg_ctlcluster >/dev/null; then
  say "starting PostgreSQL"
  for version in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  for _ in $(seq 1 20); do pg_up && break; sleep 0.5; done
fi
if ! pg_up; then
  echo "PostgreSQL is not answering on 127.0.0.1:5432; the tests need it." >&2
  exit 1
fi

# --- lints and tests ---------------------------------------------------------------------
say "cargo fmt --check"
cargo fmt --check
say "cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
say "cargo test"
cargo test --all-targets --locked -- --test-threads="${TESSERA_TEST_THREADS:-4}"
