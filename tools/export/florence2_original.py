"""Florence-2 checkpoints in Microsoft's original layout (the remote-code checkpoints) -> transformers' native class.

The checkpoints Microsoft published (microsoft/Florence-2-*, and re-uploads such as
mrhendrey/Florence-2-large-ft-safetensors) carry `model_type: "florence2"` with an `auto_map` to
their own configuration_florence2.py / modeling_florence2.py, a DaViT vision config
(`dim_embed`, `image_pos_embed`, `visual_temporal_embedding`) and weight names of that code
(`vision_tower.blocks.0.0.spatial_block.conv1.fn.dw.weight`, `language_model.model.encoder...`).
transformers 4.57 ships the native `Florence2ForConditionalGeneration`, but its wheel does not
include the converter from the original layout (`convert_florence2_original_pytorch_to_hf.py` is
in the transformers source tree only), and that script loads the checkpoint with
`trust_remote_code=True`, i.e. it needs the hub. This module does the same renaming offline from
the checkpoint's config.json and weights: the key mapping below is the converter's, written as
rules, with its one value change (`image_projection` is a bare [vision dim, projection dim]
matrix in the original and a Linear weight, transposed, in the native class).

Also here: the inverse mapping, used to build original-layout test checkpoints from a native model.
"""
from __future__ import annotations

import re

import torch
from transformers import Florence2Config

# DaViT sub-block renames: original suffix -> native suffix, per block kind.
_BLOCK_RULES = {
    "spatial_block": [
        ("conv1.fn.dw.", "conv1."),
        ("window_attn.norm.", "norm1."),
        ("window_attn.fn.qkv.", "window_attn.qkv."),
        ("window_attn.fn.proj.", "window_attn.proj."),
        ("conv2.fn.dw.", "conv2."),
        ("ffn.norm.", "norm2."),
        ("ffn.fn.net.fc1.", "ffn.fc1."),
        ("ffn.fn.net.fc2.", "ffn.fc2."),
    ],
    "channel_block": [
        ("conv1.fn.dw.", "conv1."),
        ("channel_attn.norm.", "norm1."),
        ("channel_attn.fn.qkv.", "channel_attn.qkv."),
        ("channel_attn.fn.proj.", "channel_attn.proj."),
        ("conv2.fn.dw.", "conv2."),
        ("ffn.norm.", "norm2."),
        ("ffn.fn.net.fc1.", "ffn.fc1."),
        ("ffn.fn.net.fc2.", "ffn.fc2."),
    ],
}
_PROJECTOR = {
    "image_projection": "model.multi_modal_projector.image_projection.weight",
    "image_proj_norm.weight": "model.multi_modal_projector.image_proj_norm.weight",
    "image_proj_norm.bias": "model.multi_modal_projector.image_proj_norm.bias",
    "image_pos_embed.row_embeddings.weight": "model.multi_modal_projector.image_position_embed.row_embeddings.weight",
    "image_pos_embed.column_embeddings.weight": "model.multi_modal_projector.image_position_embed.column_embeddings.weight",
    "visual_temporal_embed.pos_idx_to_embed": "model.multi_modal_projector.visual_temporal_embed.pos_idx_to_embed",
}
_CONV = re.compile(r"^vision_tower\.convs\.(\d+)\.(proj|norm)\.(weight|bias)$")
_BLOCK = re.compile(r"^vision_tower\.blocks\.(\d+)\.(\d+)\.(spatial_block|channel_block)\.(.+)$")
# Parameters of the original DaViT that Florence-2's image encoding never uses (the classifier's
# final norm and head); the native class does not have them.
_UNUSED = re.compile(r"^vision_tower\.(norms|head)\.")
# Copies of the shared token embedding that the native class ties to it.
TIED_NATIVE_KEYS = ("model.language_model.encoder.embed_tokens.weight", "model.language_model.decoder.embed_tokens.weight")
SHARED = "model.language_model.shared.weight"
LM_HEAD = "lm_head.weight"


class ConversionError(ValueError):
    pass


