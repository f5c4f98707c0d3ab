"""`torchperf bench OP`: time one operator and print median, IQR, CI, GFLOP/s, GB/s, % of peak."""

from __future__ import annotations

import argparse
import json
import math

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
        data["stats"]["fraction_of_peak"] = ceilings.fraction_of_peak(m.spec.dtype, m.gflops) if ceilings else None
        print(json.dumps(data, indent=2))
        return 0
    print(render_measurement(m, ceilings))
    if warning:
        print(f"note: {warning}")
    return 0


def render_measurement(m, ceilings=None) -> str:  # noqa: ANN001
    from torchperf_core.render import format_percent, format_rate, format_time

    lo, hi = m.ci99
    ci = "unbounded with this few samples" if math.isinf(lo) or math.isinf(hi) else f"{format_time(lo)} .. {format_time(hi)}"
    lines = [
        m.spec.label(),
        f"  median     {format_time(m.median)}   (IQR {format_time(m.iqr)}, {m.relative_iqr:.1%} of median)",
        f"  99% CI     {ci}",
        f"  GFLOP/s    {format_rate(m.gflops, 'GFLOP/s')}",
        f"  GB/s       {format_rate(m.gbps, 'GB/s')}",
    ]
    if ceilings is not None:
        lines.append(f"  of peak    {format_percent(ceilings.fraction_of_peak(m.spec.dtype, m.gflops))} compute, "
                     f"{format_percent(ceilings.fraction_of_bandwidth(m.gbps))} bandwidth (calibrated {ceilings.measured_at})")
    else:
        lines.append("  of peak    unknown (run `torchperf calibrate`)")
    lines.append(f"  samples    {len(m.samples)} × {m.number} call(s), after {m.warmup_calls} warmup calls; "
                 f"threads {m.spec.threads}, precision {m.spec.precision}, timing {m.spec.timing_mode}"
                 f"{', cold L2' if m.spec.cold_l2 else ''}")
    if m.noise_warning:
        lines.append(f"  warning    {m.noise_warning}")
    return "\n".join(lines)
