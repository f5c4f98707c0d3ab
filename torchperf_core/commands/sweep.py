"""`torchperf sweep OP --sizes ...`: the size-scaling curve, as a table and optionally a plot."""

from __future__ import annotations

import argparse
import json

from torchperf_core.commands._common import (add_case_arguments, output_path, parse_sizes, positive_int,
                                             timing_options)

NAME = "sweep"
HELP = "time one operator over sizes: time and GFLOP/s vs size (table, --plot PNG/SVG)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("op", help="operator (see `torchperf bench --list`)")
    parser.add_argument("--sizes", default="256,512,1024,2048", help="comma-separated sizes (default 256,512,1024,2048)")
    add_case_arguments(parser)
    parser.add_argument("--plot", help="write the curve to this .png or .svg file")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --plot file")
    parser.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from torchperf_core.engine import prepare
    from torchperf_core.render import render_sweep

    sizes = parse_sizes(args.sizes)
    plot = output_path(args.plot, (".png", ".svg"), args.force) if args.plot else None
    threads = positive_int(args.threads, "--threads")
    options = timing_options(args)
    input_sets = positive_int(args.input_sets, "--input-sets")
    # One size's inputs at a time: the previous case's tensors are freed before the next is built.
    measurements = [prepare(args.op, n, args.dtype, args.device, threads=threads, layout=args.layout,
                            input_sets=input_sets).measure(options) for n in sizes]
    if args.json:
        print(json.dumps([m.to_json() for m in measurements], indent=2))
    else:
        print(render_sweep(sizes, measurements, args.dtype))
    if plot:
        _plot(sizes, measurements, plot)
        if not args.json:
            print(f"plot written to {plot}")
    return 0


def _plot(sizes, measurements, path) -> None:  # noqa: ANN001
    """Time and GFLOP/s (or GB/s for ops without a FLOP model) against size, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = measurements[0].spec
    fig, (ax_t, ax_r) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    med = [m.median for m in measurements]
    lo = [m.median - m.q25 for m in measurements]
    hi = [m.q75 - m.median for m in measurements]
    ax_t.errorbar(sizes, med, yerr=[lo, hi], marker="o", capsize=3)
    ax_t.set(xscale="log", yscale="log", xlabel="size n", ylabel="median time per call [s] (bars: IQR)")
    use_flops = measurements[0].gflops is not None
    rate = [(m.gflops if use_flops else m.gbps) for m in measurements]
    ax_r.plot(sizes, rate, marker="o")
    ax_r.set(xscale="log", xlabel="size n", ylabel="GFLOP/s" if use_flops else "GB/s")
    for ax in (ax_t, ax_r):
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(f"{spec.op} {spec.dtype} on {spec.device}, {spec.threads} threads")
    fig.savefig(path)
    plt.close(fig)
