#!/usr/bin/env bash
# Nightly / main-branch job: benchmark the commits not benchmarked yet, publish the site, and list
# the regressions asv's step detection finds in the history.
#
#   scripts/ci_nightly.sh [OUT_DIR]
#
# Steps (the commands a person runs): derive the asv config and register the machine with its
# hardware keys (scripts/asv_ci_config.py, through torchperf's library); `asv run NEW` (commits on the
# configured branches since the last benchmarked one; the first time, the branch tip), with raw
# samples; record the environments' fingerprint sidecars; `torchperf publish` (asv's site plus
# torchperf's pages, into html/, with the sidecars of the project's meta/ even though it is given
# the derived config under .asv/); `torchperf regressions`. The results/ and meta/ directories must
# be carried from one run to the next (the workflow caches them).
# Exit status: 0 when the site was published (regressions are reported, not fatal: the history has
# already happened), non-zero when a step failed (a failed benchmark: after publishing the rest).
#
# Environment: TORCHPERF_TORCH, TORCHPERF_BENCH, TORCHPERF_TIER (default: default), ASV_MACHINE,
# ASV_CONFIG, TORCHPERF, ASV — as in ci_pr_gate.sh.
set -euo pipefail

OUT_DIR=${1:-torchperf-nightly}
TORCHPERF=${TORCHPERF:-torchperf}
ASV=${ASV:-asv}
PY=${PYTHON:-python3}
MACHINE=${ASV_MACHINE:-ci-runner}
export TORCHPERF_TIER=${TORCHPERF_TIER:-default}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT_DIR"

# shellcheck disable=SC2086
CONF=$("$PY" "$HERE/asv_ci_config.py" --config "${ASV_CONFIG:-asv.conf.json}" --out .asv/ci-nightly.conf.json \
  --machine "$MACHINE" --torch ${TORCHPERF_TORCH:-})
RESULTS_DIR=$("$PY" -c 'import sys; from torchperf_core.store import read_config; print(read_config(sys.argv[1]).results_dir)' "$CONF")

bench_args=()
if [ -n "${TORCHPERF_BENCH:-}" ]; then bench_args=(--bench "$TORCHPERF_BENCH"); fi
range=NEW
if [ -z "$(find "$RESULTS_DIR" -name '*-*.json' 2>/dev/null | head -n 1)" ]; then
  range="HEAD^!"  # nothing benchmarked yet: start with the tip, not the whole history
fi
set +e
"$ASV" --config "$CONF" run --machine "$MACHINE" --record-samples --skip-existing-successful \
  --show-stderr "${bench_args[@]}" "$range" 2>&1 | tee "$OUT_DIR/asv-run.log"
run_status=${PIPESTATUS[0]}
set -e
if [ "$run_status" -ne 0 ] && grep -q "No commit hashes selected" "$OUT_DIR/asv-run.log"; then
  # asv exits 1 when NEW selects nothing: not an error for a nightly job.
  echo "no new commits to benchmark"
  run_status=0
fi
# A failed benchmark fails the job, but only after the site is published with everything else.

"$PY" "$HERE/record_sidecars.py" --config "$CONF" --machine "$MACHINE" || echo "sidecars not recorded"

"$TORCHPERF" publish --config "$CONF"

set +e
"$TORCHPERF" regressions --config "$CONF" --format markdown --output "$OUT_DIR/regressions.md" >/dev/null
"$TORCHPERF" regressions --config "$CONF" --format text
status=$?
set -e
if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$OUT_DIR/regressions.md" ]; then
  cat "$OUT_DIR/regressions.md" >> "$GITHUB_STEP_SUMMARY"
fi
if [ "$status" -ge 2 ]; then exit "$status"; fi
if [ "$run_status" -ne 0 ]; then echo "asv run exited $run_status (a benchmark failed?)" >&2; exit "$run_status"; fi
exit 0
