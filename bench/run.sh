#!/usr/bin/env bash
# Side-by-side HTTP benchmark of WeChat webhook servers on 127.0.0.1.
#
# Peers (peers/, built here): bare (net/http), gin, silenceper (gin +
# silenceper/wechat/v2 v2.1.14). With PROJECT_DIR set, the project under test
# is built there with `go build` (binary in OUT_DIR) and measured in the
# same run. Every server is measured in turn, round after round (interleaved),
# and throughput is reported as a ratio of `bare` measured in the same round:
# on a noisy shared 2-core box absolute numbers drift, same-run ratios hold.
#
# Scenarios (each compared with the peers measured in the same round):
#   wechat          POST /wechat, signed plaintext text message, in-process dedup
#   wechat-redis    the same with the project's DEDUP_STORE on a local Redis
#                   (a redis-server this script starts on a free port, or
#                   REDIS_URL), flushed before each run
#   token           GET /api/token with the bearer key, one account
#   token-accounts  the same over ACCOUNTS accounts (ACCOUNTS_FILE written
#                   here), each request naming the next one (?account=)
#
# Usage (from the project root):
#         bench/run.sh                      # peers only, ~65 s
#         PROJECT_DIR=$PWD bench/run.sh     # + the project, every scenario, ~5 min
#
# Knobs (environment):
#   DURATION=8 WARMUP=2 THREADS=2 CONNS=64 ROUNDS=2   wrk parameters / rounds
#   SCENARIOS="wechat wechat-redis token token-accounts"   (with PROJECT_DIR;
#                                 peers only: wechat, and token with TOKEN_ALWAYS)
#   ORDER=abba                    abba: even rounds run the servers in reverse
#                                 order (cancels linear drift and position
#                                 effects); repeat: same order every round
#   PEERS="bare gin silenceper"   wechat-scenario peers; also: silenceper-quiet
#                                 (same, SDK logrus level set to info)
#   TOKEN_PEERS="bare gin"        token-scenario peers (bare, gin); token runs
#                                 only happen when PROJECT_DIR is set, unless
#                                 TOKEN_ALWAYS=1
#   REDIS_PEERS="bare gin"        wechat-redis peers (their runs are the wechat
#                                 scenario's, measured again in that round)
#   ACCOUNTS_PEERS="bare gin"     token-accounts peers (they ignore ?account=)
#   ACCOUNTS=1000                 accounts in token-accounts
#   REDIS_URL                     Redis for wechat-redis (default: start one;
#                                 redis-server installed with apt-get if missing)
#   UNIQUE_MSGID=1                new MsgId per request (0: one fixed MsgId)
#   UNIQUE_NONCE=1                new nonce+signature per request (0: one fixed
#                                 signature, which the project refuses as a
#                                 replay from the second message on)
#   PROJECT_DIR                   Go project to build and measure
#   PROJECT_API_BASE=fake         WECHAT_API_BASE for the project: "fake" starts
#                                 peers/fakeapi on loopback (token endpoint can
#                                 then get a token); or a URL, e.g.
#                                 http://127.0.0.1:1 (unreachable)
#   PROJECT_ENV="K=V ..."         extra environment for the project
#   PROJECT_EXPECT=oUser0001      substring every project /wechat reply must hold
#   PROJECT_TOKEN_EXPECT=access_token  same for GET /api/token
#   OUT_DIR=/tmp/bench.XXXXXX     where raw outputs, logs and results.md go
#
# Leaves no process behind (all children are stopped by PID on exit).
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
ROUNDS=${ROUNDS:-2}
ORDER=${ORDER:-abba}
PEERS=${PEERS:-"bare gin silenceper"}
TOKEN_PEERS=${TOKEN_PEERS:-"bare gin"}
REDIS_PEERS=${REDIS_PEERS:-"bare gin"}
ACCOUNTS_PEERS=${ACCOUNTS_PEERS:-"bare gin"}
ACCOUNTS=${ACCOUNTS:-1000}
REDIS_URL=${REDIS_URL:-}
TOKEN_ALWAYS=${TOKEN_ALWAYS:-0}
UNIQUE_MSGID=${UNIQUE_MSGID:-1}
UNIQUE_NONCE=${UNIQUE_NONCE:-1}
PROJECT_DIR=${PROJECT_DIR:-}
if [ -n "$PROJECT_DIR" ]; then
  SCENARIOS=${SCENARIOS:-"wechat wechat-redis token token-accounts"}
