#!/usr/bin/env bash
# Side-by-side: this broker (Broker.Server) against mosquitto and aedes, same load tool, same settings.
#
#   Broker.Bench/run-side-by-side.sh [--rounds 3] [--latency-rounds 7] [--warmup 2] [--duration 10]
#                                    [--only KEY[,KEY...]] [--no-aedes] [--out Broker.Bench/RESULTS.md] [--note TEXT]
#
# Each round runs every scenario against every broker, rotating which goes first. Every (round, scenario, broker)
# gets a freshly started broker, so queues and RSS never carry over. Brokers are pinned to core 0, the load tool to
# core 1 (when there are at least 2 cores). Writes a markdown table of medians and ratios to --out.
# The latency scenario runs more rounds (--latency-rounds): its p99 is decided by the 1 % of samples that host stalls
# reach, which changes from one 10 s window to the next far more than throughput does (results/latency.md).
# mosquitto comes from Debian packages; aedes 1.2 (Node.js) from npm into Broker.Bench/aedes/node_modules, and is
# left out when node or npm is missing (or with --no-aedes).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

rounds=3
latency_rounds=7
warmup=2
duration=10
only=""
out="$here/RESULTS.md"
note=""
with_aedes=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds) rounds="$2"; shift 2 ;;
        --latency-rounds) latency_rounds="$2"; shift 2 ;;
        --warmup) warmup="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --only) only="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --note) note="$2"; shift 2 ;;
        --no-aedes) with_aedes=0; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "run-side-by-side: unknown option $1" >&2; exit 2 ;;
    esac
done

# key | title | load tool arguments
scenarios=(
    "fan-in-q0|fan-in QoS 0, 8 -> 1|fan-in --qos 0"
    "fan-in-q1|fan-in QoS 1, 8 -> 1, window 64|fan-in --qos 1 --window 64"
    "pairs-q1|50 pairs QoS 1|pairs --qos 1"
    "fan-out-q0|fan-out QoS 0, 1 -> 100|fan-out --qos 0"
    "idle-10k|10,000 idle connections|idle --connections 10000"
    "latency-1k|1 pair at 1,000 msg/s QoS 0|latency --rate 1000"
    "fan-out-share|fan-out QoS 0, 1 -> 100 \$share/g|fan-out --qos 0 --share"
    "pairs-q1-idle|50 pairs QoS 1 + 10,000 idle subscribers|pairs --qos 1 --idle-subscribers 10000"
)
log() { printf '[side-by-side] %s\n' "$*" >&2; }

# --- prerequisites -------------------------------------------------------------------------------------------------
apt_install() {
    local sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    log "installing $* from Debian packages"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "$@" >/dev/null
}
command -v mosquitto >/dev/null 2>&1 || [[ -x /usr/sbin/mosquitto ]] || apt_install mosquitto
command -v jq >/dev/null 2>&1 || apt_install jq
command -v taskset >/dev/null 2>&1 || apt_install util-linux
mosquitto_bin="$(command -v mosquitto || echo /usr/sbin/mosquitto)"

brokers=(broker mosquitto)
if [[ $with_aedes == 1 ]]; then
    if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
        if [[ ! -d "$here/aedes/node_modules/aedes" ]]; then
            log "installing aedes from npm (Broker.Bench/aedes/package-lock.json)"
            (cd "$here/aedes" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
        fi
        brokers+=(aedes)
    else
        log "node/npm not found: aedes left out (install Node.js 20+ to include it)"
    fi
fi

# 10,000 idle connections on each side plus the active ones, and a margin.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [[ $(ulimit -n) != unlimited && $(ulimit -n) -lt 12000 ]]; then
    log "warning: open-file limit is $(ulimit -n); the 10,000-connection scenarios need about 10,200"
fi

cores=$(nproc)
if [[ $cores -ge 2 ]]; then
    pin_broker=(taskset -c 0)
    pin_tool=(taskset -c 1)
else
    log "warning: one core only; broker and load tool share it, figures will mean little"
    pin_broker=()
    pin_tool=()
fi

log "building Broker.Server and Broker.Bench (Release)"
dotnet build "$root/Broker.Server/Broker.Server.csproj" -c Release -nologo -v quiet >/dev/null
dotnet build "$root/Broker.Bench/Broker.Bench.csproj" -c Release -nologo -v quiet >/dev/null
server_dll="$root/Broker.Server/bin/Release/net10.0/Broker.Server.dll"
bench_dll="$root/Broker.Bench/bin/Release/net10.0/Broker.Bench.dll"

work="$(mktemp -d "${TMPDIR:-/tmp}/side-by-side.XXXXXX")"
chmod 755 "$work"   # mosquitto started as root reads its config, then drops to user mosquitto
broker_pid=""

stop_broker() {
    if [[ -n "$broker_pid" ]] && kill -0 "$broker_pid" 2>/dev/null; then
        kill "$broker_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$broker_pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$broker_pid" 2>/dev/null || true
        wait "$broker_pid" 2>/dev/null || true
    fi
    broker_pid=""
}
trap 'stop_broker' EXIT
trap 'stop_broker; exit 130' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
    local port
    for port in $(seq 21883 21983); do
        port_in_use "$port" || { echo "$port"; return; }
    done
    echo "run-side-by-side: no free port in 21883-21983" >&2
    exit 1
}

