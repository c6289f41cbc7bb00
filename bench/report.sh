#!/usr/bin/env bash
# Prints the results table of one bench/run.sh run from its results.tsv (backend, figure,
# value per line): every figure next to its ceiling, the ratio, the target, and whether the
# target is met. A missed target is reported, never an error.
#
#     bench/report.sh bench/results/<run>/results.tsv

set -uo pipefail
RESULTS=${1:?usage: bench/report.sh RESULTS.tsv}
[ -r "$RESULTS" ] || { echo "bench/report.sh: cannot read $RESULTS" >&2; exit 1; }

fig() { awk -F'\t' -v b="$1" -v n="$2" '$1 == b && $2 == n { v = $3 } END { print v }' "$RESULTS"; }
cfg() { local v; v=$(fig config "$1"); echo "${v:-$2}"; }
# The large scale point as a label: "1 M" for the default 1000000, else the number.
big() {
    local n
    n=$(cfg scale 1000000)
    if [ "$n" = 1000000 ]; then echo "1 M"; else echo "$n"; fi
}
# Three decimals, so a ratio just under a target never prints as the target itself.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.3f", a / b; else print "n/a" }'; }

# Server CPU time per request in µs: cores busy / requests per second.
cpu_us() { awk -v c="$1" -v r="$2" 'BEGIN { if (c != "" && r > 0) printf "%.0f", 1e6 * c / r; else print "n/a" }'; }

yes_no() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
    if (v == "" || v == "n/a") { print "n/a"; exit }
    ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 <= t + 0)
    print ok ? "met" : "**missed**" }'; }

# share STATUS-LIST CODE: the fraction of answers that had status CODE.
share() {
    awk -v s="$1" -v c="$2" 'BEGIN { n = split(s, parts, ","); total = 0; hit = 0
        for (i = 1; i <= n; i++) { split(parts[i], kv, ":"); total += kv[2]; if (kv[1] == c) hit += kv[2] }
        if (total > 0) printf "%.0f%%", 100 * hit / total; else print "n/a" }'
}

BACKENDS=$(cfg backends "sqlite postgres")
CONNS=$(cfg connections 64)
CHAINS=$(cfg chains 64)
LOGIN_CONNS=$(cfg login_connections 16)
FLOOD_CONNS=$(cfg flood_connections 256)
THREADS=$(cfg threads 2)
NPROC=$(fig machine nproc)