else
  SCENARIOS=${SCENARIOS:-"wechat token"}
fi
PROJECT_API_BASE=${PROJECT_API_BASE:-fake}
PROJECT_ENV=${PROJECT_ENV:-}
PROJECT_EXPECT=${PROJECT_EXPECT:-oUser0001}
PROJECT_TOKEN_EXPECT=${PROJECT_TOKEN_EXPECT:-access_token}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/bench.XXXXXX)}
PROJECT_BIN="$OUT_DIR/bench-project"

WECHAT_TOKEN=benchtoken
API_KEY=benchkey
NONCE=benchnonce
OPENID=oUser0001
LUA="$HERE/bench.lua"
BIN="$OUT_DIR/bin"
BODY='<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName><FromUserName><![CDATA[oUser0001]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content><MsgId>1234567890123456</MsgId></xml>'

mkdir -p "$OUT_DIR"/{bin,logs,wrk,probes}
RESULTS_TSV="$OUT_DIR/results.tsv"
: >"$RESULTS_TSV"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---- process bookkeeping: every child we start is tracked and stopped by PID.
declare -A CHILDREN=()
stop_pid() { # stop_pid PID: TERM, wait up to 10 s, then KILL
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; unset "CHILDREN[$pid]"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid ignored SIGTERM for 10 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  unset "CHILDREN[$pid]"
}
cleanup() {
  local pid
  for pid in "${!CHILDREN[@]}"; do stop_pid "$pid"; done
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---- prerequisites
command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || die "go not found"
command -v curl >/dev/null || die "curl not found"
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing wrk (apt-get)"
    apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null
  fi
  command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
fi

sign() { # sign TOKEN TS NONCE -> sha1 of the three sorted and joined
  printf '%s\n' "$1" "$2" "$3" | LC_ALL=C sort | tr -d '\n' | sha1sum | cut -d' ' -f1
}

# The Lua SHA-1 (used with UNIQUE_NONCE=1) must agree with sha1sum.
for s in "benchnonce1700000000benchtoken" "$(printf 'x%.0s' $(seq 1 100))"; do
  got=$(BENCH_SELFTEST="$s" wrk -t1 -c1 -d1s -s "$LUA" http://127.0.0.1:9/ 2>&1 | awk '/^SHA1 /{print $2}')
  want=$(printf '%s' "$s" | sha1sum | cut -d' ' -f1)
  [ "$got" = "$want" ] || die "bench.lua sha1 self-test failed ($got != $want)"
done

# ---- build
log "building peers -> $BIN"
(cd "$HERE/peers" && go build -o "$BIN/" ./...) || die "peer build failed"
HAVE_PROJECT=0
if [ -n "$PROJECT_DIR" ]; then
  log "building project in $PROJECT_DIR -> $PROJECT_BIN"
  (cd "$PROJECT_DIR" && go build -o "$PROJECT_BIN" .) || die "project build failed"
  HAVE_PROJECT=1
fi

# ---- helpers
port_busy() { (: </dev/tcp/127.0.0.1/"$1") 2>/dev/null; }
free_port() {
  local p
  while :; do
    p=$(( 20000 + RANDOM % 40000 ))
    port_busy "$p" || { echo "$p"; return; }
  done
}

# start_server NAME LOGFILE [SCENARIO] -> sets SRV_PID, SRV_PORT (tries 3 ports)
start_server() {
  local name=$1 logf=$2 scen=${3:-wechat} try i bin
  local -a envs=("GIN_MODE=release")
  case "$name" in
    bare|gin|silenceper) bin="$BIN/$name"; envs+=("WECHAT_TOKEN=$WECHAT_TOKEN") ;;
    silenceper-quiet) bin="$BIN/silenceper"; envs+=("WECHAT_TOKEN=$WECHAT_TOKEN" "SDK_LOG_LEVEL=info") ;;
    project)
      bin="$PROJECT_BIN"
      envs+=("WECHAT_API_BASE=$API_BASE" "TOKEN_STORE=memory" "TOKEN_API_KEY=$API_KEY")
      if [ "$scen" = token-accounts ]; then
        envs+=("ACCOUNTS_FILE=$ACCOUNTS_FILE")
      else
        envs+=("WECHAT_TOKEN=$WECHAT_TOKEN" "WECHAT_APP_ID=wx0000000000000000" "WECHAT_APP_SECRET=benchsecret")
      fi
      [ "$scen" = wechat-redis ] && envs+=("DEDUP_STORE=$REDIS_URL")
      # shellcheck disable=SC2206
      [ -n "$PROJECT_ENV" ] && envs+=($PROJECT_ENV)
      ;;
    *) die "unknown server $name" ;;
  esac
  for try in 1 2 3; do
    SRV_PORT=$(free_port)
    env "${envs[@]}" LISTEN_ADDR="127.0.0.1:$SRV_PORT" "$bin" >>"$logf" 2>&1 &
    SRV_PID=$!
    CHILDREN[$SRV_PID]=1
    for i in $(seq 1 150); do   # up to 15 s
      kill -0 "$SRV_PID" 2>/dev/null || break
      port_busy "$SRV_PORT" && return 0
      sleep 0.1
    done
    log "$name did not come up on port $SRV_PORT (try $try); log tail:"
    tail -n 5 "$logf" >&2 || true
    stop_pid "$SRV_PID"
  done
  return 1
}

