#!/usr/bin/env bash
# What each runtime setting buys: this broker under several settings, same load tool, same pinning as
# run-side-by-side.sh (broker on core 0, load tool on core 1), rotating the variants for N rounds.
#
#   Broker.Bench/run-settings.sh [--rounds 2] [--warmup 2] [--duration 5] [--variants shipped,pool-io]
#                                [--out Broker.Bench/results/runtime-settings.md]
#
# Variants are environment variables or broker flags on top of the shipped configuration (Broker.Server.csproj and
# the defaults of Broker.Server): see the table below.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
rounds=2
warmup=2
duration=5
out="$here/results/runtime-settings.md"
only=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds) rounds="$2"; shift 2 ;;
        --warmup) warmup="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --variants) only="$2"; shift 2 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "run-settings: unknown option $1" >&2; exit 2 ;;
    esac
done

# key | description | environment (space-separated NAME=VALUE, or -) | extra broker flags (or -)
variants=(
    "shipped|as shipped|-|-"
    "server-gc|server GC (DOTNET_gcServer=1)|DOTNET_gcServer=1|-"
    "non-concurrent-gc|workstation GC, not concurrent (DOTNET_gcConcurrent=0)|DOTNET_gcConcurrent=0|-"
    "tiering-pgo|tiered compilation and dynamic PGO (.NET's default)|DOTNET_TieredCompilation=1 DOTNET_TieredPGO=1|-"
    "tiering-no-pgo|tiered compilation without dynamic PGO|DOTNET_TieredCompilation=1 DOTNET_TieredPGO=0|-"
    "tp-spin|thread-pool workers spin before parking (.NET's default)|DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=70|-"
    "pool-io|thread-pool I/O (--inline-io false)|-|--inline-io false"
)
if [[ -n $only ]]; then
    kept=()
    for v in "${variants[@]}"; do [[ ",$only," == *",${v%%|*},"* ]] && kept+=("$v"); done
    [[ ${#kept[@]} -gt 0 ]] || { echo "run-settings: no variant in --variants $only" >&2; exit 2; }
    variants=("${kept[@]}")
fi
# key | title | load tool arguments | jq figure | figure name
scenarios=(
    "fan-in-q0|fan-in QoS 0, 8 -> 1|fan-in --qos 0|.delivered_per_s|msg/s"
    "pairs-q1|50 pairs QoS 1|pairs --qos 1|.delivered_per_s|msg/s"
    "fan-out-q0|fan-out QoS 0, 1 -> 100|fan-out --qos 0|.delivered_per_s|msg/s"
    "latency-p50|1 pair at 1,000 msg/s, p50|latency --rate 1000|.latency_p50_us|µs"
    "latency-p99|1 pair at 1,000 msg/s, p99|latency --rate 1000|.latency_p99_us|µs"
    "idle-10k|10,000 idle connections, connect rate|idle --connections 10000|.connects_per_s|conn/s"
)

log() { printf '[settings] %s\n' "$*" >&2; }
command -v jq >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq jq >/dev/null; }
pin_broker=(taskset -c 0)
pin_tool=(taskset -c 1)
[[ $(nproc) -ge 2 ]] || { pin_broker=(); pin_tool=(); }

log "building Broker.Server and Broker.Bench (Release)"
dotnet build "$root/Broker.Server/Broker.Server.csproj" -c Release -nologo -v quiet >/dev/null
dotnet build "$root/Broker.Bench/Broker.Bench.csproj" -c Release -nologo -v quiet >/dev/null
server_dll="$root/Broker.Server/bin/Release/net10.0/Broker.Server.dll"
bench_dll="$root/Broker.Bench/bin/Release/net10.0/Broker.Bench.dll"
work="$(mktemp -d "${TMPDIR:-/tmp}/settings.XXXXXX")"
pid=""
stop() { [[ -n "$pid" ]] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }; pid=""; }
trap stop EXIT
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

started_at="$(date -u '+%Y-%m-%d %H:%M UTC')"
load_at_start="$(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$rounds"); do
    for s in "${scenarios[@]}"; do
        IFS='|' read -r skey _ sargs _ _ <<<"$s"
        [[ $skey == latency-p99 ]] && continue   # the p50 run gives both
        n=${#variants[@]}
        for i in $(seq 0 $((n - 1))); do
            IFS='|' read -r vkey _ venv vflags <<<"${variants[$(( (i + round - 1) % n ))]}"
            port=$((23000 + RANDOM % 900))
            port_in_use "$port" && continue
            envs=(); [[ $venv != - ]] && read -r -a envs <<<"$venv"
            flags=(); [[ $vflags != - ]] && read -r -a flags <<<"$vflags"
            env "${envs[@]}" "${pin_broker[@]}" dotnet "$server_dll" --bind 127.0.0.1 --mqtt-port "$port" --log-level warning \
                --max-mqueue-len 1000000 --max-inflight 1024 --max-awaiting-rel 65535 --data-dir "$work/data" "${flags[@]}" \
                >"$work/$vkey.log" 2>&1 &
            pid=$!
            for _ in $(seq 100); do port_in_use "$port" && break; sleep 0.1; done
            sleep 1
            log "round $round/$rounds  $skey  $vkey"
            # shellcheck disable=SC2086
            "${pin_tool[@]}" dotnet "$bench_dll" load $sargs --port "$port" --warmup "$warmup" --duration "$duration" \
                --broker-pid "$pid" --json "$work/$skey.$vkey.$round.json" >/dev/null 2>&1 || log "  (load tool reported a problem)"
            stop
            sleep 0.5
        done
    done
done

median() {   # median FILE-PREFIX JQ
    local files=("$work/$1".*.json)
    [[ -e "${files[0]}" ]] || { echo ""; return; }
    jq -s "[.[] | ($2) | select(. != null)] | sort | if length == 0 then empty elif length % 2 == 1 then .[(length - 1) / 2]
        else (.[length / 2 - 1] + .[length / 2]) / 2 end" "${files[@]}"
}
{
    echo "# Runtime settings: what each one buys"
    echo
    echo "Produced by \`Broker.Bench/run-settings.sh --rounds $rounds --warmup $warmup --duration $duration${only:+ --variants $only}\` on $started_at,"
    echo "commit \`$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)\`, load average at start $load_at_start."
    echo "Medians of $rounds round(s), broker pinned to core 0, load tool to core 1, 64-byte payloads, MQTT 3.1.1."
    echo "Each cell is the figure and, in brackets, its ratio to *as shipped* (for latency, below 1 is better)."
    echo
    header="| setting"; rule="| ---"
    for s in "${scenarios[@]}"; do IFS='|' read -r _ title _ _ unit <<<"$s"; header+=" | $title ($unit)"; rule+=" | ---"; done
    echo "$header | broker RSS MB (fan-out) |"; echo "$rule | --- |"
    for v in "${variants[@]}"; do
        IFS='|' read -r vkey vdesc _ _ <<<"$v"
        line="| $vdesc"
        for s in "${scenarios[@]}"; do
            IFS='|' read -r skey _ _ jqf _ <<<"$s"
            file="$skey"; [[ $skey == latency-p99 ]] && file="latency-p50"
            val="$(median "$file.$vkey" "$jqf")"; base="$(median "$file.shipped" "$jqf")"
            if [[ -z "$val" ]]; then line+=" | n/a"; continue; fi
            line+=" | $(LC_ALL=C printf "%'.0f" "$val") ($(awk -v a="$val" -v b="$base" 'BEGIN { if (b == 0 || b == "") print "n/a"; else printf "%.2f", a / b }'))"
        done
        rss="$(median "fan-out-q0.$vkey" '.broker_rss_bytes / 1048576')"
        line+=" | ${rss:+$(LC_ALL=C printf '%.0f' "$rss")} |"
        echo "$line"
    done
} >"$out"
log "wrote $out (raw results in $work)"
