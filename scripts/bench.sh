#!/usr/bin/env bash
# Runs the performance benchmarks and prints a summary (not part of CI):
#   - BenchmarkStartup: the injector against a minimal GetSecretValue program
#     (integration/baseline) for 1, 20 and 200 secrets, interleaved, 20 ms per
#     call; both binaries' sizes and peak RSS (each measured in-process);
#   - writer micro-benchmarks (200 files of 1 KiB, new and replaced, in the
#     temporary directory and on /dev/shm);
#   - BenchmarkInject100SM100SSM10S3: one injector process per iteration,
#     100 secrets + 100 SSM parameters + 10 S3 objects, 20 ms per API call;
#   - BenchmarkFleet200: 200 injectors at once against per-operation quotas
#     (always-batch vs the default rule for Secrets Manager, SSM at 40/s);
#     the always-batch run alone takes about six minutes.
# Needs moto_server and MinIO (scripts/test.sh installs MinIO).
#
# Environment: STARTUP_N (pairs per item count, default 40), INJECT_N
# (iterations of the injection benchmark, default 20), FLEET_N (fleet runs,
# default 1), FLEET_QUOTA_DIV (Secrets Manager quota divisor, default 100),
# BENCH_OUT (raw output file).
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$(go env GOPATH)/bin:$PATH"
export INJECTOR_REQUIRE_INTEGRATION=1
STARTUP_N="${STARTUP_N:-40}"
INJECT_N="${INJECT_N:-20}"
FLEET_N="${FLEET_N:-1}"
BENCH_OUT="${BENCH_OUT:-$(mktemp -t injector-bench-XXXXXX.txt)}"

for tool in moto_server minio; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "bench.sh: $tool not found (run scripts/test.sh once to install MinIO)" >&2
		exit 1
	fi
done

{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "load at start: $(cut -d" " -f1-3 /proc/loadavg)"
	echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version)"
	echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (modified)')"
	go test -run '^$' -bench 'BenchmarkStartup$' -benchtime "${STARTUP_N}x" -timeout 30m ./integration/
	go test -run '^$' -bench . -benchtime 20x ./writer/
	go test -run '^$' -bench 'BenchmarkInject100SM100SSM10S3$' -benchtime "${INJECT_N}x" -timeout 30m ./integration/
	go test -run '^$' -bench 'BenchmarkFleet200$' -benchtime "${FLEET_N}x" -timeout 90m ./integration/
} 2>&1 | tee "$BENCH_OUT"

echo
echo "== summary (raw output: $BENCH_OUT) =="
awk '
	/^(date|load at start|machine|commit):/ { print; next }
	/^Benchmark/ {
		name = $1; sub(/-[0-9]+$/, "", name)
		printf "%s (%s iterations)\n", name, $2
		for (i = 3; i < NF; i += 2) printf "  %-24s %s\n", $(i + 1), $i
	}
' "$BENCH_OUT"