signed_query() { # signed_query TS [NONCE]
  local n=${2:-$NONCE}
  printf 'signature=%s&timestamp=%s&nonce=%s&openid=%s' "$(sign "$WECHAT_TOKEN" "$1" "$n")" "$1" "$n" "$OPENID"
}

# probe NAME: a few single requests that show how a /wechat server behaves.
probe_wechat() {
  local name=$1 base="http://127.0.0.1:$SRV_PORT" ts f code body swap
  ts=$(date +%s); f="$OUT_DIR/probes/$name.txt"
  : >"$f"
  pr() { # pr LABEL curl-args...
    local label=$1; shift
    local out
    out=$(curl -s -m 5 -o "$OUT_DIR/probes/.body" -w '%{http_code}' "$@" || echo "ERR")
    body=$(head -c 400 "$OUT_DIR/probes/.body" 2>/dev/null | tr '\n' ' ' || true)
    printf '%-22s HTTP %s  %s\n' "$label" "$out" "$body" >>"$f"
    code=$out
    [ -n "$body" ] || code="$out empty"
  }
  pr "signed text" -X POST -H 'Content-Type: text/xml' --data "$BODY" "$base/wechat?$(signed_query "$ts")"
  local signed_code=$code signed_body=$body
  pr "no signature" -X POST -H 'Content-Type: text/xml' --data "$BODY" "$base/wechat"
  local nosig=$code
  pr "bad signature" -X POST -H 'Content-Type: text/xml' --data "$BODY" "$base/wechat?signature=0000000000000000000000000000000000000000&timestamp=$ts&nonce=$NONCE&openid=$OPENID"
  local badsig=$code
  pr "stale ts (-1h)" -X POST -H 'Content-Type: text/xml' --data "$BODY" "$base/wechat?$(signed_query $((ts - 3600)))"
  local stale=$code
  pr "GET echostr" "$base/wechat?$(signed_query "$ts")&echostr=echo12345"
  local echo_code=$code echo_body=$body
  pr "garbage body" -X POST -H 'Content-Type: text/xml' --data "not xml" "$base/wechat?$(signed_query "$ts")"
  local garbage=$code
  swap=no
  if printf '%s' "$signed_body" | grep -Eq '<ToUserName>[[:space:]]*(<!\[CDATA\[)?oUser0001(\]\]>)?[[:space:]]*</ToUserName>' &&
     printf '%s' "$signed_body" | grep -Eq '<FromUserName>[[:space:]]*(<!\[CDATA\[)?gh_123456789abc(\]\]>)?[[:space:]]*</FromUserName>'; then
    swap=yes
  fi
  [ "$echo_body" = "echo12345" ] && echo_code="$echo_code ok" || echo_code="$echo_code body≠echostr"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$signed_code" "$swap" "$nosig" "$badsig" "$stale" "$echo_code" "$garbage" >>"$OUT_DIR/probes.tsv"
}

