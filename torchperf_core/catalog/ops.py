"""The operator catalog: what each op builds, calls, and how much work it does.

Every op is an `OpDef`: a canonical shape for a size `n`, an input builder (seeded random values,
never zeros: a GEMM on zeros runs ~15% faster from lower power draw), the call, a FLOP model and a
minimum-bytes-moved model. The asv benchmarks and the CLI both read this one table.

FLOP models follow `torch.utils.flop_counter` wherever it counts the op, and a test checks they agree:

    mm, addmm, linear     2·M·N·K          (addmm/linear: the bias add is not counted, as flop_counter)
    bmm, matmul (batched) 2·B·M·N·K
    *_backward (fwd+bwd)  6·M·N·K          (forward GEMM + grad-input GEMM + grad-weight GEMM)
    conv2d                2·N·Cout·Hout·Wout·Cin·kh·kw
    sdpa                  4·B·H·S·S·D      (QKᵀ and PV; flop_counter reports 0 for SDPA on CPU)
    add, mul, sum         1 per element    (flop_counter counts 0: these are memory-bound)
    softmax               5 per element    (max, sub, exp, sum, div; flop_counter counts 0)
    layer_norm            8 per element    (mean, var, normalise, affine; flop_counter counts 0)

Bytes are the minimum traffic to main memory: every input read once, every output written once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from torchperf_core.errors import TorchperfError, UnsupportedCase, one_of

DTYPES = ("float32", "tf32", "bfloat16", "float16", "float64")
LAYOUTS = ("contiguous", "At", "Bt", "AtBt")
_ITEMSIZE = {"float32": 4, "tf32": 4, "bfloat16": 2, "float16": 2, "float64": 8}

Shape = Mapping[str, int]


def torch_dtype(name: str) -> Any:
    import torch

    return {
        "float32": torch.float32,
        "tf32": torch.float32,
        "bfloat16": torch.bfloat16,
        "float16": torch.float16,
        "float64": torch.float64,
    }[name]


def itemsize(dtype: str) -> int:
    return _ITEMSIZE[dtype]


@dataclass(frozen=True)
class OpDef:
    name: str
    family: str
    summary: str
    dims: tuple[str, ...]
    shape_for_size: Callable[[int], dict[str, int]]
    build: Callable[..., tuple[Any, ...]]
    call: Callable[[tuple[Any, ...]], Any]
    flops: Callable[[Shape], float]
    bytes_moved: Callable[[Shape, int], float]
    layouts: tuple[str, ...] = ("contiguous",)
    backward: bool = False
    flop_counter_counts: bool = True  # torch.utils.flop_counter counts this op (on CPU)


# ---------------------------------------------------------------------------------------- inputs

def _randn(shape: tuple[int, ...], dtype: Any, device: Any, gen: Any, requires_grad: bool = False) -> Any:
    """Seeded N(0,1) values made on the CPU (reproducible across devices), then moved."""
    import torch

    t = torch.randn(shape, generator=gen, dtype=torch.float32).to(device=device, dtype=dtype)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _matrix(rows: int, cols: int, transposed: bool, dtype: Any, device: Any, gen: Any, grad: bool = False) -> Any:
    """A rows×cols operand; `transposed` stores it column-major (the Aᵀ/Bᵀ layouts)."""
    if transposed:
        t = _randn((cols, rows), dtype, device, gen).t()
        if grad:
            t.requires_grad_(True)
        return t
    return _randn((rows, cols), dtype, device, gen, grad)


def _batched(batch: int, rows: int, cols: int, transposed: bool, dtype: Any, device: Any, gen: Any) -> Any:
    if transposed:
        return _randn((batch, cols, rows), dtype, device, gen).transpose(1, 2)
    return _randn((batch, rows, cols), dtype, device, gen)


def _ta(layout: str) -> bool:
    return layout in ("At", "AtBt")


def _tb(layout: str) -> bool:
    return layout in ("Bt", "AtBt")


# ---------------------------------------------------------------------------------------- ops

def _build_mm(s: Shape, dtype: Any, device: Any, layout: str, gen: Any) -> tuple[Any, ...]:
    return (_matrix(s["M"], s["K"], _ta(layout), dtype, device, gen),
            _matrix(s["K"], s["N"], _tb(layout), dtype, device, gen))


def _build_addmm(s: Shape, dtype: Any, device: Any, layout: str, gen: Any) -> tuple[Any, ...]:
    a, b = _build_mm(s, dtype, device, layout, gen)
    return (_randn((s["N"],), dtype, device, gen), a, b)


def _build_bmm(s: Shape, dtype: Any, device: Any, layout: str, gen: Any) -> tuple[Any, ...]:
    return (_batched(s["B"], s["M"], s["K"], _ta(layout), dtype, device, gen),
            _batched(s["B"], s["K"], s["N"], _tb(layout), dtype, device, gen))


def _build_matmul(s: Shape, dtype: Any, device: Any, layout: str, gen: Any) -> tuple[Any, ...]:
    # Broadcasting: a batch of activations times one shared weight matrix.
    return (_randn((s["B"], s["M"], s["K"]), dtype, device, gen),
            _randn((s["K"], s["N"]), dtype, device, gen))


def _build_linear(s: Shape, dtype: Any, device: Any, layout: str, gen: Any, grad: bool = False) -> tuple[Any, ...]:
    x = _randn((s["M"], s["K"]), dtype, device, gen, grad)
    w = _randn((s["N"], s["K"]), dtype, device, gen, grad)
    b = _randn((s["N"],), dtype, device, gen, grad)
    return (x, w, b)


def _build_linear_bwd(s: Shape, dtype: Any, device: Any, layout: str, gen: Any) -> tuple[Any, ...]:
    x, w, b = _build_linear(s, dtype, device, layout, gen, grad=True)
    return (x, w, b, _randn((s["M"], s["N"]), dtype, device, gen))


def _build_matmul_bwd(s: Shape, dtype: Any, device: Any, layout: str, gen: Any) -> tuple[Any, ...]:
    a = _randn((s["M"], s["K"]), dtype, device, gen, True)
    b = _randn((s["K"], s["N"]), dtype, device, gen, True)
    return (a, b, _randn((s["M"], s["N"]), dtype, device, gen))


def _call_linear_bwd(x: tuple[Any, ...]) -> Any:
    import torch
    import torch.nn.functional as F

    inp, w, b, grad = x
    return torch.autograd.grad(F.linear(inp, w, b), (inp, w, b), grad)


def _call_matmul_bwd(x: tuple[Any, ...]) -> Any:
    import torch

    a, b, grad = x
    return torch.autograd.grad(torch.matmul(a, b), (a, b), grad)


def _build_conv2d(s: Shape, dtype: Any, device: Any, layout: str, gen: Any) -> tuple[Any, ...]:
    x = _randn((s["N"], s["C"], s["H"], s["W"]), dtype, device, gen)
    w = _randn((s["F"], s["C"], s["R"], s["R"]), dtype, device, gen)
    return (x, w)


def _call_conv2d(x: tuple[Any, ...]) -> Any:
    import torch.nn.functional as F

    inp, w = x
    return F.conv2d(inp, w, padding=w.shape[-1] // 2)


def _conv_out(s: Shape) -> tuple[int, int]:
    pad = s["R"] // 2
    return s["H"] + 2 * pad - s["R"] + 1, s["W"] + 2 * pad - s["R"] + 1


def _build_sdpa(s: Shape, dtype: Any, device: Any, layout: str, gen: Any) -> tuple[Any, ...]:
    shp = (s["B"], s["H"], s["S"], s["D"])
    return tuple(_randn(shp, dtype, device, gen) for _ in range(3))


def _call_sdpa(x: tuple[Any, ...]) -> Any:
    import torch.nn.functional as F

    return F.scaled_dot_product_attention(*x)


def _build_2d(s: Shape, dtype: Any, device: Any, layout: str, gen: Any) -> tuple[Any, ...]:
    return (_randn((s["M"], s["N"]), dtype, device, gen),)


def _build_2d_pair(s: Shape, dtype: Any, device: Any, layout: str, gen: Any) -> tuple[Any, ...]:
    return (_randn((s["M"], s["N"]), dtype, device, gen), _randn((s["M"], s["N"]), dtype, device, gen))


def _build_layer_norm(s: Shape, dtype: Any, device: Any, layout: str, gen: Any) -> tuple[Any, ...]:
    return (_randn((s["M"], s["N"]), dtype, device, gen),
            _randn((s["N"],), dtype, device, gen), _randn((s["N"],), dtype, device, gen))


def _call_layer_norm(x: tuple[Any, ...]) -> Any:
    import torch.nn.functional as F

    inp, w, b = x
    return F.layer_norm(inp, (inp.shape[-1],), w, b)


def _call(name: str) -> Callable[[tuple[Any, ...]], Any]:
    def call(x: tuple[Any, ...]) -> Any:
        import torch

        return getattr(torch, name)(*x)

    call.__name__ = f"call_{name}"
    return call


def _softmax(x: tuple[Any, ...]) -> Any:
    import torch

    return torch.softmax(x[0], dim=-1)


def _sum(x: tuple[Any, ...]) -> Any:
    import torch

    return torch.sum(x[0])


def _linear(x: tuple[Any, ...]) -> Any:
    import torch.nn.functional as F

    return F.linear(*x)


def _square(n: int) -> dict[str, int]:
    return {"M": n, "N": n, "K": n}


def _numel(s: Shape) -> float:
    return float(s["M"] * s["N"])


_OPS: list[OpDef] = [
    OpDef("mm", "matmul", "A(M×K) @ B(K×N)", ("M", "N", "K"), _square, _build_mm, _call("mm"),
          lambda s: 2.0 * s["M"] * s["N"] * s["K"],
          lambda s, b: float(b * (s["M"] * s["K"] + s["K"] * s["N"] + s["M"] * s["N"])),
          layouts=LAYOUTS),
    OpDef("addmm", "matmul", "bias(N) + A(M×K) @ B(K×N)", ("M", "N", "K"), _square, _build_addmm, _call("addmm"),
          lambda s: 2.0 * s["M"] * s["N"] * s["K"],
          lambda s, b: float(b * (s["N"] + s["M"] * s["K"] + s["K"] * s["N"] + s["M"] * s["N"])),
          layouts=LAYOUTS),
    OpDef("bmm", "matmul", "A(B×M×K) @ B(B×K×N), B=4", ("B", "M", "N", "K"), lambda n: {"B": 4, **_square(n)},
          _build_bmm, _call("bmm"),
          lambda s: 2.0 * s["B"] * s["M"] * s["N"] * s["K"],
          lambda s, b: float(b * s["B"] * (s["M"] * s["K"] + s["K"] * s["N"] + s["M"] * s["N"])),
          layouts=LAYOUTS),
    OpDef("matmul", "matmul", "broadcast A(B×M×K) @ W(K×N), B=4", ("B", "M", "N", "K"),
          lambda n: {"B": 4, **_square(n)}, _build_matmul, _call("matmul"),
          lambda s: 2.0 * s["B"] * s["M"] * s["N"] * s["K"],
          lambda s, b: float(b * (s["B"] * s["M"] * s["K"] + s["K"] * s["N"] + s["B"] * s["M"] * s["N"]))),
    OpDef("linear", "matmul", "x(M×K) Wᵀ(N×K) + b", ("M", "N", "K"), _square, _build_linear, _linear,
          lambda s: 2.0 * s["M"] * s["N"] * s["K"],
          lambda s, b: float(b * (s["M"] * s["K"] + s["N"] * s["K"] + s["N"] + s["M"] * s["N"]))),
    OpDef("linear_backward", "autograd", "linear forward + backward (grads of x, W, b)", ("M", "N", "K"), _square,
          _build_linear_bwd, _call_linear_bwd,
          lambda s: 6.0 * s["M"] * s["N"] * s["K"],
          # forward: x, W, b in, y out; backward: grad_y, x, W in; grad_x, grad_W, grad_b out
          lambda s, b: float(b * (2 * (s["M"] * s["K"] + s["N"] * s["K"] + s["N"]) + 2 * s["M"] * s["N"])),
          backward=True),
    OpDef("matmul_backward", "autograd", "A @ B forward + backward (grads of A, B)", ("M", "N", "K"), _square,
          _build_matmul_bwd, _call_matmul_bwd,
          lambda s: 6.0 * s["M"] * s["N"] * s["K"],
          lambda s, b: float(b * (2 * (s["M"] * s["K"] + s["K"] * s["N"]) + 2 * s["M"] * s["N"])),
          backward=True),
    OpDef("conv2d", "nn", "x(N×C×H×W) * w(F×C×R×R), pad R//2; N=8, C=F=64, R=3", ("N", "C", "H", "W", "F", "R"),
          lambda n: {"N": 8, "C": 64, "H": n, "W": n, "F": 64, "R": 3}, _build_conv2d, _call_conv2d,
          lambda s: 2.0 * s["N"] * s["F"] * _conv_out(s)[0] * _conv_out(s)[1] * s["C"] * s["R"] * s["R"],
          lambda s, b: float(b * (s["N"] * s["C"] * s["H"] * s["W"] + s["F"] * s["C"] * s["R"] * s["R"]
                                  + s["N"] * s["F"] * _conv_out(s)[0] * _conv_out(s)[1]))),
    OpDef("sdpa", "nn", "scaled_dot_product_attention, q/k/v (B×H×S×D); B=4, H=8, D=64", ("B", "H", "S", "D"),
          lambda n: {"B": 4, "H": 8, "S": n, "D": 64}, _build_sdpa, _call_sdpa,
          lambda s: 4.0 * s["B"] * s["H"] * s["S"] * s["S"] * s["D"],
          lambda s, b: float(b * 4 * s["B"] * s["H"] * s["S"] * s["D"]),
          flop_counter_counts=False),
    OpDef("softmax", "nn", "softmax over the last dim of an M×N tensor", ("M", "N"), lambda n: {"M": n, "N": n},
          _build_2d, _softmax, lambda s: 5.0 * _numel(s), lambda s, b: float(b * 2 * _numel(s)),
          flop_counter_counts=False),
    OpDef("layer_norm", "nn", "layer_norm over the last dim of an M×N tensor, affine", ("M", "N"),
          lambda n: {"M": n, "N": n}, _build_layer_norm, _call_layer_norm,
          lambda s: 8.0 * _numel(s), lambda s, b: float(b * (2 * _numel(s) + 2 * s["N"])),
          flop_counter_counts=False),
    OpDef("add", "memory", "a + b, M×N", ("M", "N"), lambda n: {"M": n, "N": n}, _build_2d_pair, _call("add"),
          _numel, lambda s, b: float(b * 3 * _numel(s)), flop_counter_counts=False),
    OpDef("mul", "memory", "a * b, M×N", ("M", "N"), lambda n: {"M": n, "N": n}, _build_2d_pair, _call("mul"),
          _numel, lambda s, b: float(b * 3 * _numel(s)), flop_counter_counts=False),
    OpDef("sum", "memory", "sum of all elements of an M×N tensor", ("M", "N"), lambda n: {"M": n, "N": n},
          _build_2d, _sum, _numel, lambda s, b: float(b * _numel(s)), flop_counter_counts=False),
]

OPS: dict[str, OpDef] = {op.name: op for op in _OPS}
ALIASES = {"scaled_dot_product_attention": "sdpa"}


def list_ops() -> list[str]:
    return list(OPS)


def get_op(name: str) -> OpDef:
    key = ALIASES.get(name, name)
    if key not in OPS:
        raise one_of(name, list_ops(), "op")
    return OPS[key]


def check_dtype(dtype: str) -> str:
    if dtype not in DTYPES:
        raise one_of(dtype, DTYPES, "dtype")
    return dtype


_SIZE_RE = re.compile(r"\s*[0-9]+\s*")
_DIMS_RE = re.compile(r"\s*([A-Za-z])\s*=\s*([0-9]+)\s*")


def parse_size(op: OpDef, text: str | int | Mapping[str, int]) -> dict[str, int]:
    """`1024` → the op's canonical shape for n=1024; `M=512,N=256,K=64` overrides named dims."""
    if isinstance(text, Mapping):
        shape = op.shape_for_size(1)
        shape.update({k: int(v) for k, v in text.items()})
    elif isinstance(text, int) or _SIZE_RE.fullmatch(str(text)):
        n = text if isinstance(text, int) else int(str(text).strip())  # str.strip: every \s the regex allows
        if n < 1:
            raise TorchperfError(f"size {text!r} must be a positive integer")
        shape = op.shape_for_size(n)
    else:
        shape = op.shape_for_size(1)
        for part in str(text).split(","):
            m = _DIMS_RE.fullmatch(part)
            if not m:
                raise TorchperfError(
                    f"malformed size {text!r} for {op.name}; accepted: an integer like 1024, "
                    f"or dims like {','.join(f'{d}=64' for d in op.dims)}"
                )
            dim, value = m.group(1), int(m.group(2))
            if dim not in op.dims:
                raise TorchperfError(f"{op.name} has no dimension {dim!r}; its dimensions: {', '.join(op.dims)}")
            shape[dim] = value
    bad = [k for k, v in shape.items() if v < 1]
    if bad:
        raise TorchperfError(f"size {text!r}: dimensions must be >= 1 ({', '.join(bad)})")
    return shape


