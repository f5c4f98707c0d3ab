"""torchperf's asv suite: one `bench_<family>.py` per operator family.

Every benchmark is a `track_` method that times a `torchperf_core.catalog` op with the torchperf
engine and hands asv the per-call samples; `common.py` explains why (batching with one device sync
per sample, warm numbers even under `asv run --quick`, full asv statistics) and how tiers
(`TORCHPERF_TIER`), devices (`TORCHPERF_DEVICES`) and FLOP/byte attributes work.
"""
