#!/usr/bin/env bash
# tessera's benchmark: speed, memory and scaling, each figure next to a ceiling measured in
# the same run on the same machine. One command:
#
#     bench/run.sh
#
# It builds release, then for SQLite and for PostgreSQL runs every scenario of BENCHMARKS.md
# against `tessera serve` with wrk (and examples/refresh_load for refresh chains), and
# prints a table of figures, ratios and targets. A missed target is reported, never a
# failure: the script exits non-zero only if it could not run at all.
#
# Settings (environment):
#   BENCH_BACKENDS      "sqlite postgres" (default) or one of them
#   BENCH_DURATION      seconds per load run (default 10)
#   BENCH_CONNECTIONS   connections for the protected route and refresh (default 64)
#   BENCH_SCALE         stored sessions for the large scale point (default 1000000)
#   BENCH_PG            PostgreSQL server URL without database
#                       (default postgres://postgres@127.0.0.1:5432)
#   BENCH_PORT          first of three TCP ports to use (default 18080)
#   BENCH_OUT           directory for raw outputs (default bench/results/<timestamp>)
#   BENCH_WARMUP        seconds of unmeasured load before each protected-route run (default 3)
#   BENCH_REPEAT        runs of each refresh scenario; the median is reported (default 3)
#   BENCH_SKIP_BUILD    1 to use the binaries already in target/release
#   BENCH_SERVER_ENV    extra VAR=value words for every tessera server, to try a setting
#                       (e.g. "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072")
#
# Needs: wrk (Debian package `wrk`), curl, and for PostgreSQL a server that lets the user
# create and drop databases. Only 127.0.0.1 is ever contacted.

set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
export BENCH_LUA="$ROOT/bench/lua"

BACKENDS=${BENCH_BACKENDS:-"sqlite postgres"}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-3}
REPEAT=${BENCH_REPEAT:-3}
CONNS=${BENCH_CONNECTIONS:-64}
SCALE=${BENCH_SCALE:-1000000}
SMALL=1000
PG_SERVER=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
PORT=${BENCH_PORT:-18080}
PORT_NOCACHE=$((PORT + 1))
PORT_BARE=$((PORT + 2))
OUT=${BENCH_OUT:-$ROOT/bench/results/$(date +%Y%m%d-%H%M%S)}
WORK=$(mktemp -d /tmp/tessera-bench.XXXXXX)
THREADS=2
LOGIN_CONNS=16
FLOOD_CONNS=256
CHAINS=$CONNS

REL=$ROOT/target/release
TESSERA=$REL/tessera
EX=$REL/examples
mkdir -p "$OUT"
RESULTS=$OUT/results.tsv
: >"$RESULTS"

