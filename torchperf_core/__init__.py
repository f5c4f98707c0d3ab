"""torchperf_core: the measurement engine behind torchperf.

Importing this package is cheap and never imports torch: asv imports benchmark modules during
discovery, and compare/publish never need a device.
"""

__version__ = "0.1.0"
