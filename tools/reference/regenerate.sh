#!/usr/bin/env bash
# Rebuilds every committed fixture and golden from the Python reference implementation.
# Usage: bash tools/reference/regenerate.sh   (creates tools/reference/.venv on first use)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$here/requirements.txt"
fi
# CLIP_benchmark's recall@k code, without the model zoo it depends on (see requirements.txt)
"$venv/bin/python" -c "import clip_benchmark" 2>/dev/null || "$venv/bin/pip" install -q --no-deps clip_benchmark==1.6.2
cd "$here"
export PYTHONHASHSEED=0 CUBLAS_WORKSPACE_CONFIG=:4096:8
"$venv/bin/python" make_images.py
"$venv/bin/python" make_photos.py
"$venv/bin/python" resample_goldens.py
"$venv/bin/python" siglip_tiny.py
"$venv/bin/python" florence2_tiny.py
"$venv/bin/python" florence2_generation_goldens.py
"$venv/bin/python" florence2_postprocess_goldens.py
"$venv/bin/python" layout_fixtures.py
"$venv/bin/python" knn_goldens.py
"$venv/bin/python" retrieval_goldens.py
"$venv/bin/python" coco_goldens.py
"$venv/bin/python" meteor_goldens.py
"$venv/bin/python" siglip_tokenizer_variants.py
"$venv/bin/python" siglip2_naflex_goldens.py
"$venv/bin/python" siglip2_tokenizer.py
"$venv/bin/python" clip_dinov2_preprocess_goldens.py
"$venv/bin/python" clip_tiny.py
"$venv/bin/python" dinov2_tiny.py
"$venv/bin/python" siglip2_tiny.py
"$venv/bin/python" siglip2_naflex_tiny.py
