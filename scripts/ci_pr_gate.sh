#!/usr/bin/env bash
# Pull-request gate: benchmark BASE and HEAD on this machine, interleaved, and compare them.
#
#   scripts/ci_pr_gate.sh BASE HEAD [OUT_DIR]
#
# The same commands a person runs by hand, in sequence:
#   1. derive the asv config and register the machine through torchperf's library
#      (scripts/asv_ci_config.py: the config checked by torchperf's one reader, the machine entry
#      with its hardware keys, so compare can tell results from different CPUs apart);
#   2. `asv continuous BASE HEAD`: both commits in the same environments, rounds interleaved
#      (BASE, HEAD, BASE, HEAD ...) so that drift of the machine hits both sides alike, raw samples
#      recorded so the comparison can use Mann-Whitney U;
#   3. record the environments' fingerprint sidecars (what `torchperf run` does after asv run);
#   4. `torchperf compare BASE HEAD`: asv's significance rules, exit 1 on a significant slowdown
#      beyond the factor (asv continuous's own exit status is not used: it exits 2 without a table
#      when any benchmark fails).
# Writes OUT_DIR/compare.md (the PR comment), compare.txt and compare.json; appends the markdown to
# $GITHUB_STEP_SUMMARY when set. Exit status: that of `torchperf compare` (0 ok, 1 regression, 2 error).
#
# Environment (all optional):
#   TORCHPERF_TORCH    torch versions to build (space separated; default: the config's matrix)
#   TORCHPERF_BENCH    asv --bench regex (default: all)
#   TORCHPERF_TIER     suite tier for the benchmarks (default: smoke)
#   TORCHPERF_FACTOR   --factor (default: torchperf compare's, noise.DEFAULT_FACTOR)
#   ASV_MACHINE        machine name (default: ci-runner)
#   ASV_CONFIG         asv config (default: asv.conf.json)
#   TORCHPERF / ASV    the commands (default: torchperf / asv on PATH)
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 BASE HEAD [OUT_DIR]" >&2
  exit 2
fi
BASE_REV=$1
HEAD_REV=$2
OUT_DIR=${3:-torchperf-pr}
TORCHPERF=${TORCHPERF:-torchperf}
ASV=${ASV:-asv}
PY=${PYTHON:-python3}
MACHINE=${ASV_MACHINE:-ci-runner}
FACTOR=${TORCHPERF_FACTOR:-$("$PY" -c 'from torchperf_core.machine import DEFAULT_FACTOR; print(DEFAULT_FACTOR)')}
export TORCHPERF_TIER=${TORCHPERF_TIER:-smoke}
HERE=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$OUT_DIR"
resolve() {
  git rev-parse --verify --quiet "$1^{commit}" || { echo "ci_pr_gate: unknown revision '$1'" >&2; exit 2; }
}
BASE=$(resolve "$BASE_REV")
HEAD=$(resolve "$HEAD_REV")
echo "torchperf PR gate: base ${BASE:0:8}  head ${HEAD:0:8}  machine $MACHINE  factor $FACTOR"

# shellcheck disable=SC2086
CONF=$("$PY" "$HERE/asv_ci_config.py" --config "${ASV_CONFIG:-asv.conf.json}" --out .asv/ci-pr.conf.json \
  --machine "$MACHINE" --torch ${TORCHPERF_TORCH:-})

bench_args=()
if [ -n "${TORCHPERF_BENCH:-}" ]; then bench_args=(--bench "$TORCHPERF_BENCH"); fi
set +e
"$ASV" --config "$CONF" continuous --machine "$MACHINE" --interleave-rounds --factor "$FACTOR" \
  --show-stderr "${bench_args[@]}" "$BASE" "$HEAD"
asv_status=$?
set -e
echo "asv continuous exited $asv_status (not used: torchperf compare decides)"

# The fingerprint of each environment, for the "why" under the table (torchperf run does this itself).
"$PY" "$HERE/record_sidecars.py" --config "$CONF" --machine "$MACHINE" || echo "sidecars not recorded: the table still stands"

compare=("$TORCHPERF" compare "$BASE" "$HEAD" --config "$CONF" --machine "$MACHINE" --factor "$FACTOR")
set +e
"${compare[@]}" --format text --output "$OUT_DIR/compare.txt"
status=$?
set -e
if [ "$status" -le 1 ]; then
  "${compare[@]}" --format markdown --output "$OUT_DIR/compare.md" >/dev/null || true
  "${compare[@]}" --format json --output "$OUT_DIR/compare.json" >/dev/null || true
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$OUT_DIR/compare.md" >> "$GITHUB_STEP_SUMMARY"; fi
fi
exit "$status"