probe_token() { # probe_token NAME [QUERY] -> sets TOKEN_OK=1 when GET /api/token with the key answers 2xx
  local name=$1 query=${2:-} base="http://127.0.0.1:$SRV_PORT" f c1 c2 b
  f="$OUT_DIR/probes/$name-token${query:+-accounts}.txt"
  c1=$(curl -s -m 5 -o "$OUT_DIR/probes/.body" -w '%{http_code}' -H "Authorization: Bearer $API_KEY" "$base/api/token$query" || echo ERR)
  b=$(head -c 300 "$OUT_DIR/probes/.body" | tr '\n' ' ')
  c2=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$base/api/token" || echo ERR)
  printf 'with key: HTTP %s  %s\nno key:   HTTP %s\n' "$c1" "$b" "$c2" >"$f"
  TOKEN_OK=0
  case "$c1" in 2??) TOKEN_OK=1 ;; esac
}

cpu_ticks() { # utime+stime of PID (all threads), in clock ticks
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  s=${s##*) }
  awk '{print $12 + $13}' <<<"$s"
}
status_kb() { awk -v k="$2:" '$1==k{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
fsize() { stat -c %s "$1" 2>/dev/null || echo 0; }
kv() { # kv KEY FILE: value of KEY=... on the BENCH_RESULT line
  awk -v k="$1" '/^BENCH_RESULT/{for(i=2;i<=NF;i++){split($i,a,"=");if(a[1]==k)print a[2]}}' "$2"
}

RUN_SEQ=0
run_wrk() { # run_wrk OUTFILE SECONDS URL [extra env...]: wrk bounded by timeout, tracked by PID
  local out=$1 secs=$2 url=$3; shift 3
  RUN_SEQ=$((RUN_SEQ + 1))   # own MsgId block per wrk invocation
  env "$@" BENCH_ID_SLOT="$RUN_SEQ" timeout -k 5 $((secs + 20)) wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" --latency -s "$LUA" "$url" >"$out" 2>&1 &
  local pid=$!
  CHILDREN[$pid]=1
  wait "$pid" || log "wrk exited non-zero ($(tail -n 2 "$out" | tr '\n' ' '))"
  unset "CHILDREN[$pid]"
}

CLK_TCK=$(getconf CLK_TCK)

# measure ROUND SCENARIO NAME
measure() {
  local round=$1 scen=$2 name=$3
  local tag="$scen-$name-r$round" logf="$OUT_DIR/logs/$scen-$name-r$round.log"
  local path expect ts url hits0=0 hits1=0
  : >"$logf"
  [ "$name" = project ] && [ -n "$FAKEAPI_PORT" ] && hits0=$(curl -s -m 2 "http://127.0.0.1:$FAKEAPI_PORT/__hits" || echo 0)
  [ "$name" = project ] && [ "$scen" = wechat-redis ] && flush_redis
  if ! start_server "$name" "$logf" "$scen"; then
    printf '%s\t%s\t%s\tFAIL\n' "$round" "$scen" "$name" >>"$RESULTS_TSV"
    return 0
  fi
  local mode accounts=0
  case "$scen" in
    wechat|wechat-redis)
      path=/wechat mode=wechat
      expect=oUser0001; [ "$name" = project ] && expect=$PROJECT_EXPECT
      [ "$round" = 1 ] && [ "$scen" = wechat ] && probe_wechat "$name"
      ;;
    *)
      path=/api/token mode=token
      [ "$scen" = token-accounts ] && accounts=$ACCOUNTS
      expect=access_token; [ "$name" = project ] && expect=$PROJECT_TOKEN_EXPECT
      ;;
  esac
  # Each wrk invocation its own nonces: a signed query is never sent twice
  # to one process (the project refuses a replayed one).
  local common=("WECHAT_TOKEN=$WECHAT_TOKEN" "BENCH_MODE=$mode" "BENCH_OPENID=$OPENID" "BENCH_ACCOUNTS=$accounts"
                "BENCH_API_KEY=$API_KEY" "UNIQUE_MSGID=$UNIQUE_MSGID" "UNIQUE_NONCE=$UNIQUE_NONCE")
  # warm-up (checks every reply: HTTP 200 + expected substring)
  ts=$(date +%s)
  run_wrk "$OUT_DIR/wrk/$tag-warmup.txt" "$WARMUP" "http://127.0.0.1:$SRV_PORT$path" \
    "${common[@]}" "BENCH_NONCE=${NONCE}w" "BENCH_TS=$ts" BENCH_CHECK=1 "BENCH_EXPECT=$expect"
  local cok cbad
  cok=$(kv checked_ok "$OUT_DIR/wrk/$tag-warmup.txt"); cbad=$(kv checked_bad "$OUT_DIR/wrk/$tag-warmup.txt")
  if [ "${cbad:-0}" != 0 ]; then
    log "$tag: $cbad/${cok:-0}+$cbad warm-up replies failed the check: $(grep '^BENCH_BAD_SAMPLE' "$OUT_DIR/wrk/$tag-warmup.txt" | head -1)"
  fi
  # measured run
  local c0 c1 l0 l1 out="$OUT_DIR/wrk/$tag.txt"
  l0=$(fsize "$logf"); c0=$(cpu_ticks "$SRV_PID")
  ts=$(date +%s)
  run_wrk "$out" "$DURATION" "http://127.0.0.1:$SRV_PORT$path" "${common[@]}" "BENCH_NONCE=${NONCE}m" "BENCH_TS=$ts"
  c1=$(cpu_ticks "$SRV_PID"); l1=$(fsize "$logf")
  local hwm; hwm=$(status_kb "$SRV_PID" VmHWM)
  [ "$name" = project ] && [ -n "$FAKEAPI_PORT" ] && hits1=$(curl -s -m 2 "http://127.0.0.1:$FAKEAPI_PORT/__hits" || echo 0)
  local alive=1; kill -0 "$SRV_PID" 2>/dev/null || alive=0
  stop_pid "$SRV_PID"
  [ "$alive" = 1 ] || log "$tag: server died during the run"
  local req rps p50 p99 se sn
  req=$(kv requests "$out"); rps=$(kv rps "$out"); p50=$(kv p50_us "$out"); p99=$(kv p99_us "$out")
  if [ -z "$rps" ]; then
    log "$tag: no wrk result"; printf '%s\t%s\t%s\tFAIL\n' "$round" "$scen" "$name" >>"$RESULTS_TSV"; return 0
  fi
  se=$(( $(kv err_connect "$out") + $(kv err_read "$out") + $(kv err_write "$out") + $(kv err_timeout "$out") ))
  sn=$(kv err_status "$out")
  local cpu_us log_b
  cpu_us=$(awk -v d=$((c1 - c0)) -v t="$CLK_TCK" -v r="$req" 'BEGIN{printf("%.1f", (r > 0) ? d * 1e6 / t / r : 0)}')
  log_b=$(awk -v d=$((l1 - l0)) -v r="$req" 'BEGIN{printf("%.0f", (r > 0) ? d / r : 0)}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$round" "$scen" "$name" "$rps" "$p50" "$p99" "$se" "$sn" "${cok:-0}" "${cbad:-0}" "${hwm:-0}" "$cpu_us" "$log_b" "$req" \
    "$((hits1 - hits0))" >>"$RESULTS_TSV"
  log "$tag: $rps req/s p50 ${p50}us p99 ${p99}us sockerr $se non2xx $sn checkbad ${cbad:-0} HWM ${hwm}kB cpu ${cpu_us}us/req log ${log_b}B/req"
  # keep only the head of big logs (the SDK peer logs ~1 KB per request)
  if [ "$(fsize "$logf")" -gt 65536 ]; then
    head -c 16384 "$logf" >"$logf.head" && rm -f "$logf"
  fi
}

# ---- fake WeChat API for the project (token fetch), if wanted
FAKEAPI_PORT=""
API_BASE="$PROJECT_API_BASE"
if [ "$HAVE_PROJECT" = 1 ] && [ "$PROJECT_API_BASE" = fake ]; then
  FAKEAPI_PORT=$(free_port)
  LISTEN_ADDR="127.0.0.1:$FAKEAPI_PORT" "$BIN/fakeapi" >"$OUT_DIR/logs/fakeapi.log" 2>&1 &
  FAKEAPI_PID=$!; CHILDREN[$FAKEAPI_PID]=1
  for i in $(seq 1 50); do port_busy "$FAKEAPI_PORT" && break; sleep 0.1; done
  API_BASE="http://127.0.0.1:$FAKEAPI_PORT"
fi

has_scenario() { case " $SCENARIOS " in *" $1 "*) return 0 ;; esac; return 1; }

