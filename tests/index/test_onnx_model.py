"""The ONNX file is built once from the bundled weights, offline, and reused; a build never leaves half a file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from newsdesk.index.onnx_model import model_file
from tests.conftest import DEFAULTS


def test_the_file_is_built_once_and_then_reused(tmp_path: Path) -> None:
    built = model_file(tmp_path, "fp32")
    assert built.parent == tmp_path and built.stat().st_size > 50_000_000  # float32 weights
    stamp = built.stat().st_mtime_ns
    assert model_file(tmp_path, "fp32") == built and built.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [built.name]  # the build folder is gone


def test_int8_quantises_the_matrix_products() -> None:
    import onnx

    cache = DEFAULTS.model_cache_dir.expanduser()
    ops = {node.op_type for node in onnx.load(str(model_file(cache, "int8"))).graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= ops
    # the word-piece embedding table (a Gather) stays float; the layers' weights shrink to a quarter
    assert model_file(cache, "int8").stat().st_size < 0.8 * model_file(cache, "fp32").stat().st_size


def test_int8_attention_quantises_the_attention_projections_too() -> None:
    import onnx

    cache = DEFAULTS.model_cache_dir.expanduser()
    plain = [node.op_type for node in onnx.load(str(model_file(cache, "int8"))).graph.node]
    attention = [node.op_type for node in onnx.load(str(model_file(cache, "int8-attention"))).graph.node]
    assert plain.count("Attention") == 6 and "QAttention" not in plain  # one per layer, float
    assert attention.count("QAttention") == 6 and "Attention" not in attention
    assert model_file(cache, "int8-attention") != model_file(cache, "int8")


def test_an_unknown_precision_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="precision"):
        model_file(tmp_path, "int4")
    assert not any(tmp_path.iterdir())


def test_a_process_that_deferred_torch_still_builds_a_missing_file(tmp_path: Path) -> None:
    script = ("import sys\n"
              "from newsdesk.index.onnx_model import defer_torch, model_file\n"
              "defer_torch()\n"
              "import haystack  # imports torch when it can: not now\n"
              "assert sys.modules['torch'] is None\n"
              f"built = model_file({str(tmp_path)!r}, 'fp32')\n"
              "assert built.exists() and sys.modules['torch'] is not None\n")
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
