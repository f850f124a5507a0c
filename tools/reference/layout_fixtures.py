"""Graph files in the other layouts public hub exports use, made from the committed tiny models,
so that the stand-in hub in the tests can serve every layout under its real file names.

Writes:
  test/fixtures/siglip-tiny-layouts/onnx/
    model.onnx + model.onnx_data + model.onnx_data_1   the combined graph with its weights in two
                                                       external files, as large exports split them
    vision_model_{int8,uint8,q4,q4f16,bnb4}.onnx       the weight variants transformers.js names:
                                                       dynamic int8/uint8, 4-bit MatMulNBits, 4-bit
                                                       with float16, bitsandbytes-style NF4
  test/fixtures/florence2-tiny-layouts/onnx/
    decoder_model.onnx, decoder_with_past_model.onnx   the unmerged decoder pair with Optimum's
                                                       inputs and outputs (the with-past graph takes
                                                       no encoder states, returns only self-attention
                                                       entries)
    embed_tokens_fp16.onnx                             for per-part dtypes
  test/fixtures/goldens/layouts.json                   onnxruntime (Python) outputs of each variant on
                                                       golden pixels, and the checks made here

Usage: tools/reference/.venv/bin/python tools/reference/layout_fixtures.py
"""
from __future__ import annotations

import logging
import shutil
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx.external_data_helper import set_external_data
from PIL import Image

from common import FIXTURES, max_abs_diff, ort_session, seed_everything, write_json
from florence2_tiny import DecoderNoPast, build_model, decoder_axes, flatten_cache, kv_names, load_processor
from onnx_export import convert_float16, export

SIGLIP = FIXTURES / "siglip-tiny"
FLORENCE = FIXTURES / "florence2-tiny"
SIGLIP_OUT = FIXTURES / "siglip-tiny-layouts" / "onnx"
FLORENCE_OUT = FIXTURES / "florence2-tiny-layouts" / "onnx"
GOLDEN = FIXTURES / "goldens" / "layouts.json"
PIXEL_IMAGES = ["photo_500x375", "cmyk_320x240"]


def golden_pixel_values(names: list[str]) -> np.ndarray:
    """SigLIP pixel_values of golden images, rebuilt from the committed uint8 goldens."""
    rows = []
    for name in names:
        pixels = np.asarray(Image.open(FIXTURES / "goldens" / "siglip" / "pixels" / f"{name}.png").convert("RGB"), dtype=np.float32)
        rows.append(((pixels / 255.0 - 0.5) / 0.5).transpose(2, 0, 1))
    return np.stack(rows).astype(np.float32)


def combined_with_two_weight_files() -> None:
    """The combined graph with its initializers spread over model.onnx_data and model.onnx_data_1."""
    model = onnx.load(str(SIGLIP / "onnx" / "model.onnx"))
    tensors = [t for t in model.graph.initializer if t.HasField("raw_data") and len(t.raw_data) >= 256]
    offsets = {"model.onnx_data": 0, "model.onnx_data_1": 0}
    blobs = {name: bytearray() for name in offsets}
    for i, tensor in enumerate(tensors):
        location = "model.onnx_data" if i < len(tensors) // 2 else "model.onnx_data_1"
        data = tensor.raw_data
        # ONNX external data is aligned by convention; 4 KiB as large exports do.
        pad = (-len(blobs[location])) % 4096
        blobs[location] += b"\0" * pad
        set_external_data(tensor, location=location, offset=len(blobs[location]), length=len(data))
        blobs[location] += data
        tensor.ClearField("raw_data")
        tensor.data_location = onnx.TensorProto.EXTERNAL
    for name, blob in blobs.items():
        (SIGLIP_OUT / name).write_bytes(bytes(blob))
    onnx.save_model(model, str(SIGLIP_OUT / "model.onnx"))
    onnx.checker.check_model(str(SIGLIP_OUT / "model.onnx"))


