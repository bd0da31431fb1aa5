#!/usr/bin/env bash
# The one compile command of ztna: `deno task compile` and .github/workflows/release.yml both run it,
# and tests/e2e/compile_guard_test.ts reads INCLUDES below. Usage:
#   tools/compile.sh --output <file> [--target <deno target triple>]
# Builds main.ts under the permission set `ztna` of deno.json, embeds every Worker entry (deno compile
# embeds only what main.ts imports statically, and a Worker is not an import), and writes the git
# commit into src/build_info.json for `ztna --version` while it compiles (restored afterwards).
# On failure it prints one plain sentence instead of Deno's error chain and Rust backtrace (offline
# machines cannot download Deno's runtime, denort).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Every `new Worker(...)` entry under src/; the compile guard test fails when one is missing here.
INCLUDES=(
  src/sandbox/role_worker.ts
  src/connector/egress_worker.ts
  src/connector/egress_launcher.ts
)

output=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --output) output="${args[$((i + 1))]:-}" ;;
    --output=*) output="${args[$i]#--output=}" ;;
  esac
done
if [ -z "$output" ]; then
  echo "compile: usage: tools/compile.sh --output <file> [--target <target>]" >&2
  exit 2
fi

flags=(-q -P=ztna)
for file in "${INCLUDES[@]}"; do flags+=(--include "$file"); done

log="$(mktemp)"
info="src/build_info.json"
saved="$(mktemp)"
cp "$info" "$saved"
trap 'cp "$saved" "$info"; rm -f "$log" "$saved"' EXIT
commit="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="$commit-dirty"
fi
printf '{ "commit": "%s" }\n' "$commit" >"$info"

if RUST_BACKTRACE=0 deno compile "${flags[@]}" "$@" main.ts 2>"$log"; then
  echo "compile: wrote $output from commit $commit (permission set -P=ztna; Workers: ${INCLUDES[*]})" >&2
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