start_broker() {   # $1 = broker|mosquitto|aedes, $2 = port, $3 = log file
    local name="$1" port="$2" logfile="$3"
    if [[ $name == aedes ]]; then
        "${pin_broker[@]}" node "$here/aedes/server.mjs" "$port" 127.0.0.1 >"$logfile" 2>&1 &
    elif [[ $name == broker ]]; then
        rm -rf "$work/data"
        "${pin_broker[@]}" dotnet "$server_dll" --bind 127.0.0.1 --mqtt-port "$port" \
            --max-mqueue-len 1000000 --max-inflight 1024 --max-awaiting-rel 65535 \
            --data-dir "$work/data" --log-level warning >"$logfile" 2>&1 &
    else
        cat >"$work/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
max_inflight_messages 1024
max_connections -1
set_tcp_nodelay true
log_dest stderr
log_type error
log_type warning
EOF
        "${pin_broker[@]}" "$mosquitto_bin" -c "$work/mosquitto.conf" >"$logfile" 2>&1 &
    fi
    broker_pid=$!
    for _ in $(seq 100); do
        port_in_use "$port" && return 0
        kill -0 "$broker_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "run-side-by-side: $name did not start on port $port; its log:" >&2
    cat "$logfile" >&2
    exit 1
}

# --- the runs ------------------------------------------------------------------------------------------------------
selected() { [[ -z "$only" ]] || [[ ",$only," == *",$1,"* ]]; }
started_at="$(date -u '+%Y-%m-%d %H:%M UTC')"
load_at_start="$(cut -d' ' -f1-3 /proc/loadavg)"
rounds_of() { [[ $1 == latency-* ]] && echo "$latency_rounds" || echo "$rounds"; }
all_rounds=$(( rounds > latency_rounds ? rounds : latency_rounds ))
for round in $(seq 1 "$all_rounds"); do
    # Rotate the order each round, so no broker always runs first (or right after another's cool-down).
    order=()
    for i in "${!brokers[@]}"; do order+=("${brokers[$(( (i + round - 1) % ${#brokers[@]} ))]}"); done
    for entry in "${scenarios[@]}"; do
        IFS='|' read -r key title args <<<"$entry"
        selected "$key" || continue
        (( round <= $(rounds_of "$key") )) || continue
        for name in "${order[@]}"; do
            port="$(free_port)"
            start_broker "$name" "$port" "$work/$key.$name.$round.log"
            sleep 1
            log "round $round/$(rounds_of "$key")  $key  $name"
            # shellcheck disable=SC2086  # $args is a list of words
            "${pin_tool[@]}" dotnet "$bench_dll" load $args --port "$port" --warmup "$warmup" --duration "$duration" \
                --broker-pid "$broker_pid" --label "$name" --json "$work/$key.$name.$round.json" \
                >>"$work/tables.md" || log "  (exit $?: the load tool reported loss, duplicates or a problem; see the table)"
            if ! kill -0 "$broker_pid" 2>/dev/null; then
                log "  $name exited during the run; its log: $work/$key.$name.$round.log"
            fi
            stop_broker
            sleep 1
        done
    done
done

# --- the table -----------------------------------------------------------------------------------------------------
# median KEY BROKER JQ-EXPRESSION: the median over rounds, or empty when no run produced a number.
median() {
    local files=("$work/$1.$2".*.json)
    [[ -e "${files[0]}" ]] || { echo ""; return; }
    jq -s "[.[] | ($3) | select(. != null)] | sort |
        if length == 0 then empty
        elif length % 2 == 1 then .[(length - 1) / 2]
        else (.[length / 2 - 1] + .[length / 2]) / 2 end" "${files[@]}"
}
fmt() {   # fmt VALUE DECIMALS
    [[ -z "$1" ]] && { echo "n/a"; return; }
    LC_ALL=C printf "%'.${2}f" "$1"
}
ratio() {
    [[ -z "$1" || -z "$2" ]] && { echo "n/a"; return; }
    awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2fx", a / b }'
}
# all KEY JQ DECIMALS: one figure for every broker, "this broker / mosquitto / aedes".
all() {
    local out="" name
    for name in "${brokers[@]}"; do out+="${out:+ / }$(fmt "$(median "$1" "$name" "$2")" "$3")"; done
    echo "$out"
}

