#!/usr/bin/env bash
# compare.sh: spoolscan against a C newline count, simdjson `iterate_many` and jq, on files made
# by `examples/gen`, with every count cross-checked. Run from anywhere in the checkout:
#
#   benches/compare.sh [SIZE] [REPS]          defaults: 256MiB 3     e.g. benches/compare.sh 1GiB
#
# What it does:
#  1. apt-installs what is missing (`time`, `jq`, `libsimdjson-dev`, `g++`) when run as root
#     (or with passwordless sudo); SKIP_INSTALL=1 turns that off.
#  2. builds into target/compare/ the C newline counter (`memchr` over a fresh read-only
#     mapping) and the simdjson selector (On-Demand `iterate_many`, -O3 -march=native, one
#     thread), copied from ../shared/anchors/ (ANCHORS=DIR to use another copy); without them
#     those rows are left out, with a message.
#  3. builds `spoolscan` and the `gen` example (release) and generates the inputs of SIZE bytes
#     into target/compare/data/ (transcript, logs, events; kept and reused while the generator
#     is unchanged).
#  4. runs every case REPS times, the tools interleaved (each rep starting one tool further),
#     each run after `cat FILE >/dev/null`,
#     under `/usr/bin/time -f '%e %M'` (wall from $EPOCHREALTIME around it, peak RSS from %M):
#       memchr     target/compare/memchr_count FILE                          (newlines)
#       simdjson   target/compare/simdjson_select --mmap --batch B [--keep PATH=V..|--all] FILE
#       spoolscan  spoolscan scan FILE [--keep PATH=V..] --case-sensitive --stats R -q >/dev/null
#       jq         jq -c 'select(...)' FILE | wc -l      (the same rules; NOJQ=1 skips jq)
#  5. checks the counts: memchr's newlines = spoolscan's `lines` = the generator's lines (the
#     files end with LF); simdjson's retained = spoolscan's `retained` = jq's lines (= the
#     generator's own count where it has one); every run of a tool prints the same count and
#     exits 0. Any mismatch is printed as MISMATCH and the script exits 1 after the tables.
#  6. prints one markdown table per case (median wall time, GB/s = 10^9 bytes/s, speed relative
#     to the memchr count and to simdjson, peak RSS, count), with the machine named. The report
#     also goes to target/compare/report.md.
#
# spoolscan's rows write the retained lines to /dev/null, where it writes nothing (as GNU grep
# does: the bytes would be discarded); the row "lines written into a pipe" pays for the output
# (`| cat > /dev/null`, cat on another core).
#
# Environment: NOJQ=1 (no jq), SKIP_INSTALL=1, ANCHORS=DIR, CASES=1,3 (only these case numbers),
# SIMDJSON_BATCH=BYTES (iterate_many's batch for the small-line files; default 1 MiB, simdjson's
# own default order; the transcript always gets 128 MiB, as its lines reach 64 MiB),
# LEVELS=avx2,portable (also run spoolscan, one thread, forced to these SIMD levels with
# SPOOLSCAN_SIMD; default `avx2` on a CPU with AVX-512, so that the table shows what an
# AVX2-only machine gets; LEVELS= for none).
set -uo pipefail
export LC_ALL=C

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZE="${1:-256MiB}"
REPS="${2:-3}"
NOJQ="${NOJQ:-0}"
CASES="${CASES:-all}"
ANCHORS="${ANCHORS:-$ROOT/../shared/anchors}"
SMALL_BATCH="${SIMDJSON_BATCH:-1048576}"
BIG_BATCH=134217728
OUT="$ROOT/target/compare"
DATA="$OUT/data"
SPOOLSCAN="$ROOT/target/release/spoolscan"
GEN="$ROOT/target/release/examples/gen"