# Shared by every server of a run, so tokens of one instance verify on another.
SECRET=$(head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n')
PASSWORD="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
PG_DATABASES=()
PIDS=()

say() { printf '\n== %s\n' "$*"; }
die() { echo "bench: $*" >&2; exit 1; }

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    sleep 1
    for pid in "${PIDS[@]}"; do
        kill -9 "$pid" 2>/dev/null
    done
    for db in "${PG_DATABASES[@]}"; do
        psql_admin "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- small helpers ------------------------------------------------------------------------

# The value of KEY in a "RESULT k=v k=v" line.
kv() { grep -o "\b$2=[^ ]*" <<<"$1" | head -1 | cut -d= -f2-; }

# Records one figure: backend, name, value.
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"; }

# Looks a figure up again.
fig() { awk -F'\t' -v b="$1" -v n="$2" '$1 == b && $2 == n { v = $3 } END { print v }' "$RESULTS"; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# VmRSS or VmHWM of a process, in MB.
mem_mb() { awk -v k="$2:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }

# Resets VmHWM to the current RSS (Linux ≥ 4.0, as root or owner), so the next reading is
# the peak of the next scenario alone.
reset_peak() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }

# CPU seconds (user + system) a process has used so far.
cpu_s() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null
}

# CPU seconds the password-hashing threads (named tessera-hash-N) have used so far.
hash_cpu_s() {
    local hz task
    hz=$(getconf CLK_TCK)
    for task in /proc/"$1"/task/*; do
        grep -q '^tessera-hash' "$task/comm" 2>/dev/null && cat "$task/stat"
    done | awk -v hz="$hz" '{ sub(/^.*\) /, ""); t += $12 + $13 } END { printf "%.2f", t / hz }'
}

psql_admin() { psql -X -q -t -A "$PG_SERVER/postgres" -c "$1"; }

# Starts `tessera serve`: NAME URL PORT [ENV=VALUE …]; sets SERVER_PID.
start_server() {
    local name=$1 url=$2 port=$3
    shift 3
    mkdir -p "$WORK/$name"
    env TESSERA_DATA_DIR="$WORK/$name" TESSERA_LOG=warn TESSERA_JWT_SECRET="$SECRET" \
        TESSERA_TRUSTED_PROXIES=127.0.0.1 ${BENCH_SERVER_ENV:-} "$@" \
        "$TESSERA" serve --bind "127.0.0.1:$port" --database "$url" \
        >"$OUT/$name.stdout" 2>"$OUT/$name.stderr" &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    for _ in $(seq 1 300); do
        grep -q "tessera listening" "$OUT/$name.stdout" 2>/dev/null && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$OUT/$name.stderr" >&2
    die "server $name did not start"
}

stop_server() {
    kill "$1" 2>/dev/null
    for _ in $(seq 1 50); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# Logs N sessions of the bench user in; writes their access tokens to FILE, one a line.
login_tokens() {
    local n=$1 file=$2 port=$3
    : >"$file"
    # Four at a time: each login is one Argon2id verification.
    seq 1 "$n" | xargs -P 4 -I{} curl -s -X POST "http://127.0.0.1:$port/api/auth/login" \
        -H 'Content-Type: application/json' \
        -d "{\"username\":\"bench\",\"password\":\"$PASSWORD\"}" -o "$file.{}"
    for i in $(seq 1 "$n"); do
        jq -r '.data.accessToken // empty' "$file.$i" >>"$file"
        rm -f "$file.$i"
    done
    local got
    got=$(grep -c . "$file")
    [ "$got" -eq "$n" ] || die "only $got of $n logins worked"
}

# Runs wrk against a server process and records its figures under BACKEND NAME. With
# --warm, the same load runs WARMUP seconds first, unmeasured, so the figures are those of a
# server in steady state (connections open, database pool grown, caches filled) — for the
# bare ceiling as for tessera.
#   run_wrk BACKEND NAME PID [--warm] -- WRK-ARGS…
run_wrk() {
    local backend=$1 name=$2 pid=$3
    local warm=0
    shift 3
    [ "$1" = --warm ] && { warm=1; shift; }
    [ "$1" = -- ] && shift
    if [ "$warm" = 1 ] && [ "$WARMUP" -gt 0 ]; then
        # The same wrk arguments with the duration replaced.
        wrk "${@/#-d*/-d${WARMUP}s}" >"$OUT/$backend.$name.warmup" 2>&1 ||
            die "warm-up for $name failed: $(head -3 "$OUT/$backend.$name.warmup")"
    fi
    record "$backend" "$name.rss_before_mb" "$(mem_mb "$pid" VmRSS)"
    reset_peak "$pid"
    local cpu0 cpu1 hash0 hash1 line
    cpu0=$(cpu_s "$pid")
    hash0=$(hash_cpu_s "$pid")
    wrk "$@" >"$OUT/$backend.$name.wrk" 2>&1
    cpu1=$(cpu_s "$pid")
    hash1=$(hash_cpu_s "$pid")
    line=$(grep '^RESULT' "$OUT/$backend.$name.wrk")
    [ -n "$line" ] || { cat "$OUT/$backend.$name.wrk"; line="RESULT"; }
    local cores
    cores=$(awk -v a="$cpu0" -v b="$cpu1" -v d="$(kv "$line" seconds)" \
        'BEGIN { if (d > 0) printf "%.2f", (b - a) / d; else print "n/a" }')
    # Errors: non-2xx answers plus every socket error and timeout wrk saw.
    local errors
    errors=$(awk '{ n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^(non2xx|connect_err|read_err|write_err|timeouts)=/) { split($i, kv, "="); n += kv[2] } print n }' <<<"$line")
    for k in per_s p50_ms p99_ms max_ms requests statuses; do
        record "$backend" "$name.$k" "$(kv "$line" "$k")"
    done
    record "$backend" "$name.errors" "$errors"
    record "$backend" "$name.peak_rss_mb" "$(mem_mb "$pid" VmHWM)"
    record "$backend" "$name.server_cores" "$cores"
    # Of those, the hashing threads' share: what a login run has left for Argon2id.
    local hash_cores
    hash_cores=$(awk -v a="$hash0" -v b="$hash1" -v d="$(kv "$line" seconds)" \
        'BEGIN { if (d > 0) printf "%.2f", (b - a) / d; else print "n/a" }')
    record "$backend" "$name.hash_cores" "$hash_cores"
    printf '   %-24s %9s req/s  p50 %7s ms  p99 %7s ms  errors %s  peak RSS %s MB  server %s cores (hashing %s)\n' \
        "$name" "$(kv "$line" per_s)" "$(kv "$line" p50_ms)" "$(kv "$line" p99_ms)" "$errors" \
        "$(mem_mb "$pid" VmHWM)" "$cores" "$hash_cores"
}

