#!/usr/bin/env bash
# Regenerates the sample recordings in this folder: `flowscope demo --no-tui`
# publishes its simulated order system into a private nats-server while
# `flowscope record` captures it. Needs nats-server on PATH.
#
#   recordings/make-samples.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
fs=target/release/flowscope
port=${PORT:-14999}
url=nats://127.0.0.1:$port
work=$(mktemp -d)
server_pid=
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT

# start_server STORE: each sample has a JetStream store of its own, so its
# stream and consumers start empty (a restart mid-sample keeps them).
start_server() {
    nats-server -a 127.0.0.1 -p "$port" -js -sd "$work/js-$1" >>"$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return
        sleep 0.1
    done
    echo "nats-server did not start; see $work/server.log" >&2
    exit 1
}

# The demo's order saga, as the demo follows it: recorded into each
# sample's header, so a replay shows the sagas the way the session did.
cat >"$work/order.toml" <<'TOML'
[[sagas]]
name         = "order"
steps        = ["OrderCreated", "InventoryReserved", "PaymentProcessed", "OrderShipped"]
failure      = ["PaymentFailed"]
compensation = ["InventoryReleased", "OrderCancelled"]
timeout      = "30s"
TOML

# sample NAME SECONDS OUTAGE_AT DEMO_ARGS...: OUTAGE_AT > 0 stops the server
# that many seconds in and starts it again 3 s later (a disconnect).
sample() {
    local name=$1 secs=$2 outage=$3
    shift 3
    rm -f "recordings/$name"
    start_server "$name"
    "$fs" -s "$url" -c "$work/order.toml" record -o "recordings/$name" --duration "${secs}s" 2>>"$work/record.log" &
    local rec=$!
    sleep 0.5
    "$fs" -s "$url" demo --no-tui --duration "$((secs - 1))s" "$@" >>"$work/demo.log" 2>&1 &
    local demo=$!
    if [ "$outage" -gt 0 ]; then
        sleep "$outage"
        kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
        sleep 3
        start_server "$name"
    fi
    wait "$demo" || true
    wait "$rec"
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
    server_pid=
    echo "$name: $(ls -l "recordings/$name" | awk '{print $5}') bytes"
}

# A healthy flow: no duplicates, no reordering, no gaps, few failures.
sample healthy.jsonl 40 0 --rate 40 --seed 1 --dup-rate 0 --ooo-rate 0 --gap-rate 0 \
    --fail-rate 0.05 --stuck-rate 0 --drift-after 0
# Delivery faults: duplicates, out-of-order, gaps, schema drift, and a
# server restart half-way (the events published meanwhile are missed).
sample faults.jsonl.zst 60 30 --rate 150 --seed 2 --dup-rate 0.05 --ooo-rate 0.04 \
    --gap-rate 0.02 --drift-after 600
# Sagas in trouble: many payments fail and are compensated, some orders
# stop mid-way (stuck), and the demo's JetStream consumer lags.
sample sagas.jsonl.zst 60 0 --rate 120 --seed 3 --fail-rate 0.35 --stuck-rate 0.15 \
    --drift-after 0
