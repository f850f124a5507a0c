"""ONNX export helpers for the fixture builders: they live in tools/export/onnx_graphs.py, shared
with the checkpoint exporter (tools/export/export.py)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "export"))

from onnx_graphs import OPSET, convert_float16, export, merge_decoders, quantize_dynamic_int8  # noqa: E402,F401
