"""The fleet: one suite on many machines over SSH, and merging results folders (`torchperf fleet`, `merge`)."""

__all__ = []  # type: list[str]
