#!/usr/bin/env bash
# Pull-request gate: BASE and HEAD measured together on this machine, decided or re-measured.
#
#   scripts/ci_pr_gate.sh BASE HEAD [OUT_DIR]
#
# The same commands a person runs by hand, in sequence:
#   1. check the asv config and register the machine through torchperf's library
#      (scripts/asv_ci_config.py: the config checked by torchperf's one reader — a misspelt key stops
#      here — and the machine entry with its hardware keys);
#   2. `torchperf continuous BASE HEAD` (docs/GATE.md): each commit's tree is extracted
#      (.asv/gate/<sha>/) and run by the tool's own interpreter, the two sides interleaved case by
#      case in rounds of fresh processes (alternating which goes first), each case judged on its
#      per-round medians at a family-wise false-alarm target of 5% per gate run; undecided cases get
#      more rounds until decided or TORCHPERF_BUDGET seconds are spent.
# Writes OUT_DIR/compare.md (the PR comment) and compare.json; prints the text report; appends the
# markdown to $GITHUB_STEP_SUMMARY when set. Exit status: that of `torchperf continuous` (0: no
# decided regression — also when some cases stay unknown or contended, which the report's first line
# says; 1: a decided regression; 2: an error).
#
# Environment (all optional):
#   TORCHPERF_BENCH    --bench regex on 'benchmark(parameters)' (default: all)
#   TORCHPERF_TIER     suite tier for the benchmarks (default: smoke)
#   TORCHPERF_FACTOR   --factor (default: the gate's, verdict.GATE_FACTOR)
#   TORCHPERF_BUDGET   seconds for the re-measuring rounds (default: 1200)
#   TORCHPERF_THREADS  --threads for both sides (default: torch's default)
#   ASV_MACHINE        machine name (default: ci-runner)
#   ASV_CONFIG         asv config (default: asv.conf.json)
#   TORCHPERF          the command (default: torchperf on PATH)
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 BASE HEAD [OUT_DIR]" >&2
  exit 2
fi
BASE_REV=$1
HEAD_REV=$2
OUT_DIR=${3:-torchperf-pr}
TORCHPERF=${TORCHPERF:-torchperf}
PY=${PYTHON:-python3}
MACHINE=${ASV_MACHINE:-ci-runner}
FACTOR=${TORCHPERF_FACTOR:-$("$PY" -c 'from torchperf_core.verdict import GATE_FACTOR; print(GATE_FACTOR)')}
TIER=${TORCHPERF_TIER:-smoke}
BUDGET=${TORCHPERF_BUDGET:-1200}
HERE=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$OUT_DIR"
resolve() {
  git rev-parse --verify --quiet "$1^{commit}" || { echo "ci_pr_gate: unknown revision '$1'" >&2; exit 2; }
}
BASE=$(resolve "$BASE_REV")
HEAD=$(resolve "$HEAD_REV")
echo "torchperf PR gate: base ${BASE:0:8}  head ${HEAD:0:8}  machine $MACHINE  factor $FACTOR  tier $TIER  budget ${BUDGET}s"

CONF=$("$PY" "$HERE/asv_ci_config.py" --config "${ASV_CONFIG:-asv.conf.json}" --out .asv/ci-pr.conf.json \
  --machine "$MACHINE")

gate=("$TORCHPERF" continuous "$BASE" "$HEAD" --config "$CONF" --factor "$FACTOR" --tier "$TIER" --budget "$BUDGET")
if [ -n "${TORCHPERF_BENCH:-}" ]; then gate+=(--bench "$TORCHPERF_BENCH"); fi
if [ -n "${TORCHPERF_THREADS:-}" ]; then gate+=(--threads "$TORCHPERF_THREADS"); fi
set +e
"${gate[@]}" --format markdown --output "$OUT_DIR/compare.md" --json "$OUT_DIR/compare.json" >/dev/null
status=$?
set -e
if [ "$status" -le 1 ]; then
  "$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print("torchperf continuous: " + d["headline"])' \
    "$OUT_DIR/compare.json"
  cat "$OUT_DIR/compare.md"
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$OUT_DIR/compare.md" >> "$GITHUB_STEP_SUMMARY"; fi
fi
exit "$status"
