"""`python -m torchperf_core` is the `torchperf` command."""

import sys

from torchperf_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
