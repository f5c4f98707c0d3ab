"""The PR gate: base and head measured interleaved, decided or re-measured (`torchperf continuous`)."""

__all__ = []  # type: list[str]