def is_original(config: dict) -> bool:
    """Whether a model_type "florence2" config.json is the original (remote-code) layout."""
    vision = config.get("vision_config") or {}
    text = config.get("text_config") or {}
    return ("auto_map" in config or vision.get("model_type") == "davit" or "dim_embed" in vision
            or text.get("model_type") == "florence2_language")


def native_key(key: str) -> str | None:
    """The native name of an original weight; None for weights Florence-2 does not use."""
    if key in _PROJECTOR:
        return _PROJECTOR[key]
    match = _CONV.match(key)
    if match:
        stage, module, kind = match.groups()
        return f"model.vision_tower.convs.{stage}.{'conv' if module == 'proj' else 'norm'}.{kind}"
    match = _BLOCK.match(key)
    if match:
        stage, block, kind, rest = match.groups()
        for old, new in _BLOCK_RULES[kind]:
            if rest.startswith(old):
                return f"model.vision_tower.blocks.{stage}.{block}.{kind}.{new}{rest[len(old):]}"
        raise ConversionError(f"unknown DaViT weight {key}")
    if key.startswith("language_model.model."):
        return "model.language_model." + key[len("language_model.model."):]
    if key == "language_model.lm_head.weight":
        return LM_HEAD
    if key == "language_model.final_logits_bias" or _UNUSED.match(key):
        return None
    raise ConversionError(f"weight {key} is not part of the original Florence-2 layout this converter knows")


def native_config(original: dict) -> Florence2Config:
    """Florence2Config of the native class from an original config.json (as a dict)."""
    vision = dict(original.get("vision_config") or {})
    text = dict(original.get("text_config") or {})
    if not vision or not text:
        raise ConversionError("config.json has no vision_config/text_config")
    pos = vision.get("image_pos_embed") or {"type": "learned_abs_2d", "max_pos_embeddings": 50}
    temporal = vision.get("visual_temporal_embedding") or {"type": "COSINE", "max_temporal_embeddings": 100}
    sources = vision.get("image_feature_source", ["spatial_avg_pool", "temporal_avg_pool"])
    # The native projector hard-codes the choices every published checkpoint makes.
    if pos.get("type") != "learned_abs_2d" or temporal.get("type") != "COSINE" or list(sources) != ["spatial_avg_pool", "temporal_avg_pool"]:
        raise ConversionError(
            "this checkpoint's image encoding (image_pos_embed %s, visual_temporal_embedding %s, image_feature_source %s) "
            "is not the one transformers' native Florence-2 implements" % (pos.get("type"), temporal.get("type"), sources))
    for flag in ("add_bias_logits", "add_final_layer_norm", "normalize_before"):
        if text.get(flag):
            raise ConversionError(f"text_config.{flag} is true; the native (BART) text model has no such variant")
    defaults = Florence2Config().vision_config
    vision_native = dict(
        depths=vision.get("depths", defaults.depths),
        patch_size=vision.get("patch_size", defaults.patch_size),
        patch_stride=vision.get("patch_stride", defaults.patch_stride),
        patch_padding=vision.get("patch_padding", defaults.patch_padding),
        patch_prenorm=vision.get("patch_prenorm", defaults.patch_prenorm),
        embed_dim=vision.get("dim_embed", vision.get("embed_dim", defaults.embed_dim)),
        num_heads=vision.get("num_heads", defaults.num_heads),
        num_groups=vision.get("num_groups", defaults.num_groups),
        window_size=vision.get("window_size", defaults.window_size),
        drop_path_rate=vision.get("drop_path_rate", defaults.drop_path_rate),
        projection_dim=vision.get("projection_dim", original.get("projection_dim", defaults.projection_dim)),
        max_temporal_embeddings=temporal["max_temporal_embeddings"],
        max_position_embeddings=pos["max_pos_embeddings"],
    )
    dropped = {"model_type", "architectures", "auto_map", "_name_or_path", "transformers_version", "torch_dtype", "dtype"}
    text_native = {k: v for k, v in text.items() if k not in dropped}
    text_native["model_type"] = "bart"
    return Florence2Config(text_config=text_native, vision_config=vision_native)