def vision_variants() -> dict[str, Path]:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.matmul_bnb4_quantizer import MatMulBnb4Quantizer
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    source = SIGLIP / "onnx" / "vision_model.onnx"
    out = {name: SIGLIP_OUT / f"vision_model_{name}.onnx" for name in ("int8", "uint8", "q4", "q4f16", "bnb4")}
    # MatMul weights only, as transformers.js's quantisation does: onnxruntime's CPU provider has
    # no ConvInteger for signed weights.
    quantize_dynamic(str(source), str(out["int8"]), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
    quantize_dynamic(str(source), str(out["uint8"]), weight_type=QuantType.QUInt8, op_types_to_quantize=["MatMul"])
    q4 = MatMulNBitsQuantizer(onnx.load(str(source)), block_size=16, is_symmetric=True)
    q4.process()
    q4.model.save_model_to_file(str(out["q4"]), use_external_data_format=False)
    convert_float16(out["q4"], out["q4f16"])
    bnb4 = MatMulBnb4Quantizer(onnx.load(str(source)), MatMulBnb4Quantizer.NF4, 16)
    bnb4.process()
    bnb4.model.save_model_to_file(str(out["bnb4"]), use_external_data_format=False)
    return out


class DecoderWithPastOptimum(torch.nn.Module):
    """The with-past decoder as Optimum exports it: cross-attention comes from the cache alone, so
    there is no encoder_hidden_states input and only self-attention entries come out."""

    def __init__(self, model):
        super().__init__()
        self.decoder = model.get_decoder()
        self.lm_head = model.lm_head
        self.layers = model.config.text_config.decoder_layers

    def forward(self, inputs_embeds, encoder_attention_mask, *past):
        from transformers.cache_utils import EncoderDecoderCache

        legacy = tuple(tuple(past[4 * i: 4 * i + 4]) for i in range(self.layers))
        cache = EncoderDecoderCache.from_legacy_cache(legacy)
        # The decoder layers only check that encoder states exist; their keys and values come
        # from the cache, so a zero tensor of the right shape stands in and is traced away.
        batch, encoder_length = encoder_attention_mask.shape
        stand_in = torch.zeros(batch, encoder_length, inputs_embeds.shape[-1], dtype=inputs_embeds.dtype)
        out = self.decoder(inputs_embeds=inputs_embeds, encoder_hidden_states=stand_in,
                           encoder_attention_mask=encoder_attention_mask, past_key_values=cache, use_cache=True)
        presents = flatten_cache(out.past_key_values, self.layers)
        return (self.lm_head(out.last_hidden_state), *[p for i, p in enumerate(presents) if i % 4 < 2])


def florence_pair(checks: dict) -> None:
    seed_everything()
    load_processor()  # the same random draws as florence2_tiny.py before the model is built
    model = build_model()
    text = model.config.text_config
    layers, heads, d = text.decoder_layers, text.decoder_attention_heads, text.d_model
    generator = torch.Generator().manual_seed(7)
    encoded = torch.randn(2, 9, d, generator=generator)
    mask = torch.ones(2, 9, dtype=torch.long)
    start = model.get_input_embeddings()(torch.full((2, 1), 2, dtype=torch.long))
    with torch.no_grad():
        first = DecoderNoPast(model)(start, encoded, mask)

    present = kv_names("present", layers)
    past = kv_names("past_key_values", layers)
    self_present = [n for n in present if ".decoder." in n]
    common_axes, kv_axes = decoder_axes(layers)
    axes = {**common_axes, **kv_axes}
    no_past = FLORENCE_OUT / "decoder_model.onnx"
    with_past = FLORENCE_OUT / "decoder_with_past_model.onnx"
    export(DecoderNoPast(model), (start, encoded, mask), no_past,
           ["inputs_embeds", "encoder_hidden_states", "encoder_attention_mask"], ["logits", *present],
           {k: v for k, v in axes.items() if not k.startswith("past")})
    export(DecoderWithPastOptimum(model), (start, mask, *first[1:]), with_past,
           ["inputs_embeds", "encoder_attention_mask", *past], ["logits", *self_present],
           {k: v for k, v in axes.items() if k != "encoder_hidden_states" and not (k.startswith("present") and ".encoder." in k)})
    convert_float16(FLORENCE / "onnx" / "embed_tokens.onnx", FLORENCE_OUT / "embed_tokens_fp16.onnx")

    # The rebuilt model must be the committed one, and the pair must compute what the merged
    # decoder does: three greedy steps through both, compared logit by logit.
    merged = ort_session(FLORENCE / "onnx" / "decoder_model_merged.onnx")
    pair = (ort_session(no_past), ort_session(with_past))
    embed = ort_session(FLORENCE / "onnx" / "embed_tokens.onnx")
    head_dim = d // heads
    enc, msk = encoded.numpy(), mask.numpy()
    tokens = np.full((2, 1), 2, dtype=np.int64)
    merged_past = {n: np.zeros((2, heads, 0, head_dim), np.float32) for n in past}
    pair_past: dict[str, np.ndarray] = {}
    worst = 0.0
    for step in range(3):
        embeds = embed.run(None, {"input_ids": tokens})[0]
        m_out = merged.run(None, {"inputs_embeds": embeds, "encoder_hidden_states": enc, "encoder_attention_mask": msk,
                                  "use_cache_branch": np.array([step > 0]), **merged_past})
        m_named = dict(zip([o.name for o in merged.get_outputs()], m_out))
        if step == 0:
            p_out = pair[0].run(None, {"inputs_embeds": embeds, "encoder_hidden_states": enc, "encoder_attention_mask": msk})
            p_named = dict(zip([o.name for o in pair[0].get_outputs()], p_out))
        else:
            p_out = pair[1].run(None, {"inputs_embeds": embeds, "encoder_attention_mask": msk, **pair_past})
            p_named = dict(zip([o.name for o in pair[1].get_outputs()], p_out))
        worst = max(worst, max_abs_diff(m_named["logits"], p_named["logits"]))
        for name in past:
            out_name = name.replace("past_key_values", "present")
            if ".encoder." in name and step > 0:
                continue
            merged_past[name] = m_named[out_name]
            pair_past[name] = p_named[out_name]
        tokens = m_named["logits"][:, -1].argmax(-1).astype(np.int64)[:, None]
    assert worst < 1e-5, f"the unmerged pair differs from the committed merged decoder by {worst}"
    checks["florence2_pair_vs_merged_logits"] = worst


def main() -> None:
    logging.disable(logging.INFO)  # the 4-bit quantizers log every node
    warnings.filterwarnings("ignore", module="onnxconverter_common")
    for folder in (SIGLIP_OUT, FLORENCE_OUT):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    checks: dict = {}
    combined_with_two_weight_files()
    variants = vision_variants()
    pixel_values = golden_pixel_values(PIXEL_IMAGES)
    reference = ort_session(SIGLIP / "onnx" / "vision_model.onnx").run(["pooler_output"], {"pixel_values": pixel_values})[0]
    outputs = {}
    for name, path in variants.items():
        session = ort_session(path)
        feed = pixel_values.astype(np.float16) if session.get_inputs()[0].type == "tensor(float16)" else pixel_values
        pooled = session.run(["pooler_output"], {"pixel_values": feed})[0].astype(np.float32)
        outputs[name] = pooled.tolist()
        checks[f"vision_{name}_vs_fp32_max_abs"] = max_abs_diff(pooled, reference)
    combined = ort_session(SIGLIP_OUT / "model.onnx")
    ids = np.ones((1, 64), dtype=np.int64)
    image_embeds = combined.run(["image_embeds"], {"pixel_values": pixel_values, "input_ids": ids})[0]
    unit = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    checks["combined_external_vs_split_normalised"] = max_abs_diff(image_embeds, unit)
    assert checks["combined_external_vs_split_normalised"] < 1e-5
    florence_pair(checks)
    write_json(GOLDEN, {"generator": "tools/reference/layout_fixtures.py", "images": PIXEL_IMAGES,
                        "vision_pooler_output": outputs, "checks": checks})
    for key, value in checks.items():
        print(f"{key}: {value:.3g}")


if __name__ == "__main__":
    main()
