"""The exporter's proof on tiny random-weight checkpoints (about two minutes on 2 cores).

Builds the tiny checkpoints of make_checkpoints.py in a temporary folder, exports each with
export.py (fp32, fp16 and q8, DINOv2 without registers fp32 and q8; the check against PyTorch
included; SigLIP 2 NaFlex at two patch budgets, each image alone and in one batch), and checks what
the per-model check cannot see:
  - the original-layout Florence-2 checkpoint converts to exactly the native one's weights
    (same seed; float16 storage rounding aside) and its export gives the same graphs' outputs;
  - the tokenizer the exporter rebuilds for an original-layout checkpoint (BART + the 1,024 tokens
    the original processor adds) tokenises like the published Florence-2 tokenizer;
  - a hub id resolves through the Hugging Face cache offline;
  - CLIP: the tokenizer.json written for a checkpoint without one tokenises like the checkpoint's
    CLIPTokenizer, and exp(logit_scale) is printed and recorded; DINOv2: the processor written for a
    checkpoint without one is facebook/dinov2-small's, the registers graph is opset 18;
  - SigLIP 2 NaFlex: detected as siglip2-naflex, graph inputs and outputs as emb expects them,
    exp(logit_scale) and logit_bias recorded;
  - refusals: a NaFlex config without weights, a NaFlex checkpoint missing a weight, a wrong --family, a checkpoint missing weights (Florence-2
    original layout, CLIP), fp16 for DINOv2 without registers, a non-empty --out without --force.

Usage: python tools/export/selftest.py [--keep DIR]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "reference")]

import numpy as np  # noqa: E402
import torch  # noqa: E402

import export  # noqa: E402
from common import SHARED_REFERENCE  # noqa: E402

TINY = ["siglip-tiny", "siglip2-tiny", "siglip2-naflex-tiny", "clip-tiny", "dinov2-tiny", "dinov2-registers-tiny", "florence2-tiny",
        "florence2-tiny-original"]
# fp16 is refused for DINOv2 without registers (onnxruntime cannot run it, see export.py).
DTYPES = {"dinov2-tiny": "q8"}
failures: list[str] = []


def expect(condition: bool, message: str) -> None:
    print(("ok    " if condition else "FAIL  ") + message, flush=True)
    if not condition:
        failures.append(message)


def run_export(args: list[str], env: dict | None = None) -> tuple[int, str]:
    """export.py in a child process (as a user runs it); returns its exit status and stderr+stdout."""
    result = subprocess.run([sys.executable, str(HERE / "export.py"), *args], capture_output=True, text=True,
                            env={**os.environ, **(env or {})})
    return result.returncode, result.stdout + result.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="work here and keep the checkpoints and exports")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="emb-export-selftest-"))
    ckpt, out = work / "checkpoints", work / "exports"
    subprocess.run([sys.executable, str(HERE / "make_checkpoints.py"), "tiny", "--out", str(ckpt)], check=True,
                   stdout=subprocess.DEVNULL)

    reports = {}
    for name in TINY:
        code, text = run_export([str(ckpt / name), "--out", str(out / name), "--dtype", DTYPES.get(name, "fp16,q8"), "--force"])
        print(text.strip())
        expect(code == 0, f"{name}: export and check pass (exit {code})")
        reports[name] = json.loads((out / name / "export_report.json").read_text())

    # The check on given images: the 15 test images (1x1, panorama, CMYK, 16-bit, EXIF-rotated, ...).
    images = HERE.parents[1] / "test" / "fixtures" / "images"
    for name in ("siglip-tiny", "siglip2-naflex-tiny", "clip-tiny", "dinov2-registers-tiny", "florence2-tiny-original"):
        code, text = run_export([str(ckpt / name), "--out", str(out / f"{name}-fixture-images"), "--check-images", str(images),
                                 "--check-count", "15", "--force"])
        expect(code == 0 and "tokens equal" in text if "florence2" in name else code == 0,
               f"{name}: check on the 15 test images passes (exit {code})")

    # Weights in .onnx_data files, as exports over 2 GB need (forced here on a tiny model).
    code, text = run_export([str(ckpt / "siglip-tiny"), "--out", str(out / "siglip-tiny-external"), "--external-data", "yes",
                             "--dtype", "fp16,q8", "--force"])
    data = sorted(p.name for p in (out / "siglip-tiny-external" / "onnx").glob("*.onnx_data"))
    expect(code == 0 and data == ["text_model.onnx_data", "vision_model.onnx_data"],
           f"--external-data yes: check passes, weights in {', '.join(data)} (exit {code})")

    # Original (remote-code) layout == native layout, weights and outputs.
    export.quiet()
    with contextlib.redirect_stderr(io.StringIO()):
        native, _ = export.load_florence2(ckpt / "florence2-tiny", "native")
        converted, info = export.load_florence2(ckpt / "florence2-tiny-original", "original")
    a, b = native.state_dict(), converted.state_dict()
    expect(set(a) == set(b), "original layout converts to the native class's weight names")
    worst = max(float((a[k].half().float() - b[k]).abs().max()) for k in a)
    expect(worst == 0.0, f"converted weights equal the native checkpoint's (float16-rounded), max diff {worst}")
    expect(info["weights_left_out"] == ["language_model.final_logits_bias"], f"left out: {info['weights_left_out']}")
    rows = {(r["output"], r["variant"]): r for r in reports["florence2-tiny-original"]["check"]["rows"]}
    expect(all(r["ok"] for r in rows.values()), "original-layout export: every check row ok")

    # The rebuilt tokenizer against the published one.
    from transformers import BartTokenizerFast

    rebuilt = BartTokenizerFast.from_pretrained(out / "florence2-tiny-original")
    published = BartTokenizerFast.from_pretrained(SHARED_REFERENCE / "florence2-tokenizer")
    texts = ["What does the image describe?", "Locate the phrases in the caption: A green car.",
             "What is the region <loc_52><loc_332><loc_932><loc_774>?", "<od>car<loc_1><loc_999></od><poly><and><sep>",
             "Café crème — naïve “façade” 東京 🐱"]
    same = all(rebuilt(t)["input_ids"] == published(t)["input_ids"] for t in texts)
    same = same and rebuilt.convert_tokens_to_ids(export.FLORENCE2_TOKENS) == published.convert_tokens_to_ids(export.FLORENCE2_TOKENS)
    expect(same and len(rebuilt) == len(published) == 51289,
           f"rebuilt tokenizer tokenises like the published Florence-2 tokenizer ({len(rebuilt)} tokens)")

    # A hub id through the cache, offline.
    cache = work / "hf-cache"
    snapshot = cache / "models--acme--siglip-tiny" / "snapshots" / ("0" * 40)
    shutil.rmtree(cache, ignore_errors=True)
    shutil.copytree(ckpt / "siglip-tiny", snapshot)
    (cache / "models--acme--siglip-tiny" / "refs").mkdir()
    (cache / "models--acme--siglip-tiny" / "refs" / "main").write_text("0" * 40)
    code, text = run_export(["acme/siglip-tiny", "--out", str(out / "hub-siglip"), "--force"],
                            env={"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"})
    expect(code == 0, f"hub id acme/siglip-tiny from the offline cache (exit {code})")
    code, text = run_export(["acme/absent", "--out", str(out / "absent")], env={"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"})
    expect(code == 2 and "could not get acme/absent" in text, "a hub id neither reachable nor cached: exit 2, one line")

    # CLIP: the generated tokenizer.json, the logit scale.
    from transformers import CLIPTokenizer, CLIPTokenizerFast

    import verify

    generated = CLIPTokenizerFast.from_pretrained(out / "clip-tiny")
    slow = CLIPTokenizer.from_pretrained(ckpt / "clip-tiny")
    texts = verify.CAPTIONS[:3] + ["it's a dog's life: (really) #1 $5", " ".join(["a long caption"] * 40)]
    same = all(generated(t, padding="max_length", max_length=77, truncation=True)["input_ids"] ==
               slow(t, padding="max_length", max_length=77, truncation=True)["input_ids"] for t in texts)
    expect(not (ckpt / "clip-tiny" / "tokenizer.json").exists() and (out / "clip-tiny" / "tokenizer.json").exists() and same,
           "clip-tiny: tokenizer.json written for a checkpoint without one, tokenising like its CLIPTokenizer")
    scale = reports["clip-tiny"].get("classify", {}).get("logit_scale")
    expect(scale is not None and abs(scale - float(np.exp(np.log(1 / 0.07)))) < 1e-3 and reports["clip-tiny"]["classify"]["logit_bias"] == 0,
           f"clip-tiny: exp(logit_scale) {scale} recorded (CLIP's initial 1/0.07), logit_bias 0")
    # DINOv2: a checkpoint without preprocessor_config.json gets facebook/dinov2-small's; opsets.
    import dinov2_tiny

    bare = work / "dinov2-no-processor"
    shutil.rmtree(bare, ignore_errors=True)
    shutil.copytree(ckpt / "dinov2-tiny", bare)
    (bare / "preprocessor_config.json").unlink()
    code, text = run_export([str(bare), "--out", str(out / "dinov2-no-processor"), "--force"])
    from transformers import AutoImageProcessor

    written = AutoImageProcessor.from_pretrained(out / "dinov2-no-processor", use_fast=False).to_dict()
    expect(code == 0 and written == dinov2_tiny.processor().to_dict(),
           f"dinov2 without preprocessor_config.json: facebook/dinov2-small's BitImageProcessor written, check passes (exit {code})")
    import onnx

    opsets = {name: onnx.load(str(out / name / "onnx" / "model.onnx"), load_external_data=False).opset_import[0].version
              for name in ("dinov2-tiny", "dinov2-registers-tiny")}
    expect(opsets == {"dinov2-tiny": 17, "dinov2-registers-tiny": 18}, f"DINOv2 graph opsets {opsets}")

    # SigLIP 2 NaFlex: what emb loads.
    report = reports["siglip2-naflex-tiny"]
    graphs = {}
    for stem in ("vision_model", "text_model"):
        model = onnx.load(str(out / "siglip2-naflex-tiny" / "onnx" / f"{stem}.onnx"))
        graphs[stem] = ([(i.name, [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]) for i in model.graph.input],
                        [o.name for o in model.graph.output])
    expected = {"vision_model": ([("pixel_values", ["batch_size", "num_patches", 768]),
                                  ("pixel_attention_mask", ["batch_size", "num_patches"]),
                                  ("spatial_shapes", ["batch_size", 2])], ["last_hidden_state", "pooler_output"]),
                "text_model": ([("input_ids", ["batch_size", 64])], ["last_hidden_state", "pooler_output"])}
    budgets = sorted({row["output"].split("@")[1].split()[0] for row in report["check"]["rows"] if "@" in row["output"]})
    expect(report["family"] == "siglip2-naflex" and graphs == expected and budgets == ["256", "64"]
           and "classify" in report and all((out / "siglip2-naflex-tiny" / f).exists() for f in
                                            ("tokenizer.json", "preprocessor_config.json", "config.json")),
           f"siglip2-naflex-tiny: family siglip2-naflex, graphs {graphs}, checked at max_num_patches {budgets}, "
           f"logit scale/bias recorded {report.get('classify')}")

    # Refusals.
    code, text = run_export([str(ckpt / "dinov2-tiny"), "--out", str(out / "dinov2-fp16"), "--dtype", "fp16"])
    expect(code == 2 and "fp16 is not offered" in text, "fp16 for DINOv2 without registers: exit 2 with the reason")
    code, text = run_export([str(ckpt / "dinov2-tiny"), "--out", str(out / "wrong-dinov2"), "--family", "clip"])
    expect(code == 2 and "--family clip" in text, "--family clip on a DINOv2 checkpoint: exit 2")
    naflex = work / "naflex-config-only"
    naflex.mkdir(exist_ok=True)
    (naflex / "config.json").write_text(json.dumps({"model_type": "siglip2", "architectures": ["Siglip2Model"]}))
    code, text = run_export([str(naflex), "--out", str(out / "naflex-config-only")])
    expect(code == 2 and "no weights" in text, "a SigLIP 2 NaFlex config.json without weights: exit 2 with the reason")
    code, text = run_export([str(ckpt / "siglip2-naflex-tiny"), "--out", str(out / "wrong-naflex"), "--family", "siglip"])
    expect(code == 2 and "--family siglip" in text, "--family siglip on a SigLIP 2 NaFlex checkpoint: exit 2")
    code, text = run_export([str(ckpt / "siglip-tiny"), "--out", str(out / "wrong"), "--family", "florence2"])
    expect(code == 2 and "--family florence2" in text, "a --family that contradicts config.json: exit 2")
    code, text = run_export([str(ckpt / "siglip-tiny"), "--out", str(out / "siglip-tiny")])
    expect(code == 2 and "not empty" in text, "a non-empty --out without --force: exit 2")
    broken = work / "florence2-missing-weight"
    shutil.rmtree(broken, ignore_errors=True)
    shutil.copytree(ckpt / "florence2-tiny-original", broken)
    from safetensors.torch import load_file, save_file

    weights = load_file(str(broken / "model.safetensors"))
    weights.pop("vision_tower.convs.0.proj.weight")
    save_file(weights, str(broken / "model.safetensors"))
    code, text = run_export([str(broken), "--out", str(out / "broken")])
    expect(code == 2 and "vision_tower.convs.0.conv.weight" in text, "an original-layout checkpoint missing a weight: exit 2")
    broken = work / "clip-missing-weight"
    shutil.rmtree(broken, ignore_errors=True)
    shutil.copytree(ckpt / "clip-tiny", broken)
    weights = load_file(str(broken / "model.safetensors"))
    weights.pop("visual_projection.weight")
    save_file(weights, str(broken / "model.safetensors"), metadata={"format": "pt"})
    code, text = run_export([str(broken), "--out", str(out / "broken-clip")])
    expect(code == 2 and "visual_projection.weight" in text, "a CLIP checkpoint missing a weight: exit 2")
    broken = work / "naflex-missing-weight"
    shutil.rmtree(broken, ignore_errors=True)
    shutil.copytree(ckpt / "siglip2-naflex-tiny", broken)
    weights = load_file(str(broken / "model.safetensors"))
    weights.pop("vision_model.head.probe")
    save_file(weights, str(broken / "model.safetensors"), metadata={"format": "pt"})
    code, text = run_export([str(broken), "--out", str(out / "broken-naflex")])
    expect(code == 2 and "vision_model.head.probe" in text, "a SigLIP 2 NaFlex checkpoint missing a weight: exit 2")

    print(f"\n{len(failures)} failure(s)" if failures else "\nall checks passed")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    torch.set_grad_enabled(False)
    sys.exit(main())