# ---- Redis for wechat-redis: REDIS_URL, or a redis-server of our own
REDIS_PORT=""
flush_redis() {
  if [ -n "$REDIS_PORT" ]; then
    redis-cli -p "$REDIS_PORT" flushall >/dev/null
  elif command -v redis-cli >/dev/null; then
    redis-cli -u "$REDIS_URL" flushdb >/dev/null || log "could not flush $REDIS_URL"
  fi
}
if [ "$HAVE_PROJECT" = 1 ] && has_scenario wechat-redis && [ -z "$REDIS_URL" ]; then
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "installing redis-server (apt-get)"
      apt-get update -qq >/dev/null && apt-get install -y -qq redis-server redis-tools >/dev/null
    fi
  fi
  command -v redis-server >/dev/null || die "redis-server not found (apt-get install redis-server, or set REDIS_URL, or leave wechat-redis out of SCENARIOS)"
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >"$OUT_DIR/logs/redis.log" 2>&1 &
  REDIS_PID=$!; CHILDREN[$REDIS_PID]=1
  for i in $(seq 1 50); do port_busy "$REDIS_PORT" && break; sleep 0.1; done
  port_busy "$REDIS_PORT" || die "redis-server did not start (see $OUT_DIR/logs/redis.log)"
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
fi

