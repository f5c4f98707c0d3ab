"""`torchperf bench OP`: time one operator and print median, IQR, CI, GFLOP/s, GB/s, % of peak.

The text is `render.render_measurement`; the ceilings come from the one calibration reader."""

from __future__ import annotations

import argparse
import json

from torchperf_core.commands._common import (add_case_arguments, load_ceilings_quietly, positive_int,
                                             timing_options)

NAME = "bench"
HELP = "time one operator: median, IQR, 99%% CI, GFLOP/s, GB/s, %% of the calibrated peak"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("op", help="operator (see `torchperf bench --list`)", nargs="?")
    parser.add_argument("--size", default="1024", help="N for the op's canonical shape, or dims like M=512,N=256,K=64")
    add_case_arguments(parser)
    parser.add_argument("--machine", default=None, help="whose calibration to read (default: this host's name)")
    parser.add_argument("--json", action="store_true", help="print the measurement as JSON")
    parser.add_argument("--list", action="store_true", help="list the operators and their shapes")


def describe_ops() -> str:
    from torchperf_core import catalog
    from torchperf_core.render import table

    rows = [[o.name, o.family, o.summary] for o in (catalog.get_op(n) for n in catalog.list_ops())]
    return table(["op", "family", "shape for size n"], rows, "lll")


def run(args: argparse.Namespace) -> int:
    from torchperf_core.errors import TorchperfError
    from torchperf_core.engine import measure

    if args.list:
        print(describe_ops())
        return 0
    if not args.op:
        raise TorchperfError("missing OP; run `torchperf bench --list` for the operators")
    m = measure(args.op, args.size, args.dtype, args.device, threads=positive_int(args.threads, "--threads"),
                layout=args.layout, options=timing_options(args),
                input_sets=positive_int(args.input_sets, "--input-sets"))
    ceilings, warning = load_ceilings_quietly(m.spec.device, args.machine)
    if args.json:
        data = m.to_json()
        peak = ceilings.peak_fraction(m.spec.dtype, m.gflops) if ceilings else None
        data["stats"]["fraction_of_peak"] = peak.value if peak else None
        # the flags travel with the number, so no reader of the JSON shows 182% unexplained
        data["stats"]["ceiling_stale"] = peak.stale if peak else None
        data["stats"]["calibration_provisional"] = ceilings.provisional if ceilings else None
        print(json.dumps(data, indent=2))
        return 0
    from torchperf_core.render import render_measurement

    print(render_measurement(m, ceilings))
    if warning:
        print(f"note: {warning}")
    return 0
