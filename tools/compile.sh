#!/usr/bin/env bash
# `deno task compile`: deno compile with the given flags, and on failure one plain sentence instead
# of Deno's error chain and Rust backtrace (offline machines cannot download Deno's runtime, denort).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if RUST_BACKTRACE=0 deno compile -q "$@" 2>"$log"; then
  echo "compile: wrote ${*: -2:1} (run it as you would run ztna; same permission set -P=ztna)" >&2
  exit 0
fi
if grep -q "dl.deno.land\|denort" "$log"; then
  echo "compile: deno compile must download Deno's runtime (denort $(deno --version | head -1 | cut -d' ' -f2)) from dl.deno.land, and this machine cannot reach it:" >&2
  # The last "Caused by" entry is the root cause (DNS, refused, timeout).
  grep -E '^ +[0-9]+: ' "$log" | grep -v '<unknown>' | tail -1 | sed -E 's/^ +[0-9]+: /compile:   /' >&2
  echo "compile: build on a machine with internet access, or set DENORT_BIN to a downloaded denort binary;" >&2
  echo "compile: here, tools/ztna runs the same entry point with the same permission set (README, \"Running it for real\")" >&2
else
  grep -v "^Stack backtrace:\|^ *[0-9]*: <unknown>\|^$" "$log" >&2
fi
exit 1
