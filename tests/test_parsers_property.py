"""Property-based tests of the size parsers: any input is either parsed exactly or refused with a
TorchperfError that names it; nothing else escapes."""

from hypothesis import given, settings, strategies as st

from torchperf_core import catalog
from torchperf_core.commands._common import parse_sizes, positive_int
from torchperf_core.errors import TorchperfError


@given(st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=12))
def test_parse_sizes_round_trips_valid_lists(sizes):
    assert parse_sizes(",".join(map(str, sizes))) == sizes


@given(st.text(max_size=40))
@settings(max_examples=300)
def test_parse_sizes_parses_or_refuses_naming_the_input(text):
    try:
        sizes = parse_sizes(text)
    except TorchperfError as exc:
        assert repr(text) in str(exc)
    else:
        assert all(isinstance(n, int) and n >= 1 for n in sizes)
        assert ",".join(map(str, sizes)) == ",".join(p.strip().lstrip("0") or "0" for p in text.split(","))


@given(st.text(max_size=30))
@settings(max_examples=300)
def test_parse_size_of_every_op_parses_or_refuses(text):
    for name in ("mm", "conv2d", "sdpa", "add"):
        op = catalog.get_op(name)
        try:
            shape = catalog.parse_size(op, text)
        except TorchperfError as exc:
            assert str(exc)
        else:
            assert set(shape) == set(op.dims) and all(v >= 1 for v in shape.values())


@given(st.dictionaries(st.sampled_from(["M", "N", "K"]), st.integers(1, 10**6), min_size=1))
def test_parse_size_named_dims_round_trip(dims):
    text = ",".join(f"{k}={v}" for k, v in dims.items())
    shape = catalog.parse_size(catalog.get_op("mm"), text)
    for k, v in dims.items():
        assert shape[k] == v


@given(st.one_of(st.text(max_size=12), st.none()))
def test_positive_int(text):
    try:
        value = positive_int(text, "--threads", default=7)
    except TorchperfError as exc:
        assert "--threads" in str(exc)
    else:
        assert value == 7 if text is None else (value >= 1 and str(value) == text.strip().lstrip("0"))
