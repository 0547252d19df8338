# Sourced by .ci/conformance and bench/scaleout.sh: start_scaleout DIR
# starts a throw-away PostgreSQL (as the postgres user when run as root:
# it refuses root) and versitygw over DIR/s3, and sets
#   SCALEOUT_PG_URL, SCALEOUT_PG_BIN, SCALEOUT_S3_ENDPOINT, SCALEOUT_S3_BUCKET,
#   SCALEOUT_S3_ACCESS_KEY, SCALEOUT_S3_SECRET_KEY, SCALEOUT_SECRET_KEY_FILE
# and the array scaleout_flags: the berth server's flags for them (the S3
# secret goes through BERTH_STORAGE_S3_SECRET_KEY, exported, not argv).
# stop_scaleout stops both; call it from the caller's EXIT trap.
scaleout_pgdir="" scaleout_s3_pid=""

scaleout_freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_scaleout() {
  local dir="$1" pgport s3port as=()
  SCALEOUT_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$SCALEOUT_PG_BIN" ] && [ -x "$SCALEOUT_PG_BIN/initdb" ] || { echo "FATAL: PostgreSQL is not installed" >&2; exit 1; }
  command -v versitygw >/dev/null || { echo "FATAL: versitygw is not installed" >&2; exit 1; }
  scaleout_pgdir=$(mktemp -d /tmp/berth-scaleout-pg.XXXXXX)
  if [ "$(id -u)" = 0 ]; then chown postgres "$scaleout_pgdir"; as=(runuser -u postgres --); fi
  "${as[@]}" "$SCALEOUT_PG_BIN/initdb" -D "$scaleout_pgdir/data" -U postgres -A trust -E UTF8 --no-sync \
    >"$scaleout_pgdir/initdb.log" 2>&1 || { cat "$scaleout_pgdir/initdb.log"; exit 1; }
  pgport=$(scaleout_freeport)
  "${as[@]}" "$SCALEOUT_PG_BIN/postgres" -D "$scaleout_pgdir/data" -p "$pgport" -k "$scaleout_pgdir" \
    -c listen_addresses=127.0.0.1 -c max_connections=200 >"$scaleout_pgdir/postgres.log" 2>&1 &
  for _ in $(seq 100); do "$SCALEOUT_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$pgport" && break; sleep 0.1; done
  "$SCALEOUT_PG_BIN/createdb" -h 127.0.0.1 -p "$pgport" -U postgres berth || { cat "$scaleout_pgdir/postgres.log"; exit 1; }
  SCALEOUT_PG_URL="postgres://postgres@127.0.0.1:$pgport/berth?sslmode=disable"

  SCALEOUT_S3_BUCKET=berth SCALEOUT_S3_ACCESS_KEY=berthtest SCALEOUT_S3_SECRET_KEY="s3-$RANDOM$RANDOM$RANDOM"
  mkdir -p "$dir/s3/$SCALEOUT_S3_BUCKET" # versitygw's posix backend: a directory is a bucket
  s3port=$(scaleout_freeport)
  SCALEOUT_S3_ENDPOINT="http://127.0.0.1:$s3port"
  ROOT_ACCESS_KEY_ID="$SCALEOUT_S3_ACCESS_KEY" ROOT_SECRET_ACCESS_KEY="$SCALEOUT_S3_SECRET_KEY" \
    versitygw --port "127.0.0.1:$s3port" --region us-east-1 --quiet posix "$dir/s3" >"$dir/s3.log" 2>&1 &
  scaleout_s3_pid=$!
  for _ in $(seq 50); do curl -s -o /dev/null "$SCALEOUT_S3_ENDPOINT/" && break; sleep 0.1; done

  SCALEOUT_SECRET_KEY_FILE="$dir/secret.key"
  head -c 32 /dev/urandom >"$SCALEOUT_SECRET_KEY_FILE"
  export BERTH_STORAGE_S3_SECRET_KEY="$SCALEOUT_S3_SECRET_KEY"
  scaleout_flags=(-data= -secret-key-file "$SCALEOUT_SECRET_KEY_FILE" -database-url "$SCALEOUT_PG_URL"
    -storage-s3-bucket "$SCALEOUT_S3_BUCKET" -storage-s3-endpoint "$SCALEOUT_S3_ENDPOINT" -storage-s3-path-style
    -storage-s3-access-key "$SCALEOUT_S3_ACCESS_KEY" -storage-s3-prefix berth/)
}

# scaleout_connections prints how many connections berth holds to PostgreSQL.
scaleout_connections() {
  local hostport="${SCALEOUT_PG_URL#postgres://postgres@}"; hostport="${hostport%%/*}"
  "$SCALEOUT_PG_BIN/psql" -qtA -h "${hostport%:*}" -p "${hostport#*:}" -U postgres -d berth \
    -c "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = 'berth' AND pid <> pg_backend_pid()"
}

stop_scaleout() {
  [ -n "$scaleout_s3_pid" ] && kill "$scaleout_s3_pid" 2>/dev/null
  if [ -n "$scaleout_pgdir" ] && [ -f "$scaleout_pgdir/data/postmaster.pid" ]; then
    kill -INT "$(head -1 "$scaleout_pgdir/data/postmaster.pid")" 2>/dev/null; sleep 1
  fi
  [ -n "$scaleout_pgdir" ] && rm -rf "$scaleout_pgdir"
  return 0
}
