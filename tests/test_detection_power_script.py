"""scripts/detection_power.py runs end to end (its figures are taken on a quiet machine, not here)."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load():
    spec = importlib.util.spec_from_file_location("detection_power", ROOT / "scripts" / "detection_power.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_block_injects_exact_extra_calls():
    dp = _load()
    calls = []
    (block,) = dp._block([lambda: calls.append("a"), lambda: calls.append("b")], 22)  # 20 calls + 10%
    block()
    assert calls == ["a", "b"] * 11


def test_abba_order_balances_which_side_goes_first():
    """Bug caught: the after side always second (the position effect of issue 11)."""
    import random

    dp = _load()
    order = [dp.after_first(i, "abba", random.Random(0)) for i in range(8)]
    assert order == [False, True, True, False] * 2
    rng = random.Random(3)
    flips = [dp.after_first(i, "random", rng) for i in range(200)]
    assert 0 < sum(flips) < 200 and flips == [dp.after_first(i, "random", r) for r in [random.Random(3)] for i in range(200)]


def test_median_ratio_is_split_by_position():
    dp = _load()
    trials = [dp.Trial(0.0, r, (), first) for r, first in ((1.04, False), (0.96, True), (0.97, True), (1.03, False))]
    assert dp.median_ratios(trials) == pytest.approx((1.0, 1.035, 0.965))


def test_runs_and_reports(tmp_path, capsys):
    dp = _load()
    out = tmp_path / "dp.json"
    argv = ["--size", "64", "--trials", "1", "--samples", "6", "--slowdowns", "0.25", "--factors", "1.1",
            "--block", "4", "--min-sample-time", "0.0005", "--max-minutes", "2", "--json", str(out)]  # fmt: skip
    assert dp.main(argv) == 0
    text = capsys.readouterr().out
    assert "A/A (none)" in text and "+25%" in text and "flagged @ factor 1.1" in text and "after 2nd | 1st" in text
    data = json.loads(out.read_text())
    assert data["format_version"] == 2 and data["order"] == "abba"
    assert [t["injected"] for t in data["trials"]] == [0.0, 0.25]
    assert [t["after_first"] for t in data["trials"]] == [False, False]  # the first trial of each row
    assert all(v in ("slower", "faster", "same") for t in data["trials"] for _, v in t["verdicts"])


def test_paired_null_rates_script_prints_every_row_and_its_yuen_is_the_textbook_statistic(capsys):
    """scripts/paired_null_rates.py (a simulation; its figures are quoted in the README). The Yuen
    statistic on a fixture decided by hand: d = 1..10, 20% trimmed (g = 2): trimmed mean 5.5,
    winsorized [3,3,3,4,5,6,7,8,8,8] with variance 42.5/9, se = sqrt(9 * 42.5/9 / (6 * 5)), df 5."""
    spec = importlib.util.spec_from_file_location("paired_null_rates", ROOT / "scripts" / "paired_null_rates.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    t, df = module.yuen_stat([float(x) for x in range(10, 0, -1)])
    assert df == 5 and t == pytest.approx(5.5 / math.sqrt(42.5 / 30))
    # the gate's own p: t = 2 / (1 / sqrt 3) on 2 df, where P(|T| > t) = 1 - t / sqrt(t^2 + 2)
    t = 2.0 * math.sqrt(3.0)
    assert module.t_p([1.0, 2.0, 3.0]) == pytest.approx(1.0 - t / math.sqrt(t * t + 2.0))
    assert module.main(["--draws", "50", "--rounds", "6", "--alphas", "0.01"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 + 3 and [ln.split()[1] for ln in lines[2:]] == ["normal", "outliers", "one-sided"]
    assert lines[1].split()[3:7] == ["t", "yuen", "rank", "gate"]
    with pytest.raises(SystemExit):
        module.main(["--rounds", "4"])
    assert "--rounds 4 is too few" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        module.main(["--ratio", "0"])
    assert "--ratio 0.0 must be a positive number" in capsys.readouterr().err
    # a change every draw shows: 8 rounds of +50% at a 5% spread
    assert module.rates(20, 8, 0.01, "normal", 1, ratio=1.5) == {"t": 1.0, "yuen": 1.0, "rank": 1.0, "gate": 1.0}