row() {   # row KEY TITLE FIGURE JQ DECIMALS
    local b name line
    b="$(median "$1" broker "$4")"
    line="| $2 | $3"
    for name in "${brokers[@]}"; do line+=" | $(fmt "$(median "$1" "$name" "$4")" "$5")"; done
    for name in "${brokers[@]:1}"; do line+=" | $(ratio "$b" "$(median "$1" "$name" "$4")")"; done
    line+=" | $(all "$1" '.lost' 0) ($(all "$1" 'if .acknowledged_lost == null then null else .acknowledged_lost end' 0) acked)"
    line+=" | $(all "$1" '.broker_cpu_percent' 0) | $(all "$1" '(.broker_rss_bytes // null) | if . == null then null else . / 1048576 end' 1)"
    line+=" | $(all "$1" '.tool_cpu_percent' 0) |"
    echo "$line"
}

machine_cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
mosquitto_version="$("$mosquitto_bin" -h 2>/dev/null | head -1 || true)"
aedes_version=""
[[ " ${brokers[*]} " == *" aedes "* ]] && aedes_version="$(node -p "require('$here/aedes/node_modules/aedes/package.json').version" 2>/dev/null || true)"
names="this broker / mosquitto${aedes_version:+ / aedes}"
{
    echo "# Side-by-side: this broker vs mosquitto${aedes_version:+ and aedes}"
    echo
    [[ -n "$note" ]] && { echo "$note"; echo; }
    echo "Produced by \`Broker.Bench/run-side-by-side.sh --rounds $rounds --latency-rounds $latency_rounds --warmup $warmup --duration $duration${only:+ --only $only}\`"
    echo "on $started_at, commit \`$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)\`. Medians of $rounds round(s), $latency_rounds for latency;"
    echo "brokers rotate which goes first, each run starts a fresh broker. Broker pinned to core 0 (\`taskset -c 0\`), load"
    echo "tool to core 1, 127.0.0.1, 64-byte payloads, MQTT 3.1.1, ${warmup} s warm-up then ${duration} s measured."
    echo
    echo "| machine | |"
    echo "| --- | --- |"
    echo "| cores (nproc) | $cores |"
    echo "| CPU | $machine_cpu |"
    echo "| kernel | $(uname -r) |"
    echo "| .NET SDK | $(dotnet --version) |"
    echo "| mosquitto | ${mosquitto_version#mosquitto } |"
    [[ -n "$aedes_version" ]] && echo "| aedes | $aedes_version on Node.js $(node --version) |"
    echo "| load average at start | $load_at_start |"
    echo
    echo "Settings. This broker: \`--max-mqueue-len 1000000 --max-inflight 1024 --max-awaiting-rel 65535\`, no persistence."
    echo "mosquitto: \`max_queued_messages 1000000\`, \`max_inflight_messages 1024\`, \`persistence false\`, \`max_connections -1\`,"
    echo "\`set_tcp_nodelay true\` (this broker sets TCP_NODELAY on every connection)."
    [[ -n "$aedes_version" ]] && echo "aedes: \`Broker.Bench/aedes/server.mjs\`, in-memory persistence, default options."
    echo
    echo "Cells with several figures are \"$names\". *lost* counts deliveries that never arrived over the whole run (warm-up"
    echo "included, after a drain); *acked* counts QoS 1 messages the broker PUBACKed that never arrived. *load tool CPU* is"
    echo "the load generator's own core: far below 100 % means it was not the bottleneck."
    echo
    header="| scenario | figure"
    rule="| --- | ---"
    for name in "${brokers[@]}"; do header+=" | ${name/broker/this broker}"; rule+=" | ---"; done
    for name in "${brokers[@]:1}"; do header+=" | vs $name"; rule+=" | ---"; done
    echo "$header | lost (acked lost) | broker CPU % | broker RSS MB | load tool CPU % |"
    echo "$rule | --- | --- | --- | --- |"
    for entry in "${scenarios[@]}"; do
        IFS='|' read -r key title args <<<"$entry"
        selected "$key" || continue
        case "$key" in
            idle-*)
                row "$key" "$title" "connects/s" '.connects_per_s' 0
                row "$key" "$title" "RSS held per connection, KB" \
                    'if .broker_rss_bytes == null or .broker_rss_before_bytes == null then null else (.broker_rss_bytes - .broker_rss_before_bytes) / .connections / 1024 end' 2
                ;;
            latency-*)
                row "$key" "$title" "latency p50, µs" '.latency_p50_us' 0
                row "$key" "$title" "latency p99, µs" '.latency_p99_us' 0
                row "$key" "$title" "latency p99.9, µs" '.latency_p999_us' 0
                ;;
            *)
                row "$key" "$title" "delivered msg/s" '.delivered_per_s' 0
                ;;
        esac
    done
    echo
    echo "For latency, a ratio above 1 means this broker is slower. Under saturation (all but the latency row) latency is"
    echo "queueing time and is left out here; the per-run tables below have it."
    echo
    echo "<details><summary>Per-run tables</summary>"
    echo
    cat "$work/tables.md"
    echo
    echo "</details>"
} >"$out"

log "wrote $out (raw results in $work)"