log() { printf '[compare %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive whole number, not '$REPS'"
mkdir -p "$OUT" "$DATA" || die "cannot create $OUT"
cd "$ROOT" || die "cannot cd to $ROOT"

# ---------------------------------------------------------------------------------------------
# 1. packages
install_missing() {
  local pkgs=()
  [[ -x /usr/bin/time ]] || pkgs+=(time)
  [[ "$NOJQ" == 1 ]] || command -v jq >/dev/null || pkgs+=(jq)
  [[ -f /usr/include/simdjson.h ]] || pkgs+=(libsimdjson-dev)
  command -v g++ >/dev/null || pkgs+=(g++)
  command -v cc >/dev/null || pkgs+=(gcc)
  ((${#pkgs[@]})) || return 0
  if [[ "${SKIP_INSTALL:-0}" == 1 ]]; then
    log "missing packages (SKIP_INSTALL=1, not installing): ${pkgs[*]}"
    return 0
  fi
  local sudo=()
  [[ "$(id -u)" == 0 ]] || sudo=(sudo -n)
  log "installing: ${pkgs[*]}"
  { "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${pkgs[@]}"; } >&2 ||
    log "warning: apt-get install failed; the tools that need these packages are left out"
}
install_missing
[[ -x /usr/bin/time ]] || die "/usr/bin/time (GNU time) is needed: apt-get install time"

# ---------------------------------------------------------------------------------------------
# 2. the C and C++ baselines, copied from the anchors (../shared is read-only)
HAVE_MEMCHR=0 HAVE_SIMDJSON=0
if [[ -f "$ANCHORS/memchr_count.c" && -f "$ANCHORS/simdjson_select.cpp" ]]; then
  mkdir -p "$OUT/src"
  for f in memchr_count.c simdjson_select.cpp; do # a changed source is copied and rebuilt
    if ! cmp -s "$ANCHORS/$f" "$OUT/src/$f"; then
      cp "$ANCHORS/$f" "$OUT/src/$f" || die "cannot copy $ANCHORS/$f"
      rm -f "$OUT/${f%.*}"
    fi
  done
  if [[ ! -x "$OUT/memchr_count" ]]; then
    log "building target/compare/memchr_count"
    cc -O2 -o "$OUT/memchr_count" "$OUT/src/memchr_count.c" >&2 || log "warning: memchr_count did not build"
  fi
  if [[ ! -f /usr/include/simdjson.h ]]; then
    log "warning: libsimdjson-dev is not installed; the simdjson rows are left out"
  elif [[ ! -x "$OUT/simdjson_select" ]]; then
    log "building target/compare/simdjson_select (g++ -O3 -march=native)"
    # -march=native: simdjson's On-Demand kernel is chosen at compile time (else: fallback)
    g++ -O3 -march=native -std=c++17 -pthread -DSIMDJSON_THREADS_ENABLED=1 \
      -o "$OUT/simdjson_select" "$OUT/src/simdjson_select.cpp" -lsimdjson >&2 ||
      log "warning: simdjson_select did not build"
  fi
  [[ -x "$OUT/memchr_count" ]] && HAVE_MEMCHR=1
  [[ -x "$OUT/simdjson_select" && -f /usr/include/simdjson.h ]] && HAVE_SIMDJSON=1
else
  log "warning: $ANCHORS (memchr_count.c, simdjson_select.cpp) not found; the memchr and" \
    "simdjson rows are left out (set ANCHORS=DIR to point at a copy)"
fi
HAVE_JQ=0
[[ "$NOJQ" != 1 ]] && command -v jq >/dev/null && HAVE_JQ=1
[[ "$NOJQ" != 1 && "$HAVE_JQ" == 0 ]] && log "warning: jq not found; the jq rows are left out"

# ---------------------------------------------------------------------------------------------
# 3. spoolscan and the generator
log "building spoolscan and examples/gen (cargo build --release)"
(cd "$ROOT" && cargo build --release --quiet --bin spoolscan --example gen) >&2 || die "cargo build failed"

declare -A GEN_LINES GEN_PUSH GEN_OPENED
generate() { # kind
  local kind=$1 file="$DATA/$1-$SIZE.ndjson" summary="$DATA/$1-$SIZE.summary"
  if [[ -f "$file" && -f "$summary" && "$file" -nt "$GEN" ]]; then
    log "reusing $file"
  else
    log "generating $kind $SIZE"
    "$GEN" "$kind" "$SIZE" "$file" 2>"$summary" || die "gen $kind $SIZE failed: $(cat "$summary")"
  fi
  GEN_LINES[$kind]=$(grep -oE '[0-9]+ lines,' "$summary" | head -n 1 | grep -oE '[0-9]+')
  GEN_PUSH[$kind]=$(grep -oE '[0-9]+ lines with type=PushEvent' "$summary" | grep -oE '^[0-9]+')
  GEN_OPENED[$kind]=$(grep -oE '[0-9]+ with payload.action=opened' "$summary" | grep -oE '^[0-9]+')
  [[ -n "${GEN_LINES[$kind]}" ]] || die "cannot read the generator's summary $summary"
  [[ "$(tail -c 1 "$file" | od -An -c | tr -d ' ')" == '\n' ]] || die "$file does not end with LF"
}
for k in transcript logs events; do generate "$k"; done

# ---------------------------------------------------------------------------------------------
# 4. cases: number | title | kind | rules (';'-separated PATH=V1,V2; empty: no rules) | expected
CODEX='type=turn.completed,error,turn.failed;item.type=agent_message'
CASE_TABLE=$(cat <<EOF
1|transcript, Codex selection|transcript|$CODEX|
2|logs, Codex selection|logs|$CODEX|
3|events, \`--keep type=PushEvent\` (about half kept)|events|type=PushEvent|${GEN_PUSH[events]}
4|events, \`--keep payload.action=opened\` (nested, late in the line)|events|payload.action=opened|${GEN_OPENED[events]}
5|events, no rules (every line validated; simdjson \`--all\`)|events||${GEN_LINES[events]}
EOF
)

# jq filter for the rules: a rule matches when the value at PATH is one of its strings.
jq_filter() { # rules
  local rules=$1 rule path vals conds=() p v sel
  [[ -n "$rules" ]] || { printf '.'; return; }
  IFS=';' read -ra rs <<<"$rules"
  for rule in "${rs[@]}"; do
    path=${rule%%=*} vals=${rule#*=} sel="" p="" v=""
    IFS='.' read -ra keys <<<"$path"
    for k in "${keys[@]}"; do sel+=".\"$k\""; done
    IFS=',' read -ra vs <<<"$vals"
    for x in "${vs[@]}"; do v+="${v:+,}\"$x\""; done
    conds+=("(try ($sel | IN($v)) catch false)")
  done
  p=$(printf ' or %s' "${conds[@]}")
  printf 'select(%s)' "${p# or }"
}

NPROC=$(nproc)
if [[ -z "${LEVELS+set}" ]]; then
  LEVELS=""
  grep -qw avx512bw /proc/cpuinfo 2>/dev/null && LEVELS=avx2
fi
IFS=',' read -ra LEVEL_LIST <<<"$LEVELS"
RUNS="$OUT/runs.tsv"
printf 'case\ttool\trep\twall\trss_kib\trc\tcount\tlines\n' >"$RUNS"
SCRATCH="$OUT/scratch"
mkdir -p "$SCRATCH"

run_one() { # case tool rep -- cmd...
  local c=$1 tool=$2 rep=$3 t0 t1 rc wall rss count lines=NA
  shift 4
  local out="$SCRATCH/$c-$tool.out" err="$SCRATCH/$c-$tool.err" tf="$SCRATCH/$c-$tool.time"
  # spoolscan prints the retained lines (to /dev/null); its counts come from its report
  [[ $tool == spoolscan* ]] && out=/dev/null && rm -f "$SCRATCH/$c-$tool.stats"
  cat "$FILE" >/dev/null
  t0=$EPOCHREALTIME
  /usr/bin/time -f '%e %M' -o "$tf" "$@" </dev/null >"$out" 2>"$err"
  rc=$?
  t1=$EPOCHREALTIME
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", b-a}')
  rss=$(tail -n 1 "$tf" | awk '{print $2}')
  if [[ $tool == spoolscan* ]]; then
    read -r count lines < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["retained"], d["lines"])' \
      "$SCRATCH/$c-$tool.stats" 2>/dev/null) || count=NA
  else
    count=$(grep -oE '[0-9]+' "$out" | head -n 1)
  fi
  count=${count:-NA} lines=${lines:-NA}
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$tool" "$rep" "$wall" "${rss:-NA}" "$rc" "$count" "$lines" >>"$RUNS"
  log "$(printf 'case %s %-9s rep %d/%d: %8.3f s %8.1f MiB  count=%s%s rc=%s' "$c" "$tool" "$rep" "$REPS" "$wall" \
    "$(awk -v k="${rss:-0}" 'BEGIN{print k/1024}')" "$count" "$([[ $lines != NA ]] && echo " lines=$lines")" "$rc")"
  ((rc == 0)) || log "  $tool stderr: $(tail -c 600 "$err" | tr '\n' ' ')"
}

COMMANDS="$OUT/commands.tsv"
: >"$COMMANDS"
while IFS='|' read -r c title kind rules expected; do
  [[ -n "$c" ]] || continue
  [[ "$CASES" == all || ",$CASES," == *",$c,"* ]] || continue
  FILE="$DATA/$kind-$SIZE.ndjson"
  keep=() sj=()
  if [[ -n "$rules" ]]; then
    IFS=';' read -ra rs <<<"$rules"
    for r in "${rs[@]}"; do keep+=(--keep "$r"); done
    sj=("${keep[@]}")
  else
    sj=(--all)
  fi
  batch=$SMALL_BATCH
  [[ $kind == transcript ]] && batch=$BIG_BATCH
  filter=$(jq_filter "$rules")
  declare -a T_MEMCHR=("$OUT/memchr_count" "$FILE")
  declare -a T_SIMDJSON=("$OUT/simdjson_select" --mmap --batch "$batch" "${sj[@]}" "$FILE")
  # One core (the CLI's default is every core), and every core (`--threads $(nproc)`).
  declare -a T_SPOOLSCAN=("$SPOOLSCAN" scan "$FILE" "${keep[@]}" --case-sensitive --threads 1 --stats "$SCRATCH/$c-spoolscan.stats" -q)
  declare -a T_SPOOLSCAN_MT=("$SPOOLSCAN" scan "$FILE" "${keep[@]}" --case-sensitive --threads "$NPROC" --stats "$SCRATCH/$c-spoolscan-mt.stats" -q)
  jq_cmd="jq -c '$filter' \"\$FILE\" | wc -l"
  {
    printf '%s\tmemchr\t%s\n' "$c" "memchr_count \$FILE"
    printf '%s\tsimdjson\t%s\n' "$c" "simdjson_select --mmap --batch $batch ${sj[*]} \$FILE"
    printf '%s\tspoolscan\t%s\n' "$c" "spoolscan scan \$FILE ${keep[*]}${keep[*]:+ }--case-sensitive --threads 1 --stats R -q > /dev/null"
    printf '%s\tspoolscan-mt\t%s\n' "$c" "spoolscan scan \$FILE ${keep[*]}${keep[*]:+ }--case-sensitive --threads $NPROC --stats R -q > /dev/null"
    printf '%s\tspoolscan-pipe\t%s\n' "$c" "spoolscan scan \$FILE ${keep[*]}${keep[*]:+ }--case-sensitive --threads 1 --stats R -q | cat > /dev/null"
    for lv in "${LEVEL_LIST[@]}"; do
      printf '%s\tspoolscan-%s\t%s\n' "$c" "$lv" "SPOOLSCAN_SIMD=$lv spoolscan scan \$FILE ${keep[*]}${keep[*]:+ }--case-sensitive --threads 1 --stats R -q > /dev/null"
    done
    printf '%s\tjq\t%s\n' "$c" "$jq_cmd"
  } >>"$COMMANDS"
  log "case $c: $title ($(stat -c %s "$FILE") bytes)"
  tools=()
  ((HAVE_MEMCHR)) && tools+=(memchr)
  ((HAVE_SIMDJSON)) && tools+=(simdjson)
  tools+=(spoolscan spoolscan-mt spoolscan-pipe)
  for lv in "${LEVEL_LIST[@]}"; do tools+=("spoolscan-$lv"); done
  ((HAVE_JQ)) && tools+=(jq)
  for ((rep = 1; rep <= REPS; rep++)); do
    # Each rep starts one tool further, so that no tool always runs in the same place of the
    # round: with a fixed order (the one-thread row always right after simdjson), two runs put
    # the one-thread transcript row 14-25% behind the same scan forced to AVX2, which a direct
    # A/B of the two did not reproduce.
    for ((k = 0; k < ${#tools[@]}; k++)); do
      t=${tools[(k + rep - 1) % ${#tools[@]}]}
      case $t in
        memchr) run_one "$c" memchr "$rep" -- "${T_MEMCHR[@]}" ;;
        simdjson) run_one "$c" simdjson "$rep" -- "${T_SIMDJSON[@]}" ;;
        spoolscan) run_one "$c" spoolscan "$rep" -- "${T_SPOOLSCAN[@]}" ;;
        spoolscan-mt) run_one "$c" spoolscan-mt "$rep" -- "${T_SPOOLSCAN_MT[@]}" ;;
        # The lines written into a pipe (spoolscan writes nothing to /dev/null, as GNU grep).
        spoolscan-pipe)
          run_one "$c" spoolscan-pipe "$rep" -- bash -c '"$@" | cat >/dev/null' pipe \
            "${T_SPOOLSCAN[@]/%$c-spoolscan.stats/$c-spoolscan-pipe.stats}"
          ;;
        spoolscan-*)
          lv=${t#spoolscan-}
          run_one "$c" "$t" "$rep" -- env SPOOLSCAN_SIMD="$lv" "${T_SPOOLSCAN[@]/%$c-spoolscan.stats/$c-spoolscan-$lv.stats}"
          ;;
        jq) run_one "$c" jq "$rep" -- bash -c "jq -c '$filter' \"\$1\" | wc -l" jq "$FILE" ;;
      esac
    done
  done
done <<<"$CASE_TABLE"

# ---------------------------------------------------------------------------------------------
# 5 and 6. checks and report
export CASE_TABLE SIZE REPS DATA SMALL_BATCH BIG_BATCH
LEVELS_CSV="$(IFS=','; echo "${LEVEL_LIST[*]}")"
export LEVELS_CSV
export GEN_LINES_T="${GEN_LINES[transcript]}" GEN_LINES_L="${GEN_LINES[logs]}" GEN_LINES_E="${GEN_LINES[events]}"
python3 - "$RUNS" "$COMMANDS" <<'PY' | tee "$OUT/report.md"
import os, platform, statistics, subprocess, sys, datetime

runs_path, commands_path = sys.argv[1:3]

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:
        return ""

def lscpu(field):
    for line in sh("lscpu").splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return "?"

gen_lines = {"transcript": os.environ["GEN_LINES_T"], "logs": os.environ["GEN_LINES_L"], "events": os.environ["GEN_LINES_E"]}
cases = []
for line in os.environ["CASE_TABLE"].splitlines():
    if line.strip():
        c, title, kind, rules, expected = line.split("|")
        cases.append((c, title, kind, rules, expected))

runs = {}
header = None
for line in open(runs_path):
    f = line.rstrip("\n").split("\t")
    if header is None:
        header = f
        continue
    r = dict(zip(header, f))
    runs.setdefault(r["case"], {}).setdefault(r["tool"], []).append(r)
commands = {}
for line in open(commands_path):
    c, tool, cmd = line.rstrip("\n").split("\t", 2)
    commands[(c, tool)] = cmd

simdjson_version = sh("dpkg-query -W -f='${Version}' libsimdjson-dev") or "?"
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
simd = " ".join(sh(r"grep -o 'avx512bw\|avx2' /proc/cpuinfo | sort -u").split()) or "neither avx2 nor avx512bw"
print(f"## spoolscan compared, {os.environ['SIZE']} inputs from `examples/gen`, {now}")
print()
print(f"- machine: {lscpu('Model name')}, {sh('nproc')} cores online, kernel {platform.release()}; "
      f"CPU SIMD (spoolscan dispatches at run time to the widest; `SPOOLSCAN_SIMD` unset): {simd}")
print(f"- tools: {sh('target/release/spoolscan --version 2>/dev/null') or 'spoolscan'} "
      f"({sh('git rev-parse --short HEAD 2>/dev/null')}{'+dirty' if sh('git status --porcelain --untracked-files=no 2>/dev/null') else ''}); "
      f"simdjson {simdjson_version} "
      f"(`iterate_many`, On-Demand, -O3 -march=native, one thread; batch {int(os.environ['SMALL_BATCH']) >> 10} KiB, "
      f"{int(os.environ['BIG_BATCH']) >> 20} MiB for the transcript); {sh('jq --version') or 'no jq'}; "
      f"{sh('cc --version | head -n1')}; {sh('rustc --version')}")
print(f"- method: one core per tool (`spoolscan-mt`: every core); the page cache warmed (`cat FILE > /dev/null`) before every run; "
      f"{os.environ['REPS']} run(s) per tool, interleaved; medians. Wall = `$EPOCHREALTIME` around "
      f"`/usr/bin/time -f '%e %M'` (includes process start-up), peak RSS = `%M` (mapped file pages "
      f"count); GB/s = 10^9 bytes/s; \"× memchr\" and \"× simdjson\" are speeds relative to those rows.")

failures = []
levels = [l for l in os.environ.get("LEVELS_CSV", "").split(",") if l]
order = ["memchr", "simdjson", "spoolscan", "spoolscan-mt", "spoolscan-pipe"] + [f"spoolscan-{l}" for l in levels] + ["jq"]
labels = {"memchr": "C `memchr` newline count, fresh mapping", "simdjson": "simdjson `iterate_many` (C++)",
          "spoolscan": "spoolscan scan --threads 1",
          "spoolscan-mt": f"spoolscan scan --threads {os.cpu_count()}",
          "spoolscan-pipe": "spoolscan scan --threads 1, lines written into a pipe (to `cat`)",
          "jq": "jq 1.x `select`"}
for l in levels:
    labels[f"spoolscan-{l}"] = f"spoolscan scan --threads 1, SIMD level `{l}` forced"
labels["jq"] = f"{sh('jq --version') or 'jq'} `-c select(...)` \\| `wc -l`"
for c, title, kind, rules, expected in cases:
    if c not in runs:
        continue
    size = os.path.getsize(os.path.join(os.environ["DATA"], f"{kind}-{os.environ['SIZE']}.ndjson"))
    t = runs[c]
    med = {tool: statistics.median(float(r["wall"]) for r in rs) for tool, rs in t.items()}

    def counts(tool, field="count"):
        return sorted({r[field] for r in t.get(tool, [])})

    # the checks
    def check(what, a, b):
        if a != b:
            failures.append(f"case {c} ({title}): {what}: {a} != {b}")
    for tool, rs in t.items():
        bad = sorted({r["rc"] for r in rs if r["rc"] != "0"})
        if bad:
            failures.append(f"case {c}: {tool} exited with status {','.join(bad)}")
        if len(counts(tool)) != 1:
            failures.append(f"case {c}: {tool} printed different counts across runs: {counts(tool)}")
    ss = counts("spoolscan")
    ss_lines = counts("spoolscan", "lines")
    check("spoolscan lines vs the generator's lines", ss_lines, [gen_lines[kind]])
    if "spoolscan-mt" in t:
        check("spoolscan --threads N vs --threads 1, retained", counts("spoolscan-mt"), ss)
        check("spoolscan --threads N vs --threads 1, lines", counts("spoolscan-mt", "lines"), ss_lines)
    if "spoolscan-pipe" in t:
        check("spoolscan into a pipe vs to /dev/null, retained", counts("spoolscan-pipe"), ss)
    for l in levels:
        if f"spoolscan-{l}" in t:
            check(f"spoolscan at level {l} vs the best level, retained", counts(f"spoolscan-{l}"), ss)
            check(f"spoolscan at level {l} vs the best level, lines", counts(f"spoolscan-{l}", "lines"), ss_lines)
    if "memchr" in t:
        check("memchr newlines vs spoolscan lines", counts("memchr"), ss_lines)
    if "simdjson" in t:
        check("simdjson retained vs spoolscan retained", counts("simdjson"), ss)
    if "jq" in t:
        check("jq lines vs spoolscan retained", counts("jq"), ss)
    if expected:
        check("spoolscan retained vs the generator's count", ss, [expected])

    print()
    print(f"### {c}. {title}")
    print()
    rules_txt = " ".join(f"--keep {r}" for r in rules.split(";")) if rules else "(no rules)"
    print(f"{size:,} bytes, {gen_lines[kind]} lines; selection `{rules_txt}`; "
          f"retained {'/'.join(ss)}" + (f" (generator: {expected})" if expected else ""))
    print()
    print("| tool | wall s (median) | GB/s | × memchr | × simdjson | peak RSS MiB | count |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for tool in order:
        if tool not in t:
            continue
        w = med[tool]
        rel = lambda ref: f"{med[ref] / w:.2f}×" if ref in med and w > 0 else "–"
        rss = statistics.median(int(r["rss_kib"]) for r in t[tool] if r["rss_kib"].isdigit()) / 1024 \
            if any(r["rss_kib"].isdigit() for r in t[tool]) else float("nan")
        cnt = "/".join(counts(tool))
        if tool == "memchr":
            cnt += " newlines"
        elif tool.startswith("spoolscan"):
            cnt += f" (lines {'/'.join(ss_lines)})"
        print(f"| {labels[tool]} | {w:.3f} | {size / w / 1e9:.2f} | {rel('memchr')} | {rel('simdjson')} | "
              f"{rss:.1f} | {cnt} |")
    ratios = [f"spoolscan runs at {med[ref] / med['spoolscan']:.2f}× the speed of {ref}"
              for ref in ("memchr", "simdjson") if ref in med and "spoolscan" in med]
    if "spoolscan-mt" in med and "spoolscan" in med:
        ratios.append(f"with {os.cpu_count()} threads at {med['spoolscan'] / med['spoolscan-mt']:.2f}× "
                      f"its one-thread speed" + (f" and {med['memchr'] / med['spoolscan-mt']:.2f}× "
                                                 f"the C newline count" if "memchr" in med else ""))
    if ratios:
        print()
        print("; ".join(ratios) + ".")
    print()
    print("```")
    for tool in order:
        if (c, tool) in commands and tool in t:
            print(commands[(c, tool)])
    print("```")

print()
if failures:
    print("**COUNT CHECK FAILED:**")
    for f in failures:
        print(f"- MISMATCH {f}")
        print(f"MISMATCH {f}", file=sys.stderr)
    sys.exit(1)
print("All counts agree (memchr newlines = spoolscan lines = generator lines; simdjson = spoolscan = jq retained).")
PY
status=${PIPESTATUS[0]}
log "report: $OUT/report.md (raw runs: $RUNS)"
exit "$status"