# ---- the accounts file of token-accounts: acct0000 ... every one an
# Official Account of its own appid on the fake API
ACCOUNTS_FILE="$OUT_DIR/accounts.yaml"
if [ "$HAVE_PROJECT" = 1 ] && has_scenario token-accounts; then
  awk -v n="$ACCOUNTS" 'BEGIN {
    print "accounts:"
    for (i = 0; i < n; i++) printf "  - name: acct%04d\n    app_id: wxbench%010d\n    app_secret: benchsecret%d\n", i, i, i
  }' >"$ACCOUNTS_FILE"
fi

# ---- header
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "host: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -r), loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "go: $(go version | cut -d' ' -f3)  wrk: $(wrk -v 2>&1 | head -1 | cut -d' ' -f2)"
  echo "wrk: -t$THREADS -c$CONNS -d${DURATION}s --latency, warm-up ${WARMUP}s (checked), rounds: $ROUNDS (interleaved, order: $ORDER)"
  echo "scenarios: $SCENARIOS; POST /wechat signed plaintext text message, UNIQUE_MSGID=$UNIQUE_MSGID UNIQUE_NONCE=$UNIQUE_NONCE"
  [ "$HAVE_PROJECT" = 1 ] && echo "project: $PROJECT_DIR (WECHAT_API_BASE=$API_BASE)"
  [ "$HAVE_PROJECT" = 1 ] && has_scenario wechat-redis && echo "wechat-redis: project with DEDUP_STORE=$REDIS_URL ($(redis-cli -u "$REDIS_URL" info server 2>/dev/null | tr -d '\r' | awk -F: '/^redis_version/{print "Redis " $2}'))"
  [ "$HAVE_PROJECT" = 1 ] && has_scenario token-accounts && echo "token-accounts: project with ACCOUNTS_FILE of $ACCOUNTS accounts, GET /api/token?account=acctNNNN in turn"
  echo "load generator and servers share the same cores (no pinning)"
} >"$OUT_DIR/header.txt"
cat "$OUT_DIR/header.txt" >&2

