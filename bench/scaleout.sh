#!/usr/bin/env bash
# Scale-out benchmark (issue 16): the same workloads against
#   1. berth embedded (filesystem + SQLite) and Distribution on its filesystem,
#   2. berth on PostgreSQL + versitygw and Distribution v3.1.2 on its S3 driver
#      against the same versitygw,
#   3. berth on PostgreSQL + versitygw with pull redirects (bytes bypass it),
#   4. manifest GETs round-robin over 1, 2 and 3 berth nodes on that store,
# sampling berth's PostgreSQL connections during run 2. Reports go to
# $OUT (default /tmp/berth-scaleout-bench). Extra arguments go to every
# bench run (sizes: -blob-mib, -manifests, -rss-blob-mib, -rounds).
#
#   cd bench && ./scaleout.sh -blob-mib 256 -manifests 1000 -rss-blob-mib 256
set -euo pipefail
cd "$(dirname "$0")"
out=${OUT:-/tmp/berth-scaleout-bench}
mkdir -p "$out"
work=$(mktemp -d)
sampler=""
source ../.ci/scaleout-env.sh
trap '[ -n "$sampler" ] && kill "$sampler" 2>/dev/null; stop_scaleout; rm -rf "$work"' EXIT
start_scaleout "$work"
export BENCH_S3_ACCESS_KEY="$SCALEOUT_S3_ACCESS_KEY" BENCH_S3_SECRET_KEY="$SCALEOUT_S3_SECRET_KEY"

berth_bin="$work/berth-server"
(cd .. && GOEXPERIMENT=jsonv2 go build -o "$berth_bin" ./examples/server)
base_args="-log-level error -auth=false"

echo "== 1. embedded berth vs Distribution (filesystem)"
go run . -berth-bin "$berth_bin" -auth-section=false -out "$out/1-embedded.md" "$@"

echo "== 2. berth on PostgreSQL + versitygw vs Distribution on S3 (versitygw)"
( max=0; while sleep 0.5; do n=$(scaleout_connections || echo 0); [ "${n:-0}" -gt "$max" ] && max=$n && echo "$max" >"$out/pg-connections-max"; done ) &
sampler=$!
go run . -berth-bin "$berth_bin" -auth-section=false -out "$out/2-scaleout.md" \
  -s3-endpoint "$SCALEOUT_S3_ENDPOINT" -s3-bucket "$SCALEOUT_S3_BUCKET" \
  -berth-args "$base_args ${scaleout_flags[*]}" "$@"
kill "$sampler" 2>/dev/null; sampler=""
echo "most PostgreSQL connections held by the berth node during run 2: $(cat "$out/pg-connections-max" 2>/dev/null || echo '?')"

echo "== 3. berth on PostgreSQL + versitygw, pull redirects on"
go run . -berth-bin "$berth_bin" -auth-section=false -peers berth -out "$out/3-redirect.md" \
  -berth-args "$base_args ${scaleout_flags[*]} -storage-s3-redirect" "$@"
echo "== 4. manifest GETs round-robin over 1, 2 and 3 nodes on PostgreSQL + versitygw"
go run . -berth-bin "$berth_bin" -nodes-get 3 -out "$out/4-nodes.md" \
  -berth-args "$base_args ${scaleout_flags[*]}" "$@"
echo "reports in $out"
