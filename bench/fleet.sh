#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The fleet's roll-out figures (bench/RESULTS.md): a manifest to 50 real hemgated through
# one mosquitto with TLS client certificates (the test /fleet/rollout, which prints the
# roll-out times), and to N simulated gateways (bench-fleet-sim) beside the broker's own
# rate for the same traffic.  Usage: bench/fleet.sh BUILDDIR [N]
set -eu
build=${1:?usage: bench/fleet.sh BUILDDIR [N]}
n=${2:-5000}
build=$(cd "$build" && pwd)
dir=$(mktemp -d /tmp/hemgate-fleet-bench-XXXXXX)
trap 'kill $broker 2>/dev/null || true; rm -rf "$dir"' EXIT
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== 50 hemgated, one broker (TLS, client certificates)"
[ "${SKIP_REAL:-}" ] || HGD_FLEET_GATEWAYS=50 meson test -C "$build" fleet-rollout >/dev/null 2>&1 || echo "fleet-rollout FAILED"
grep -E 'roll-out of manifest|gateways started in' "$build/meson-logs/testlog.txt" | sed 's/^# //' 

echo "== $n simulated gateways, one broker (plain TCP on loopback)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$dir/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 0
$( [ "$(id -u)" = 0 ] && echo "user root" )
CONF
ulimit -n 20000
mosquitto -c "$dir/mosquitto.conf" >/dev/null 2>&1 &
broker=$!
sleep 0.5
cd "$dir"
"$build/daemon/cli/hemgatectl" bundle keygen it >/dev/null
echo '{"serial": 1, "plugins": []}' > m1.json
"$build/daemon/cli/hemgatectl" fleet publish m1.json --key it.key --json \
  --broker 127.0.0.1:$port --prefix hemgate/scratch > m1.envelope
"$build/bench/bench-fleet-sim" --port $port --clients "$n" --envelope m1.envelope \
  --public-key it.pub --reference
"$build/bench/bench-fleet-sim" --port $port --clients "$n" --envelope m1.envelope \
  --public-key it.pub
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
