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
    parser.add_argument("--metric", default="time", help="time (default) or instructions (Callgrind, CPU, 1 thread)")
    parser.add_argument("--isa", default="default", help="ATen/oneDNN ISA level: default, avx2, avx512 (runs in a child)")


def describe_ops() -> str:
    from torchperf_core import catalog
    from torchperf_core.render import render_op_list

    return render_op_list([catalog.get_op(n) for n in catalog.list_ops()])


def run(args: argparse.Namespace) -> int:
    from torchperf_core.errors import TorchperfError
    from torchperf_core.engine import measure

    if args.list:
        print(describe_ops())
        return 0
    if not args.op:
        raise TorchperfError("missing OP; run `torchperf bench --list` for the operators")
    metric, level = parse_metric(args.metric), parse_isa_level(args.isa)
    if metric == "instructions":
        return run_instructions(args, level)
    if level != "default":
        return run_time_at_isa(args, level)
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


METRICS = ("time", "instructions")


def parse_metric(text: str) -> str:
    from torchperf_core.errors import TorchperfError

    if text not in METRICS:
        raise TorchperfError(f"unknown --metric {text!r}; accepted: {', '.join(METRICS)}")
    return text


def parse_isa_level(text: str) -> str:
    """`--isa`, refused (one line) when unknown or when this CPU lacks it: ATen would die with SIGILL."""
    from torchperf_core.engine import available_levels, isa_unavailable_reason, parse_isa
    from torchperf_core.errors import TorchperfError

    level = parse_isa(text)
    reason = isa_unavailable_reason(level)
    if reason:
        raise TorchperfError(f"--isa {level}: {reason}; available here: {', '.join(available_levels())}")
    return level


def run_instructions(args: argparse.Namespace, level: str) -> int:
    """`--metric instructions`: count instructions per call under Callgrind (1 thread, CPU)."""
    from torchperf_core.engine import InstructionCase, collect_instructions, default_calls
    from torchperf_core.errors import TorchperfError

    if args.device != "cpu":
        raise TorchperfError(f"--metric instructions counts CPU instructions; --device {args.device!r} is not cpu")
    if args.threads not in (None, "1") or args.cold_l2 or args.input_sets != "1":
        raise TorchperfError("--metric instructions counts 1 thread, warm, one input set; "
                             "drop --threads/--cold-l2/--input-sets")
    case = InstructionCase(args.op, args.size, args.dtype, args.layout, calls=default_calls(args.op, args.size))
    counts = collect_instructions([case], isa=level)
    if args.json:
        print(json.dumps([c.to_json() for c in counts], indent=2))
        return 0
    from torchperf_core.render import render_counts

    print(render_counts(counts))
    return 0


def run_time_at_isa(args: argparse.Namespace, level: str) -> int:
    """`--isa LEVEL`: time in a child started with the level's variables; print what ran there."""
    from torchperf_core.engine import Measurement, run_at_isa
    from torchperf_core.env import parse_verbose_output
    from torchperf_core.errors import TorchperfError

    if args.device != "cpu" or args.cold_l2 or args.input_sets != "1" or args.mode != "sync":
        raise TorchperfError("--isa times a CPU op in a child process; drop --device/--cold-l2/--input-sets/--mode")
    done = run_at_isa(level, args.op, args.size, args.dtype, threads=positive_int(args.threads, "--threads"),
                      layout=args.layout, samples=positive_int(args.samples, "--samples"))
    m = Measurement.from_json(done.measurement)
    kernels = ", ".join(parse_verbose_output(done.reading.verbose_lines)[0]) or "native ATen (no MKL/oneDNN call)"
    if args.json:
        data = m.to_json()
        data["isa"] = {**done.reading.to_json(), "kernels": kernels}
        print(json.dumps(data, indent=2))
        return 0
    from torchperf_core.render import render_measurement

    ceilings, _ = load_ceilings_quietly(m.spec.device, args.machine)
    print(render_measurement(m, ceilings))
    print(f"  isa        {done.reading.describe()}; kernel {kernels}")
    return 0

