"""Operator catalog: shapes, FLOP models against torch.utils.flop_counter, skips, real runs."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from torchperf_core import catalog
from torchperf_core.errors import TorchperfError, UnsupportedCase
from torchperf_core.engine.measurement import prepare


@pytest.mark.parametrize("name, layout", [
    (n, layout) for n in catalog.list_ops() if catalog.get_op(n).flop_counter_counts
    for layout in ("contiguous", "AtBt") if layout in catalog.get_op(n).layouts])
def test_flops_agree_with_torch_flop_counter(name, layout):
    op = catalog.get_op(name)
    case = prepare(name, 16, "float32", "cpu", threads=1, layout=layout)
    with FlopCounterMode(display=False) as counter:
        op.call(case.input_sets[0])
    assert counter.get_total_flops() == op.flops(case.shape)


def test_sdpa_flops_formula_matches_flop_counter_convention():
    # flop_counter counts SDPA only on CUDA; its formula is 4*B*H*S*S*D (QK^T and PV GEMMs).
    op = catalog.get_op("sdpa")
    assert op.flops({"B": 2, "H": 3, "S": 5, "D": 7}) == 4 * 2 * 3 * 5 * 5 * 7


def test_byte_models_by_hand():
    mm = catalog.get_op("mm")
    assert mm.bytes_moved({"M": 2, "N": 3, "K": 4}, 4) == 4 * (2 * 4 + 4 * 3 + 2 * 3)
    add = catalog.get_op("add")
    assert add.bytes_moved({"M": 10, "N": 10}, 2) == 2 * 3 * 100
    conv = catalog.get_op("conv2d")
    s = {"N": 1, "C": 2, "H": 5, "W": 5, "F": 3, "R": 3}
    assert conv.flops(s) == 2 * 1 * 3 * 5 * 5 * 2 * 3 * 3


def test_parse_size_forms():
    mm = catalog.get_op("mm")
    assert catalog.parse_size(mm, "128") == {"M": 128, "N": 128, "K": 128}
    assert catalog.parse_size(mm, "M=64,N=32,K=16") == {"M": 64, "N": 32, "K": 16}
    assert catalog.parse_size(catalog.get_op("bmm"), 8)["B"] == 4
    for bad in ["12x12", "0", "M=0", "Q=4", "M=", "-5", "abc"]:
        with pytest.raises(TorchperfError) as info:
            catalog.parse_size(mm, bad)
        assert bad in str(info.value) or "dimension" in str(info.value)


def test_unknown_op_and_dtype_name_the_value_and_the_accepted():
    with pytest.raises(TorchperfError, match=r"unknown op 'mmm'; accepted: mm,"):
        catalog.get_op("mmm")
    with pytest.raises(TorchperfError, match=r"unknown dtype 'fp8'; accepted: float32"):
        catalog.check_dtype("fp8")


def test_check_case_reports_in_one_order_and_returns_the_op_and_shape():
    """catalog.check_case, the one sequence of checks that prepare, instruction counts, kernel provenance and
    the scripts call: with several things wrong the op is named first, then the dtype, then the combination
    (a skip), then the size; a good case returns the op under its own name (an alias resolved) and its shape.
    Bugs caught: the size parsed before the op is known, the device type or layout not passed on (tf32 on
    cpu, At for add), the alias's name returned, the shape of the default size returned."""
    with pytest.raises(TorchperfError, match=r"^unknown op 'mmm'"):
        catalog.check_case("mmm", "0", "fp8", "cpu", "Zt")
    with pytest.raises(TorchperfError, match=r"^unknown dtype 'fp8'"):
        catalog.check_case("mm", "0", "fp8", "cpu", "Zt")
    with pytest.raises(UnsupportedCase, match=r"^mm float32 Zt on cpu: mm has no layout 'Zt'"):
        catalog.check_case("mm", "0", "float32", "cpu", "Zt")
    with pytest.raises(UnsupportedCase, match=r"^mm tf32 contiguous on cpu: tf32 is an NVIDIA"):
        catalog.check_case("mm", "0", "tf32", "cpu")
    with pytest.raises(UnsupportedCase, match=r"^add float32 At on cuda: add has no layout 'At'"):
        catalog.check_case("add", "64", "float32", "cuda", "At")
    with pytest.raises(TorchperfError, match=r"^size '0' must be a positive integer"):
        catalog.check_case("mm", "0", "tf32", "cuda")
    opdef, shape = catalog.check_case("scaled_dot_product_attention", "S=64,D=32", "float32")
    assert opdef.name == "sdpa" and shape == {"B": 4, "H": 8, "S": 64, "D": 32}
    opdef, shape = catalog.check_case("mm", 128, "float32", "cpu", "Bt")
    assert opdef is catalog.get_op("mm") and shape == {"M": 128, "N": 128, "K": 128}


def test_static_skips():
    mm = catalog.get_op("mm")
    assert "cuda" in catalog.unsupported_reason(mm, "tf32", "cpu")
    assert catalog.unsupported_reason(catalog.get_op("add"), "float32", "cpu", "At")
    assert catalog.unsupported_reason(mm, "float32", "cpu", "Bt") is None
    with pytest.raises(UnsupportedCase):
        prepare("mm", 8, "tf32", "cpu")


def test_inputs_are_seeded_random_never_zeros():
    a = prepare("mm", 32, "float32", "cpu", seed=1).input_sets[0][0]
    b = prepare("mm", 32, "float32", "cpu", seed=1).input_sets[0][0]
    c = prepare("mm", 32, "float32", "cpu", seed=2).input_sets[0][0]
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert (a != 0).float().mean() > 0.99


def test_transposed_layouts_are_really_transposed():
    case = prepare("mm", 16, "float32", "cpu", layout="At")
    a, b = case.input_sets[0]
    assert not a.is_contiguous() and a.t().is_contiguous() and b.is_contiguous()


@pytest.mark.parametrize("name", catalog.list_ops())
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16", "float64"])
def test_every_op_runs_or_skips_cleanly_on_cpu(name, dtype):
    try:
        case = prepare(name, 8, dtype, "cpu", threads=1)
        out = case.op.call(case.input_sets[0])
    except UnsupportedCase as exc:
        pytest.skip(str(exc))
    assert out is not None
