#!/usr/bin/env bash
# Smoke test of a ztna binary on loopback (the release workflow runs it on the compiled Linux binary;
# `tools/smoke_binary.sh tools/ztna` runs it on the source): --version names the commit, `ztna demo`
# answers a curl, and relay, connector and client as separate processes (each in its Worker sandbox,
# the modules tools/compile.sh must embed) carry a curl. Run from the repository root: the binary's
# permission set lets it write only ./certs, ./state, /etc/ztna and /var/lib/ztna.
set -euo pipefail
bin="$(realpath "$1")"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
dir="state/smoke"
rm -rf "$dir" && mkdir -p "$dir"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# Waits up to 30 s for a line matching $2 in log $1.
wait_for() {
  for _ in $(seq 300); do grep -q "$2" "$1" && return 0; sleep 0.1; done
  echo "smoke: no \"$2\" in $1:" >&2; cat "$1" >&2; return 1
}

echo "smoke: $("$bin" --version)"

"$bin" demo >"$dir/demo.log" 2>&1 &
pids+=($!)
wait_for "$dir/demo.log" "curl http://"
url="$(grep -o 'curl http://[0-9.:]*/' "$dir/demo.log" | head -1 | cut -d' ' -f2)"
curl -fsS --max-time 10 "$url" >/dev/null
echo "smoke: demo answered $url"

"$bin" admin keygen --out "$dir" >/dev/null
"$bin" admin dev-certs --out "$dir" --name localhost >/dev/null
"$bin" admin token issue --signing-key "$dir/token-signing.key" --role connector --service web \
  --subject smoke-connector --ttl 1h --out "$dir/connector.token" >/dev/null
"$bin" admin token issue --signing-key "$dir/token-signing.key" --role client --service web \
  --subject smoke-client --ttl 1h --out "$dir/client.token" >/dev/null
mkdir -p "$dir/www" && echo "smoke backend" >"$dir/www/index.html"
python3 -m http.server 18480 --bind 127.0.0.1 --directory "$dir/www" >"$dir/backend.log" 2>&1 &
pids+=($!)
cat >"$dir/relay.toml" <<TOML
[intermediate]
listen = "127.0.0.1:18433"
cert = "relay.crt"
key = "relay.key"
token_public_keys = ["token-signing.pub"]
state_dir = "relay-state"
[intermediate.admin]
enabled = false
TOML
for role in connector client; do
  cat >"$dir/$role.toml" <<TOML
[$role]
relays = [{ address = "127.0.0.1:18433", server_name = "localhost" }]
ca = "ca.crt"
token_file = "$role.token"
TOML
done
cat >>"$dir/connector.toml" <<TOML
[[connector.service]]
id = "web"
backend = "127.0.0.1:18480"
TOML
cat >>"$dir/client.toml" <<TOML
direct = false
[[client.forward]]
listen = "127.0.0.1:18481"
service = "web"
TOML
"$bin" --role=intermediate --config "$dir/relay.toml" >"$dir/relay.log" 2>&1 &
pids+=($!)
wait_for "$dir/relay.log" "Relay listening on"
"$bin" --role=connector --config "$dir/connector.toml" >"$dir/connector.log" 2>&1 &
pids+=($!)
wait_for "$dir/connector.log" "Registered service"
"$bin" --role=client --config "$dir/client.toml" >"$dir/client.log" 2>&1 &
pids+=($!)
wait_for "$dir/client.log" "Connected to relay"
body="$(curl -fsS --max-time 10 http://127.0.0.1:18481/)"
[ "$body" = "smoke backend" ] || { echo "smoke: unexpected answer: $body" >&2; exit 1; }
echo "smoke: relay, connector and client (sandboxed) carried a curl"
