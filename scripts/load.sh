#!/usr/bin/env bash
# Load script for the performance targets of DESIGN.md §11: builds the gateway, starts the
# sandbox on a free local port, runs tools/loadtest against it and stops it.
#
#   scripts/load.sh                      # all scenarios, 10 s throughput runs, 32 clients
#   scripts/load.sh -duration 20s -concurrency 64 -scenarios cached
#
# Arguments go to tools/loadtest (go run ./tools/loadtest -h lists them).
set -euo pipefail
cd "$(dirname "$0")/.."

workdir=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; wait "${pid:-}" 2>/dev/null || true; rm -rf "$workdir"' EXIT

go build -o "$workdir/portalgate" ./cmd/portalgate
go build -o "$workdir/loadtest" ./tools/loadtest

port=${PORTALGATE_LOAD_PORT:-18480}
"$workdir/portalgate" sandbox --addr "127.0.0.1:$port" --data-dir "$workdir" --log-level error >"$workdir/sandbox.out" 2>"$workdir/sandbox.err" &
pid=$!
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then cat "$workdir/sandbox.err" >&2; exit 1; fi
  sleep 0.1
done

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(go version | cut -d' ' -f3)"
"$workdir/loadtest" -base "http://127.0.0.1:$port" "$@"
