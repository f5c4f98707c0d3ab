"""Bisecting a slowdown across a package's releases (`torchperf bisect`)."""

__all__ = []  # type: list[str]