echo "## Results ($(cfg finished "?"), $NPROC cores, $(fig machine cpu), $(fig machine mem_gb) GB)"
echo
busy="start $(fig machine busy_start)"
for b in $BACKENDS; do busy="$busy, before $b $(fig machine "busy_$b")"; done
echo "Cores kept busy by other processes (3 s sample while the benchmark was idle): $busy."
echo
for backend in $BACKENDS; do
    f() { fig "$backend" "$1"; }
    bare=$(f bare.per_s)
    p1k=$(f protected_1k.per_s)
    p1m=$(f protected_1m.per_s)
    n1k=$(f protected_nocache_1k.per_s)
    n1m=$(f protected_nocache_1m.per_s)
    r1k=$(f refresh_1k.per_s)
    r1m=$(f refresh_1m.per_s)
    rc=$(f refresh_ceiling.per_s)
    login=$(f login.per_s)
    # The ceiling measured just before this backend's logins, else the one at the start.
    hash=$(f hash_ceiling.per_s)
    [ -n "$hash" ] || hash=$(fig all hash_ceiling.per_s)
    pratio=$(ratio "$p1k" "$bare")
    rratio=$(ratio "$r1k" "$rc")
    # Login is compared with the ceilings measured just before and after each run (run.sh):
    # the reported ratio is the median run's, over the mean of its two neighbours.
    lratio=$(f login.ratio)
    lceiling=$(f login.ceiling_per_s)
    if [ -z "$lratio" ]; then
        lratio=$(ratio "$login" "$hash")
        lceiling="$hash"
    fi
    # "1 M takes at most 1.2× the time of 1 k": time per request ∝ 1 / throughput.
    pscale=$(ratio "$p1k" "$p1m")
    nscale=$(ratio "$n1k" "$n1m")
    rscale=$(ratio "$r1k" "$r1m")
    echo "### $backend"
    echo
    echo "| scenario | figure | ceiling (same run) | ratio | target | |"
    echo "|---|---|---|---|---|---|"
    echo "| protected route \`GET /api/properties\`, $CONNS conns, 1 k sessions | $p1k req/s, p50 $(f protected_1k.p50_ms) ms, p99 $(f protected_1k.p99_ms) ms, $(f protected_1k.errors) errors | bare axum handler $bare req/s, p99 $(f bare.p99_ms) ms | $pratio | ≥ 0.50 | $(yes_no "$pratio" '>=' 0.5) |"
    echo "| protected route p99 | $(f protected_1k.p99_ms) ms | | | < 10 ms | $(yes_no "$(f protected_1k.p99_ms)" '<=' 9.999) |"
    echo "| auth alone \`GET /api/auth/me\`, 1 k | $(f me_1k.per_s) req/s, p99 $(f me_1k.p99_ms) ms | bare $bare req/s | $(ratio "$(f me_1k.per_s)" "$bare") | (info) | |"
    echo "| protected route, session cache off, 1 k | $n1k req/s, p99 $(f protected_nocache_1k.p99_ms) ms | bare $bare req/s | $(ratio "$n1k" "$bare") | (info) | |"
    echo "| refresh, $CHAINS chains, 1 k sessions | $r1k req/s, p50 $(f refresh_1k.p50_ms) ms, p99 $(f refresh_1k.p99_ms) ms, $(f refresh_1k.errors) errors | DB alone $rc rotations/s, p99 $(f refresh_ceiling.p99_ms) ms | $rratio | ≥ 0.50 | $(yes_no "$rratio" '>=' 0.5) |"
    echo "| login, correct password, $LOGIN_CONNS conns | $login req/s, p99 $(f login.p99_ms) ms, $(f login.errors) errors; hashing threads busy $(f login.hash_cores) cores | Argon2id verify on $THREADS threads $lceiling /s (its neighbouring runs) | $lratio | ≥ 0.90 | $(yes_no "$lratio" '>=' 0.9) |"
    for mode in botnet single; do
        st=$(f "flood_$mode.statuses")
        answered=met
        [ "$(f "flood_$mode.probe_requests")" -gt 0 ] 2>/dev/null || answered="**missed**"
        [ "$(f "flood_$mode.probe_non2xx")" = 0 ] || answered="**missed**"
        [ "$(f "flood_$mode.probe_timeouts")" = 0 ] || answered="**missed**"
        echo "| flood ($mode), $FLOOD_CONNS conns, wrong passwords: peak RSS | $(f "flood_$mode.peak_rss_mb") MB (before: $(f "flood_$mode.rss_before_mb") MB); $(f "flood_$mode.per_s") answers/s: 401 $(share "$st" 401), 429 $(share "$st" 429), 503 $(share "$st" 503) | | | < 300 MB | $(yes_no "$(f "flood_$mode.peak_rss_mb")" '<=' 299.99) |"
        echo "| flood ($mode): protected route meanwhile | $(f "flood_$mode.probe_requests") requests, p50 $(f "flood_$mode.probe_p50_ms") ms, p99 $(f "flood_$mode.probe_p99_ms") ms, max $(f "flood_$mode.probe_max_ms") ms, $(f "flood_$mode.probe_non2xx") non-2xx, $(f "flood_$mode.probe_timeouts") timeouts | | | keeps answering | $answered |"
    done
    echo "| idle RSS after start | $(f idle.rss_mb) MB on an existing database (peak $(f idle.peak_rss_mb) MB); $(f idle_first_start.rss_mb) MB on first start | | | < 40 MB | $(yes_no "$(f idle.rss_mb)" '<=' 39.99) |"
    echo "| protected route, $(big) sessions | $p1m req/s, p99 $(f protected_1m.p99_ms) ms | 1 k: $p1k req/s | time ×$pscale | ≤ 1.20 | $(yes_no "$pscale" '<=' 1.2) |"
    echo "| protected route, cache off, $(big) sessions | $n1m req/s, p99 $(f protected_nocache_1m.p99_ms) ms | 1 k: $n1k req/s | time ×$nscale | (info) | |"
    echo "| refresh, $(big) sessions | $r1m req/s, p99 $(f refresh_1m.p99_ms) ms, $(f refresh_1m.errors) errors | 1 k: $r1k req/s | time ×$rscale | ≤ 1.20 | $(yes_no "$rscale" '<=' 1.2) |"
    echo
    echo "Medians of $(cfg repeat 3) runs: refresh 1 k $(f refresh_1k.runs), $(big) $(f refresh_1m.runs), DB ceiling $(f refresh_ceiling.runs) (req/s); login $(f login.runs) between Argon2id ceilings $(f hash_ceiling.runs) (/s), each login run over the mean of its two neighbours: $(f login.ratios). The protected-route runs follow $(cfg warmup 3) s of unmeasured load."
    echo
    echo "Server CPU per request (cores busy ÷ req/s): bare $(cpu_us "$(f bare.server_cores)" "$bare") µs, protected $(cpu_us "$(f protected_1k.server_cores)" "$p1k") µs, /me $(cpu_us "$(f me_1k.server_cores)" "$(f me_1k.per_s)") µs, cache off $(cpu_us "$(f protected_nocache_1k.server_cores)" "$n1k") µs, refresh $(cpu_us "$(f refresh_1k.server_cores)" "$r1k") µs, login $(cpu_us "$(f login.server_cores)" "$login") µs. Seeding $(f seed_large.total_sessions) sessions took $(f seed_large.seconds) s."
    echo
done