# The RESULT line, among several files' ones, whose per_s is the median (the lower middle
# one for an even count).
median_result() {
    grep -h '^RESULT' "$@" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^per_s=/) { split($i, kv, "="); print kv[2] "\t" $0 } }' |
        sort -n | awk -F'\t' '{ line[NR] = $2 } END { if (NR) print line[int((NR + 1) / 2)] }'
}

# Runs examples/refresh_load against a server REPEAT times and records the median run's
# figures (refresh throughput rides on the disk's fsync times, which vary from run to run).
run_refresh() {
    local backend=$1 name=$2 pid=$3 port=$4
    record "$backend" "$name.rss_before_mb" "$(mem_mb "$pid" VmRSS)"
    reset_peak "$pid"
    local cpu0 cpu1 line run runs=() all=""
    cpu0=$(cpu_s "$pid")
    for run in $(seq 1 "$REPEAT"); do
        "$EX/refresh_load" --url "http://127.0.0.1:$port" --username bench --password "$PASSWORD" \
            --chains "$CHAINS" --seconds "$DURATION" >"$OUT/$backend.$name.$run.out" 2>&1
        runs+=("$OUT/$backend.$name.$run.out")
        all="$all${all:+,}$(kv "$(grep '^RESULT' "$OUT/$backend.$name.$run.out")" per_s)"
    done
    cpu1=$(cpu_s "$pid")
    record "$backend" "$name.runs" "$all"
    line=$(median_result "${runs[@]}")
    [ -n "$line" ] || { cat "${runs[@]}"; line="RESULT"; }
    local cores total_s
    total_s=$(grep -h '^RESULT' "${runs[@]}" | grep -o '\bseconds=[0-9.]*' | cut -d= -f2 |
        awk '{ t += $1 } END { print t + 0 }')
    cores=$(awk -v a="$cpu0" -v b="$cpu1" -v d="$total_s" \
        'BEGIN { if (d > 0) printf "%.2f", (b - a) / d; else print "n/a" }')
    for k in per_s p50_ms p99_ms errors statuses relogins; do
        record "$backend" "$name.$k" "$(kv "$line" "$k")"
    done
    record "$backend" "$name.peak_rss_mb" "$(mem_mb "$pid" VmHWM)"
    record "$backend" "$name.server_cores" "$cores"
    printf '   %-24s %9s req/s  p50 %7s ms  p99 %7s ms  errors %s  peak RSS %s MB  server %s cores  (median of %s)\n' \
        "$name" "$(kv "$line" per_s)" "$(kv "$line" p50_ms)" "$(kv "$line" p99_ms)" \
        "$(kv "$line" errors)" "$(mem_mb "$pid" VmHWM)" "$cores" "$all"
}

# ---- build and the machine ----------------------------------------------------------------

command -v wrk >/dev/null || die "wrk is missing: apt-get install -y wrk"
command -v jq >/dev/null || die "jq is missing: apt-get install -y jq"

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    say "building release (the bench examples, then tessera)"
    # Two builds: examples pull in dev-dependencies, whose features (serde_json's
    # preserve_order, for one) would otherwise be unified into the server binary. Built on
    # its own, target/release/tessera is exactly what `cargo build --release` gives.
    cargo build --release --quiet --example bare_server --example refresh_load \
        --example refresh_ceiling --example hash_ceiling --example seed_sessions ||
        die "release build of the bench examples failed"
    cargo build --release --quiet --bin tessera || die "release build of tessera failed"
fi

CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM_GB=$(awk '/^MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
say "machine: $(nproc) cores, $CPU_MODEL, $MEM_GB GB RAM; $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "   raw outputs: $OUT"
record machine nproc "$(nproc)"
record machine cpu "$CPU_MODEL"
record machine mem_gb "$MEM_GB"

# Other processes on the same two cores distort every figure: measure how busy the cores
# are over 3 s while this benchmark itself is idle, and say so when others are using them.
load_note() {
    local a b busy
    a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat)
    sleep 3
    b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat)
    busy=$(awk -v a="$a" -v b="$b" -v n="$(nproc)" 'BEGIN { split(a, x, " "); split(b, y, " ")
        if (y[2] > x[2]) printf "%.2f", n * (y[1] - x[1]) / (y[2] - x[2]); else print 0 }')
    record machine "busy_$1" "$busy"
    awk -v l="$busy" 'BEGIN { exit !(l > 0.15) }' &&
        echo "   WARNING: other processes keep $busy cores busy before $1: figures will be low"
}
load_note start

# ---- login ceiling: Argon2id on both cores, nothing else running ------------------------------

say "login ceiling: raw Argon2id verifications, $THREADS threads"
line=$("$EX/hash_ceiling" --threads "$THREADS" --seconds 8 | grep '^RESULT')
echo "   $line"
record all hash_ceiling.per_s "$(kv "$line" verify_per_s)"
record all hash_ceiling.single_verify_ms "$(kv "$line" single_verify_ms)"

# ---- every scenario, per database -----------------------------------------------------------

