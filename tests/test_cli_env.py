"""`torchperf env`: the table, the JSON document, the environment whitelist, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from torchperf_core.cli import main
from torchperf_core.env.report import ENV_REPORT_FORMAT_VERSION, EnvReport
from torchperf_core.errors import TorchperfError

SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "sk-planted-secret",
    "GITHUB_TOKEN": "ghp_planted_token_value",
    "HF_TOKEN": "hf_planted_token_value",
}


def test_env_json_with_kernels_in_subprocess_whitelists_environment() -> None:
    """`python -m torchperf_core env --json --kernels`: only JSON on stdout, no secret in it."""
    environ = {
        **os.environ,
        **SECRETS,
        "OMP_NUM_THREADS": str(os.cpu_count() or 1),  # the default: changes no timing
        # Non-existent files: the loader only warns on stderr; we must record basenames only.
        "LD_PRELOAD": "/planted/private/dir/libjemalloc.so.2 /other/planted/libtcmalloc.so",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "torchperf_core", "env", "--json", "--kernels"],
        env=environ, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # the whole of stdout is the JSON document
    for value in SECRETS.values():
        assert value not in proc.stdout
    for name in SECRETS:
        assert name not in proc.stdout
    assert "planted" not in proc.stdout
    env = data["fingerprint"]["env"]
    assert env["OMP_NUM_THREADS"] == environ["OMP_NUM_THREADS"]
    assert env["LD_PRELOAD"] == "libjemalloc.so.2 libtcmalloc.so"
    report = EnvReport.from_json(data)
    assert data["format_version"] == ENV_REPORT_FORMAT_VERSION
    assert set(report.kernels_by_key) == {
        f"{op}/{dt}" for op in ("mm", "linear", "conv2d") for dt in ("float32", "bfloat16")
    }
    assert all(k.device == "cpu" for k in report.kernels)


def test_env_table_has_sections(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["env", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    for title in ("PyTorch", "Threads", "CPU", "GPU", "Precision and determinism", "Platform",
                  "Environment (whitelisted variables)"):  # fmt: skip
        assert f"\n{title}\n" in f"\n{out}"
    assert "float32 matmul precision" in out


def test_env_json_in_process(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_planted_token_value")
    monkeypatch.setenv("MKL_ENABLE_INSTRUCTIONS", "AVX512")
    assert main(["env", "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data["kernels"] == {}
    assert data["fingerprint"]["env"]["MKL_ENABLE_INSTRUCTIONS"] == "AVX512"
    assert "hf_planted_token_value" not in out


@pytest.mark.parametrize(
    ("device", "message"),
    [("bogus", "unknown device 'bogus'; accepted: cpu, cuda"), ("cpu:1", "takes no index")],
)
def test_env_bad_device_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], device: str, message: str
) -> None:
    assert main(["env", "--device", device]) == 2
    err = capsys.readouterr().err
    assert err.startswith("torchperf: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_env_cuda_without_gpu_is_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert main(["env", "--device", "cuda"]) == 2
    assert "cuda" in capsys.readouterr().err


def test_env_report_refuses_unknown_version() -> None:
    with pytest.raises(TorchperfError, match="format_version 99"):
        EnvReport.from_json({"format_version": 99, "fingerprint": {}})