def unsupported_reason(op: OpDef, dtype: str, device_type: str, layout: str = "contiguous") -> str | None:
    """Why this combination cannot run (a skip, not a failure), or None. Static rules only; a
    kernel missing at run time ("not implemented for 'Half'") is caught when the op first runs."""
    if dtype not in DTYPES:
        return f"unknown dtype {dtype!r}"
    if layout not in op.layouts:
        return f"{op.name} has no layout {layout!r} (available: {', '.join(op.layouts)})"
    if dtype == "tf32" and device_type != "cuda":
        return "tf32 is an NVIDIA tensor-core mode: only on cuda (use float32 elsewhere)"
    if dtype == "float64" and device_type == "mps":
        return "mps has no float64"
    return None


def check_supported(op: OpDef, dtype: str, device_type: str, layout: str = "contiguous") -> None:
    reason = unsupported_reason(op, dtype, device_type, layout)
    if reason:
        raise UnsupportedCase(f"{op.name} {dtype} {layout} on {device_type}: {reason}")


def check_case(
    op: str, size: str | int | Mapping[str, int], dtype: str, device_type: str = "cpu", layout: str = "contiguous"
) -> tuple[OpDef, dict[str, int]]:
    """The catalog's checks of one case, in the one order every caller reports them: the op, the dtype,
    whether the combination runs (UnsupportedCase: a skip), the size. Builds nothing; returns the op and
    its shape. The one sequence for `measure.prepare`, instruction counts, kernel provenance and the
    scripts, so that a bad case reads the same error whichever of them is given it first."""
    opdef = get_op(op)
    check_dtype(dtype)
    check_supported(opdef, dtype, device_type, layout)
    return opdef, parse_size(opdef, size)