def native_state_dict(original: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Renames an original state dict for the native class; returns it and the keys left out."""
    native, left_out = {}, []
    for key, tensor in original.items():
        new = native_key(key)
        if new is None:
            if key == "language_model.final_logits_bias" and torch.count_nonzero(tensor) > 0:
                raise ConversionError("language_model.final_logits_bias is not zero; the native class has no output bias")
            left_out.append(key)
            continue
        if key == "image_projection":
            tensor = tensor.t().contiguous()
        native[new] = tensor
    if SHARED not in native:
        # A save that kept another copy of the tied token embedding than `shared`.
        for key in (*TIED_NATIVE_KEYS, LM_HEAD):
            if key in native:
                native[SHARED] = native[key]
                break
    return native, left_out


def ties_output_projection(native: dict[str, torch.Tensor]) -> bool:
    """Whether lm_head is the shared token embedding (absent from the weights, or equal to it)."""
    if LM_HEAD not in native:
        return True
    if SHARED not in native:
        raise ConversionError("the checkpoint has no language_model.model.shared.weight")
    return native[LM_HEAD].shape == native[SHARED].shape and bool(torch.equal(native[LM_HEAD], native[SHARED]))


# --- the other way round: original-layout test checkpoints from a native model ---------------

def original_key(native: str) -> str | None:
    inverse = {v: k for k, v in _PROJECTOR.items()}
    if native in inverse:
        return inverse[native]
    match = re.match(r"^model\.vision_tower\.convs\.(\d+)\.(conv|norm)\.(weight|bias)$", native)
    if match:
        stage, module, kind = match.groups()
        return f"vision_tower.convs.{stage}.{'proj' if module == 'conv' else 'norm'}.{kind}"
    match = re.match(r"^model\.vision_tower\.blocks\.(\d+)\.(\d+)\.(spatial_block|channel_block)\.(.+)$", native)
    if match:
        stage, block, kind, rest = match.groups()
        for old, new in _BLOCK_RULES[kind]:
            if rest.startswith(new):
                return f"vision_tower.blocks.{stage}.{block}.{kind}.{old}{rest[len(new):]}"
        raise ConversionError(f"unknown native DaViT weight {native}")
    if native.startswith("model.language_model."):
        return "language_model.model." + native[len("model.language_model."):]
    if native == LM_HEAD:
        return "language_model.lm_head.weight"
    raise ConversionError(f"no original name for {native}")


def original_state_dict(native: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key, tensor in native.items():
        old = original_key(key)
        out[old] = tensor.t().contiguous() if old == "image_projection" else tensor
    return out


def original_config(config: Florence2Config) -> dict:
    """config.json as the original checkpoints write it (remote code, DaViT vision config)."""
    vision = config.vision_config
    text = config.text_config.to_dict()
    text.pop("transformers_version", None)
    text["model_type"] = "florence2_language"
    return {
        "_name_or_path": "florence2",
        "architectures": ["Florence2ForConditionalGeneration"],
        "auto_map": {"AutoConfig": "configuration_florence2.Florence2Config",
                     "AutoModelForCausalLM": "modeling_florence2.Florence2ForConditionalGeneration"},
        "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1, "ignore_index": -100,
        "model_type": "florence2",
        "projection_dim": vision.projection_dim,
        "text_config": text,
        "vision_config": {
            "model_type": "davit",
            "drop_path_rate": vision.drop_path_rate,
            "patch_size": vision.patch_size, "patch_stride": vision.patch_stride,
            "patch_padding": vision.patch_padding, "patch_prenorm": vision.patch_prenorm,
            "enable_checkpoint": False,
            "dim_embed": vision.embed_dim, "num_heads": vision.num_heads, "num_groups": vision.num_groups,
            "depths": vision.depths, "window_size": vision.window_size, "projection_dim": vision.projection_dim,
            "visual_temporal_embedding": {"type": "COSINE", "max_temporal_embeddings": vision.max_temporal_embeddings},
            "image_pos_embed": {"type": "learned_abs_2d", "max_pos_embeddings": vision.max_position_embeddings},
            "image_feature_source": ["spatial_avg_pool", "temporal_avg_pool"],
        },
        "vocab_size": config.text_config.vocab_size,
        "torch_dtype": "float16",
        "transformers_version": "4.41.0.dev0",
        "is_encoder_decoder": True,
    }