peers_of() { # peers_of SCENARIO: the peers measured in it
  case "$1" in
    wechat) echo "$PEERS" ;;
    wechat-redis) echo "$REDIS_PEERS" ;;
    token) echo "$TOKEN_PEERS" ;;
    token-accounts) echo "$ACCOUNTS_PEERS" ;;
    *) die "unknown scenario $1" ;;
  esac
}
# RUNS: "scenario:server" pairs, in the order of a round
RUNS=""
for scen in $SCENARIOS; do
  case "$scen" in token|token-accounts) [ "$HAVE_PROJECT" = 1 ] || [ "$TOKEN_ALWAYS" = 1 ] || continue ;; esac
  for name in $(peers_of "$scen"); do RUNS="$RUNS $scen:$name"; done
  [ "$HAVE_PROJECT" = 1 ] && RUNS="$RUNS $scen:project"
done
if [ "$HAVE_PROJECT" = 1 ]; then
  # Does the project answer GET /api/token? (probe once per token scenario,
  # outside the rounds, giving it up to ~5 s to get its tokens)
  for scen in token token-accounts; do
    has_scenario "$scen" || continue
    query=""; [ "$scen" = token-accounts ] && query="?account=acct0000"
    logf="$OUT_DIR/logs/$scen-probe-project.log"
    TOKEN_OK=0
    if start_server project "$logf" "$scen"; then
      for i in $(seq 1 10); do
        probe_token project "$query"
        [ "$TOKEN_OK" = 1 ] && break
        sleep 0.5
      done
      log "project $scen GET /api/token$query: $(tr '\n' ' ' <"$OUT_DIR/probes/project-token${query:+-accounts}.txt" | cut -c1-200)"
      stop_pid "$SRV_PID"
    fi
    if [ "$TOKEN_OK" != 1 ]; then
      log "project does not answer GET /api/token$query with 2xx: $scen scenario skipped"
      RUNS=$(tr ' ' '\n' <<<"$RUNS" | grep -v "^$scen:" | tr '\n' ' ')
    fi
  done
fi

: >"$OUT_DIR/probes.tsv"
reverse() { local out="" w; for w in $1; do out="$w $out"; done; echo "$out"; }
for round in $(seq 1 "$ROUNDS"); do
  rs=$RUNS
  if [ "$ORDER" = abba ] && [ $((round % 2)) = 0 ]; then rs=$(reverse "$rs"); fi
  for run in $rs; do measure "$round" "${run%%:*}" "${run#*:}"; done
done

[ -n "${FAKEAPI_PID:-}" ] && stop_pid "$FAKEAPI_PID"
[ -n "${REDIS_PID:-}" ] && stop_pid "$REDIS_PID"

