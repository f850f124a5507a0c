#!/usr/bin/env bash
# Creates bench/triton/.venv with the real Triton Inference Server (nvidia-pytriton) plus torch CPU
# and transformers, for bench/triton/serve_siglip.py and bench/serve-vs-triton.sh.
# Idempotent: rerunning only reinstalls when requirements.txt changed.
# Usage: bash bench/triton/setup.sh
# (perf_analyzer itself lives in tools/serve/.venv: bash tools/serve/setup.sh)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"

# A venv from Debian's python3: PyTriton's bundled Python backend stub does not work with a pyenv
# interpreter, it needs the shared libpython of a distribution python3.
source "$here/../../tools/lib/debian-venv.sh"
debian_venv "$venv" "$req"

# Smoke check: the modules import, and the bundled stub exists for this interpreter's version.
"$venv/bin/python" - <<'PY'
import sys, pathlib
import torch, transformers, pytriton
from pytriton.triton import TritonSecurityConfig  # noqa: F401 (needed to open the statistics endpoint)
from pytriton.utils.distribution import get_stub_path
stub = pathlib.Path(get_stub_path(f"{sys.version_info[0]}.{sys.version_info[1]}"))
assert stub.is_file(), f"no PyTriton python backend stub for {sys.version}: {stub}"
import importlib.metadata as md
print(f"triton bench venv ready: python {sys.version.split()[0]}, nvidia-pytriton {md.version('nvidia-pytriton')}, "
      f"torch {torch.__version__}, transformers {transformers.__version__}")
PY