for backend in $BACKENDS; do
    case $backend in
    sqlite)
        URL="sqlite://$WORK/sqlite/tessera.db"
        CEILING_URL="sqlite://$WORK/sqlite-ceiling/ceiling.db"
        ;;
    postgres)
        db="tessera_bench_$$"
        psql_admin "CREATE DATABASE $db" || die "cannot create PostgreSQL database $db"
        psql_admin "CREATE DATABASE ${db}_ceiling" || die "cannot create ${db}_ceiling"
        PG_DATABASES+=("$db" "${db}_ceiling")
        URL="$PG_SERVER/$db"
        CEILING_URL="$PG_SERVER/${db}_ceiling"
        ;;
    *) die "unknown backend $backend" ;;
    esac

    say "$backend: start, idle memory"
    load_note "$backend"
    # A: the default configuration (2 s session cache), used for most scenarios.
    start_server "$backend-a" "$URL" "$PORT"
    A=$SERVER_PID
    sleep 3
    record "$backend" idle_first_start.rss_mb "$(mem_mb "$A" VmRSS)"
    record "$backend" idle_first_start.peak_rss_mb "$(mem_mb "$A" VmHWM)"
    echo "   first start (empty database, creates admin): RSS $(mem_mb "$A" VmRSS) MB, peak $(mem_mb "$A" VmHWM) MB"

    for user in bench victim; do
        printf '%s\n' "$PASSWORD" | env TESSERA_LOG=warn TESSERA_DATA_DIR="$WORK/$backend-a" \
            "$TESSERA" user add "$user" --role editor --password-stdin --database "$URL" \
            >/dev/null || die "cannot create user $user"
    done
    line=$("$EX/seed_sessions" --database "$URL" --sessions "$SMALL" --properties 20 | grep '^RESULT')
    echo "   seeded: ${line:-FAILED (the 1 k figures below have fewer stored sessions)}"

    # B: the same database with the session cache off: every access-token check reads the
    # session from the database. Its start is the "restart on an existing database" case.
    start_server "$backend-b" "$URL" "$PORT_NOCACHE" TESSERA_SESSION_CACHE_TTL=0
    B=$SERVER_PID
    sleep 3
    record "$backend" idle.rss_mb "$(mem_mb "$B" VmRSS)"
    record "$backend" idle.peak_rss_mb "$(mem_mb "$B" VmHWM)"
    echo "   start on an existing database: RSS $(mem_mb "$B" VmRSS) MB, peak $(mem_mb "$B" VmHWM) MB"

    TOKENS=$WORK/$backend.tokens
    login_tokens "$CONNS" "$TOKENS" "$PORT"
    curl -s -H "Authorization: Bearer $(head -1 "$TOKENS")" \
        "http://127.0.0.1:$PORT/api/properties" >"$WORK/page.json"
    jq -e '.success and (.data.items | length) == 20' "$WORK/page.json" >/dev/null ||
        die "GET /api/properties did not answer a full page: $(head -c 300 "$WORK/page.json")"
    record "$backend" page_bytes "$(wc -c <"$WORK/page.json")"

    say "$backend: protected route ceiling (bare axum handler, same JSON, same load)"
    "$EX/bare_server" --bind "127.0.0.1:$PORT_BARE" --body "$WORK/page.json" >/dev/null 2>&1 &
    BARE=$!
    PIDS+=("$BARE")
    for _ in $(seq 1 50); do
        curl -s -o /dev/null "http://127.0.0.1:$PORT_BARE/api/properties" && break
        sleep 0.1
    done
    run_wrk "$backend" bare "$BARE" --warm -- -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 5s \
        -s "$BENCH_LUA/bearer.lua" "http://127.0.0.1:$PORT_BARE/api/properties" -- "$TOKENS"
    stop_server "$BARE"

    for point in small large; do
        if [ "$point" = large ]; then
            say "$backend: seeding to $SCALE stored sessions"
            line=$("$EX/seed_sessions" --database "$URL" --sessions $((SCALE - SMALL)) | grep '^RESULT')
            echo "   $line"
            record "$backend" seed_large.seconds "$(kv "$line" seconds)"
            record "$backend" seed_large.total_sessions "$(kv "$line" total_sessions)"
            tag=1m
        else
            tag=1k
        fi
        say "$backend: protected route and refresh, $tag stored sessions"
        run_wrk "$backend" "protected_$tag" "$A" --warm -- -t"$THREADS" -c"$CONNS" -d"${DURATION}s" \
            --timeout 5s -s "$BENCH_LUA/bearer.lua" "http://127.0.0.1:$PORT/api/properties" -- "$TOKENS"
        run_wrk "$backend" "me_$tag" "$A" --warm -- -t"$THREADS" -c"$CONNS" -d"${DURATION}s" \
            --timeout 5s -s "$BENCH_LUA/bearer.lua" "http://127.0.0.1:$PORT/api/auth/me" -- "$TOKENS"
        run_wrk "$backend" "protected_nocache_$tag" "$B" --warm -- -t"$THREADS" -c"$CONNS" \
            -d"${DURATION}s" --timeout 5s -s "$BENCH_LUA/bearer.lua" \
            "http://127.0.0.1:$PORT_NOCACHE/api/properties" -- "$TOKENS"
        run_refresh "$backend" "refresh_$tag" "$A" "$PORT"

        [ "$point" = large ] && break

        say "$backend: refresh ceiling (Store::rotate_refresh_token, $CHAINS chains, no HTTP), median of $REPEAT"
        runs=()
        all=""
        for run in $(seq 1 "$REPEAT"); do
            "$EX/refresh_ceiling" --database "$CEILING_URL" --chains "$CHAINS" \
                --sessions "$SMALL" --seconds "$DURATION" \
                >"$OUT/$backend.refresh_ceiling.$run.out" 2>"$OUT/$backend.refresh_ceiling.$run.err"
            runs+=("$OUT/$backend.refresh_ceiling.$run.out")
            all="$all${all:+,}$(kv "$(grep '^RESULT' "$OUT/$backend.refresh_ceiling.$run.out")" per_s)"
        done
        record "$backend" refresh_ceiling.runs "$all"
        line=$(median_result "${runs[@]}")
        echo "   $line  (runs: $all)"
        for k in per_s p50_ms p99_ms errors; do
            record "$backend" "refresh_ceiling.$k" "$(kv "$line" "$k")"
        done

        # Login runs alternate with ceiling runs (C L C L C L C), and each login run is
        # compared with the mean of the ceilings just before and just after it: this
        # machine's speed drifts by several percent over minutes, and the neighbours see the
        # same machine as the run between them. The median of those ratios is reported.
        say "$backend: login with the correct password, $LOGIN_CONNS connections, $REPEAT runs between $((REPEAT + 1)) login ceilings"
        ceiling() {
            local line
            line=$("$EX/hash_ceiling" --threads "$THREADS" --seconds 6 | grep '^RESULT')
            echo "   $line" >&2
            kv "$line" verify_per_s
        }
        hashes=$(ceiling)
        before=$hashes
        logins=""
        pair_ratios=""
        for run in $(seq 1 "$REPEAT"); do
            run_wrk "$backend" "login_$run" "$A" -- -t"$THREADS" -c"$LOGIN_CONNS" -d"${DURATION}s" \
                --timeout 10s -s "$BENCH_LUA/login.lua" \
                "http://127.0.0.1:$PORT/api/auth/login" -- bench "$PASSWORD"
            after=$(ceiling)
            hashes="$hashes $after"
            login=$(fig "$backend" "login_$run.per_s")
            # A ceiling run that failed (empty) leaves the other neighbour alone.
            pair=$(awk -v l="$login" -v a="$before" -v b="$after" 'BEGIN {
                n = (a > 0) + (b > 0)
                if (n > 0 && l != "") printf "%.3f", l * n / (a + b); else print "n/a" }')
            mean=$(awk -v a="$before" -v b="$after" 'BEGIN { n = (a > 0) + (b > 0)
                if (n > 0) printf "%.1f", (a + b) / n; else print "n/a" }')
            logins="$logins $login:$run:$pair:$mean"
            pair_ratios="$pair_ratios${pair_ratios:+,}$pair"
            before=$after
        done
        median_of() { tr ' ,' '\n\n' <<<"$1" | grep -E '^[0-9.]+$' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
        record "$backend" hash_ceiling.runs "$(echo $hashes | tr ' ' ',')"
        record "$backend" hash_ceiling.per_s "$(median_of "$hashes")"
        # The login run whose ratio to its neighbours is the median one.
        median_line=$(tr ' ' '\n' <<<"$logins" | grep -E '^[0-9.]+:[0-9]+:[0-9.]+:' |
            sort -t: -k3,3n | awk '{ r[NR] = $0 } END { print r[int((NR + 1) / 2)] }')
        median_run=$(cut -d: -f2 <<<"$median_line")
        record "$backend" login.ceiling_per_s "$(cut -d: -f4 <<<"$median_line")"
        for k in per_s p50_ms p99_ms max_ms requests statuses errors peak_rss_mb server_cores \
            hash_cores; do
            record "$backend" "login.$k" "$(fig "$backend" "login_$median_run.$k")"
        done
        record "$backend" login.ratio "$(median_of "$pair_ratios")"
        record "$backend" login.ratios "$pair_ratios"
        record "$backend" login.runs "$(tr ' ' '\n' <<<"$logins" | grep . | cut -d: -f1 | paste -sd,)"
        echo "   login / neighbouring ceilings: $pair_ratios (median $(fig "$backend" login.ratio))"

        for mode in botnet single; do
            say "$backend: login flood ($mode), $FLOOD_CONNS connections, protected route probed meanwhile"
            # The prober: 2 connections, each one request every 50 ms (about 40 req/s).
            # It starts a second after the flood and stops a second before it.
            (sleep 1; exec wrk -t1 -c2 -d"$((DURATION - 2))s" --timeout 10s \
                -s "$BENCH_LUA/probe.lua" "http://127.0.0.1:$PORT/api/properties" \
                -- "$TOKENS" 50) >"$OUT/$backend.flood_$mode.probe" 2>&1 &
            PROBE=$!
            # Sample RSS during the flood as well as the peak.
            (while kill -0 "$PROBE" 2>/dev/null; do mem_mb "$A" VmRSS; echo; sleep 0.25; done) \
                >"$OUT/$backend.flood_$mode.rss" &
            SAMPLER=$!
            run_wrk "$backend" "flood_$mode" "$A" -- -t"$THREADS" -c"$FLOOD_CONNS" \
                -d"${DURATION}s" --timeout 10s -s "$BENCH_LUA/flood.lua" \
                "http://127.0.0.1:$PORT/" -- "$mode" victim
            wait "$PROBE"
            kill "$SAMPLER" 2>/dev/null
            wait "$SAMPLER" 2>/dev/null
            line=$(grep '^RESULT' "$OUT/$backend.flood_$mode.probe")
            for k in per_s p50_ms p99_ms max_ms requests non2xx timeouts statuses; do
                record "$backend" "flood_$mode.probe_$k" "$(kv "$line" "$k")"
            done
            printf '   %-24s %9s req/s  p50 %7s ms  p99 %7s ms  max %s ms  statuses %s\n' \
                "probe during flood" "$(kv "$line" per_s)" "$(kv "$line" p50_ms)" \
                "$(kv "$line" p99_ms)" "$(kv "$line" max_ms)" "$(kv "$line" statuses)"
            echo "   flood statuses: $(fig "$backend" "flood_$mode.statuses")"
        done
    done

    stop_server "$A"
    stop_server "$B"
done

# ---- the table ------------------------------------------------------------------------------

record config backends "$BACKENDS"
record config connections "$CONNS"
record config chains "$CHAINS"
record config login_connections "$LOGIN_CONNS"
record config flood_connections "$FLOOD_CONNS"
record config threads "$THREADS"
record config duration "$DURATION"
record config repeat "$REPEAT"
record config scale "$SCALE"
record config warmup "$WARMUP"
record config finished "$(date -u +%Y-%m-%dT%H:%MZ)"
"$ROOT/bench/report.sh" "$RESULTS" | tee "$OUT/summary.md"
echo
echo "raw figures: $RESULTS (bench/report.sh $RESULTS prints the table again)"