# ---- report
{
  echo '```'
  cat "$OUT_DIR/header.txt"
  echo '```'
  echo
  echo "| scenario | server | req/s per round | median req/s | req/s × bare | p50 ms | p99 ms | sock err | HTTP ≥400 | warm-up check bad/ok | peak RSS MB | server CPU µs/req | CPU/req × bare | log B/req |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  awk -F'\t' '
    function median(s,   n, a, i, j, t) {
      n = split(s, a, " ")
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      if (n == 0) return ""
      return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    $4 == "FAIL" { key = $2 SUBSEP $3; if (!(key in seen)) { seen[key] = 1; order[++no] = key }; fail[key]++; next }
    {
      key = $2 SUBSEP $3
      if (!(key in seen)) { seen[key] = 1; order[++no] = key }
      rps[key] = rps[key] " " $4; r[$1, key] = $4; per[key] = per[key] (per[key] == "" ? "" : " / ") sprintf("%.0f", $4)
      p50[key] = p50[key] " " $5; p99[key] = p99[key] " " $6
      se[key] += $7; sn[key] += $8; cok[key] += $9; cbad[key] += $10
      if ($11 > hwm[key]) hwm[key] = $11
      cpu[key] = cpu[key] " " $12; lg[key] = lg[key] " " $13; c[$1, key] = $12
      rounds[$1] = 1
    }
    END {
      for (i = 1; i <= no; i++) {
        key = order[i]; split(key, kk, SUBSEP); scen = kk[1]; name = kk[2]
        if (fail[key] && rps[key] == "") { printf "| %s | %s | FAILED | | | | | | | | | | | |\n", scen, name; continue }
        ratios = ""; cratios = ""
        for (rd in rounds) if ((rd, key) in r && (rd, scen SUBSEP "bare") in r) {
          ratios = ratios " " r[rd, key] / r[rd, scen SUBSEP "bare"]
          if (c[rd, scen SUBSEP "bare"] > 0) cratios = cratios " " c[rd, key] / c[rd, scen SUBSEP "bare"]
        }
        ratio = (ratios == "") ? "n/a" : sprintf("%.2f", median(ratios))
        cratio = (cratios == "") ? "n/a" : sprintf("%.2f", median(cratios))
        printf "| %s | %s | %s | %.0f | **%s** | %.2f | %.2f | %d | %d | %d/%d | %.1f | %.1f | %s | %d |\n",
          scen, name, per[key], median(rps[key]), ratio, median(p50[key]) / 1000, median(p99[key]) / 1000,
          se[key], sn[key], cbad[key], cok[key], hwm[key] / 1024, median(cpu[key]), cratio, median(lg[key])
      }
    }' "$RESULTS_TSV"
  echo
  echo "req/s × bare: per round, the server's req/s over bare's req/s in the same round (same scenario); median over rounds."
  echo "CPU/req × bare: the same for server CPU µs/req (higher = costlier; less sensitive to the shared-core noise)."
  echo "sock err: wrk connect+read+write+timeout errors; HTTP ≥400: what wrk reports as \"Non-2xx or 3xx responses\"."
  echo "warm-up check: every warm-up reply must be HTTP 200 and contain the expected text (oUser0001 for /wechat, access_token for the token)."
  echo "server CPU µs/req: the server process's user+sys CPU during the measured run / requests; log B/req: bytes the"
  echo "server wrote to stdout+stderr per request. peak RSS: VmHWM at the end of the run (max over rounds)."
  echo "wechat-redis: the project claims each message on Redis (its CPU is not counted here; the peers' runs are the wechat"
  echo "scenario's, measured again in that round). token-accounts: the peers answer their constant JSON whatever the account."
  if [ -s "$OUT_DIR/probes.tsv" ]; then
    echo
    echo "Behaviour probes (single requests, round 1):"
    echo
    echo "| server | signed text | To/From swapped | no signature | bad signature | stale ts (-1h) | GET echostr | garbage body |"
    echo "|---|---|---|---|---|---|---|---|"
    awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8}' "$OUT_DIR/probes.tsv"
  fi
  if [ "$HAVE_PROJECT" = 1 ]; then
    echo
    for f in "$OUT_DIR"/probes/project-token*.txt; do
      [ -e "$f" ] || continue
      echo "Project token endpoint probe ($(basename "$f" .txt)): $(tr '\n' ' ' <"$f")"
    done
    if [ -n "$FAKEAPI_PORT" ] && grep -q $'\tproject\t[0-9]' "$RESULTS_TSV"; then
      echo "Token fetches from the fake WeChat API per project process (start-up, warm-up and measured run): $(awk -F'\t' '$3=="project" && $4!="FAIL"{printf "%s r%s: %s; ", $2, $1, $15}' "$RESULTS_TSV")"
    fi
  fi
} >"$OUT_DIR/results.md"

echo
cat "$OUT_DIR/results.md"
echo
echo "raw outputs: $OUT_DIR (wrk/, logs/, probes/, results.tsv, results.md)"
if grep -q $'\tFAIL$' "$RESULTS_TSV"; then
  log "some runs FAILED (see the table and $OUT_DIR/logs)"
  exit 2
fi
