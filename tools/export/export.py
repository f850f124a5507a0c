"""Export a SigLIP, SigLIP 2 (FixRes or NaFlex), CLIP, DINOv2 or Florence-2 PyTorch checkpoint to the ONNX folder layout emb loads,
and check it.

  python tools/export/export.py CHECKPOINT --out DIR [--family siglip|siglip2|siglip2-naflex|clip|dinov2|florence2]
      [--dtype fp32,fp16,q8,int8,uint8] [--check-images DIR] [--check-count 3] [--tolerance 1e-4]
      [--variant-tolerance X] [--max-new-tokens 20] [--external-data auto|yes|no] [--revision REV]
      [--no-check] [--force]

CHECKPOINT is a local folder (config.json + *.safetensors or pytorch_model.bin + tokenizer and
preprocessor files) or a hub id (downloaded with huggingface_hub into the standard cache; a cached
copy is used offline). Writes:

  SigLIP / SigLIP 2: onnx/vision_model.onnx (pixel_values -> last_hidden_state, pooler_output),
                     onnx/text_model.onnx (input_ids -> last_hidden_state, pooler_output),
                     config.json, preprocessor_config.json, tokenizer files (tokenizer.json always)
  SigLIP 2 NaFlex:   onnx/vision_model.onnx (pixel_values [batch, patches, 3*p*p], pixel_attention_mask,
                     spatial_shapes -> last_hidden_state, pooler_output), onnx/text_model.onnx,
                     config.json, preprocessor_config.json, tokenizer files (tokenizer.json always)
  CLIP:              onnx/vision_model.onnx (pixel_values -> image_embeds, last_hidden_state),
                     onnx/text_model.onnx (input_ids, attention_mask -> text_embeds, last_hidden_state),
                     config.json, preprocessor_config.json, tokenizer files (tokenizer.json always)
  DINOv2:            onnx/model.onnx (pixel_values, dynamic batch/height/width -> last_hidden_state,
                     pooler_output), config.json, preprocessor_config.json
  Florence-2:        onnx/vision_encoder.onnx, onnx/embed_tokens.onnx, onnx/encoder_model.onnx,
                     onnx/decoder_model_merged.onnx (use_cache_branch), config.json,
                     generation_config.json, preprocessor_config.json, processor_config.json,
                     tokenizer.json, tokenizer_config.json (+ vocab.json, merges.txt, ...)
  variants:          <graph>_fp16.onnx, <graph>_quantized.onnx (q8), <graph>_int8.onnx, <graph>_uint8.onnx
  export_report.json: what was exported from what, and the check's differences

then checks the export against PyTorch with onnxruntime and exits 1 when an fp32 output differs by
more than --tolerance (2 on usage or checkpoint errors).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parent / "reference"
sys.path[:0] = [str(HERE), str(REFERENCE)]

import logging  # noqa: E402
import warnings  # noqa: E402

import torch  # noqa: E402

import florence2_original  # noqa: E402
import onnx_graphs  # noqa: E402
import verify  # noqa: E402

FAMILIES = ("siglip", "siglip2", "siglip2-naflex", "clip", "dinov2", "florence2")
VARIANTS = {"fp32": "", "fp16": "_fp16", "q8": "_quantized", "int8": "_int8", "uint8": "_uint8"}
SIGLIP_GRAPHS = ("vision_model", "text_model")
CLIP_GRAPHS = ("vision_model", "text_model")
DINOV2_GRAPHS = ("model",)
FLORENCE2_GRAPHS = ("vision_encoder", "embed_tokens", "encoder_model", "decoder_model_merged")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                   "spiece.model", "tokenizer.model", "vocab.json", "merges.txt")
# The tokens Florence-2's original processor adds to BART's vocabulary (ids 50265..51288), in its order.
FLORENCE2_TOKENS = (["<od>", "</od>", "<ocr>", "</ocr>"] + [f"<loc_{x}>" for x in range(1000)] +
                    ["<cap>", "</cap>", "<ncap>", "</ncap>", "<dcap>", "</dcap>", "<grounding>", "</grounding>",
                     "<seg>", "</seg>", "<sep>", "<region_cap>", "</region_cap>", "<region_to_desciption>",
                     "</region_to_desciption>", "<proposal>", "</proposal>", "<poly>", "</poly>", "<and>"])


class ExportError(Exception):
    """A checkpoint this exporter cannot handle; the message says why."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- where the checkpoint is and what it is --------------------------------------------------

def resolve(source: str, revision: str | None) -> Path:
    path = Path(source).expanduser()
    if path.is_dir():
        return path
    if path.exists() or source.startswith((".", "/")) or source.count("/") != 1:
        raise ExportError(f"{source} is neither a checkpoint folder nor a hub id (org/name)")
    from huggingface_hub import snapshot_download

    patterns = ["*.json", "*.model", "*.txt"]
    try:
        folder = Path(snapshot_download(source, revision=revision, allow_patterns=patterns + ["*.safetensors"]))
        if not list(folder.glob("*.safetensors")):
            folder = Path(snapshot_download(source, revision=revision, allow_patterns=patterns + ["pytorch_model*.bin"]))
    except Exception as error:  # offline without a cached copy, unknown repository, gated, ...
        raise ExportError(f"could not get {source} from the hub or its cache: {type(error).__name__}: {error}") from error
    return folder


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def detect(src: Path, family: str | None) -> tuple[str, str]:
    """(family, layout): layout is "native" or, for Florence-2, "original" (remote code)."""
    if not (src / "config.json").exists():
        raise ExportError(f"{src} has no config.json")
    config = read_json(src / "config.json")
    model_type = config.get("model_type")
    if model_type == "siglip2":
        if family and family != "siglip2-naflex":
            raise ExportError(f"--family {family}, but {src} is a SigLIP 2 NaFlex checkpoint (model_type siglip2)")
        return "siglip2-naflex", "native"
    if model_type == "siglip":
        detected = "siglip2" if is_gemma_tokenizer(src) else "siglip"
        if family and family not in ("siglip", "siglip2"):
            raise ExportError(f"--family {family}, but {src} is a SigLIP checkpoint (model_type siglip)")
        return family or detected, "native"
    if model_type == "florence2":
        if family and family != "florence2":
            raise ExportError(f"--family {family}, but {src} is a Florence-2 checkpoint (model_type florence2)")
        return "florence2", "original" if florence2_original.is_original(config) else "native"
    if model_type == "clip":
        if family and family != "clip":
            raise ExportError(f"--family {family}, but {src} is a CLIP checkpoint (model_type clip)")
        return "clip", "native"
    if model_type in ("dinov2", "dinov2_with_registers"):
        if family and family != "dinov2":
            raise ExportError(f"--family {family}, but {src} is a DINOv2 checkpoint (model_type {model_type})")
        return "dinov2", "with registers" if model_type == "dinov2_with_registers" else "native"
    if model_type in ("siglip_vision_model", "siglip_text_model", "siglip2_vision_model", "siglip2_text_model"):
        raise ExportError(f"{src} holds one SigLIP tower ({model_type}); the exporter needs the full SiglipModel")
    if model_type in ("clip_vision_model", "clip_text_model"):
        raise ExportError(f"{src} holds one CLIP tower ({model_type}); the exporter needs the full CLIPModel")
    raise ExportError(f"{src}: model_type {model_type!r} is not one this exporter handles "
                      f"(siglip, siglip2, clip, dinov2, dinov2_with_registers, florence2)")


def is_gemma_tokenizer(src: Path) -> bool:
    config = read_json(src / "tokenizer_config.json") if (src / "tokenizer_config.json").exists() else {}
    if "Gemma" in str(config.get("tokenizer_class", "")):
        return True
    return (src / "tokenizer.model").exists() and not (src / "spiece.model").exists()


def read_state_dict(src: Path) -> dict[str, torch.Tensor]:
    files = sorted(src.glob("*.safetensors"))
    if files:
        from safetensors.torch import load_file

        state = {}
        for file in files:
            state.update(load_file(str(file)))
        return state
    files = sorted(src.glob("pytorch_model*.bin"))
    if not files:
        raise ExportError(f"{src} has no weights (*.safetensors or pytorch_model*.bin)")
    state = {}
    for file in files:
        state.update(torch.load(str(file), map_location="cpu", weights_only=True))
    return state


# --- loading ---------------------------------------------------------------------------------

def load_siglip(src: Path):
    from transformers import SiglipModel

    model, loading = SiglipModel.from_pretrained(src, dtype=torch.float32, attn_implementation="eager",
                                                 output_loading_info=True)
    refuse_missing(loading, allowed=())
    model.eval()
    if not getattr(model.config.vision_config, "vision_use_head", True):
        raise ExportError("the vision tower has no attention-pooling head (vision_use_head false): no pooler_output to export")
    return model


def load_siglip2_naflex(src: Path):
    from transformers import Siglip2Model

    try:
        model, loading = Siglip2Model.from_pretrained(src, dtype=torch.float32, attn_implementation="eager",
                                                      output_loading_info=True)
    except OSError as error:  # no weights file at all
        raise ExportError(f"{src} has no weights transformers can load (*.safetensors or pytorch_model*.bin): {error}") from error
    refuse_missing(loading, allowed=())
    model.eval()
    if not getattr(model.config.vision_config, "vision_use_head", True):
        raise ExportError("the vision tower has no attention-pooling head (vision_use_head false): no pooler_output to export")
    return model


def load_clip(src: Path):
    """CLIPModel and the two with-projection towers (the layout Xenova/clip-vit-* exports) holding its weights."""
    from transformers import CLIPModel

    from clip_tiny import towers

    model, loading = CLIPModel.from_pretrained(src, dtype=torch.float32, attn_implementation="eager",
                                               output_loading_info=True)
    refuse_missing(loading, allowed=())
    model.eval()
    # The towers' projections are projection_dim wide; some configs leave the sub-configs' own
    # projection_dim at its default (512) while the model's differs.
    model.config.vision_config.projection_dim = model.config.projection_dim
    model.config.text_config.projection_dim = model.config.projection_dim
    vision, text = towers(model)
    return model, vision, text


def load_dinov2(src: Path):
    from transformers import Dinov2Model, Dinov2WithRegistersModel

    registers = read_json(src / "config.json").get("model_type") == "dinov2_with_registers"
    model_class = Dinov2WithRegistersModel if registers else Dinov2Model
    model, loading = model_class.from_pretrained(src, dtype=torch.float32, attn_implementation="eager",
                                                 output_loading_info=True)
    refuse_missing(loading, allowed=())
    return model.eval()


def refuse_missing(loading: dict, allowed: tuple[str, ...]) -> None:
    """A checkpoint without some weights would export random ones: refuse it."""
    missing = [k for k in loading["missing_keys"] if k not in allowed]
    if missing or loading.get("mismatched_keys"):
        raise ExportError(f"the checkpoint lacks weights the model needs: missing {missing[:8]}{' ...' if len(missing) > 8 else ''}"
                          f"{', mismatched ' + str(loading['mismatched_keys'][:8]) if loading.get('mismatched_keys') else ''}")


def load_florence2(src: Path, layout: str) -> tuple[object, dict]:
    from transformers import Florence2ForConditionalGeneration

    if layout == "native":
        model, loading = Florence2ForConditionalGeneration.from_pretrained(
            src, dtype=torch.float32, attn_implementation="eager", output_loading_info=True)
        refuse_missing(loading, allowed=florence2_original.TIED_NATIVE_KEYS + (florence2_original.LM_HEAD,))
        # BART's encoder and decoder embed tokens with the shared table. A checkpoint saved with
        # an untied output projection stores that table once, and transformers 4.57 then gives
        # the encoder's and decoder's copies fresh random values on load: tie them back.
        language = model.model.language_model
        for key, module in zip(florence2_original.TIED_NATIVE_KEYS, (language.encoder, language.decoder)):
            if key in loading["missing_keys"]:
                module.embed_tokens.weight = language.shared.weight
        if florence2_original.LM_HEAD in loading["missing_keys"] and model.lm_head.weight is not language.shared.weight:
            raise ExportError("the checkpoint has no lm_head.weight and does not tie it to the token embedding")
        return model.eval(), {}
    try:
        config = florence2_original.native_config(read_json(src / "config.json"))
        native, left_out = florence2_original.native_state_dict(read_state_dict(src))
        tied = florence2_original.ties_output_projection(native)
    except florence2_original.ConversionError as error:
        raise ExportError(f"original-layout Florence-2 checkpoint: {error}") from error
    config.tie_word_embeddings = tied
    config.text_config.tie_word_embeddings = tied
    config._attn_implementation = "eager"
    model = Florence2ForConditionalGeneration(config)
    stored_dtypes = sorted({str(t.dtype).replace("torch.", "") for t in native.values()})
    missing, unexpected = model.load_state_dict({k: v.float() for k, v in native.items()}, strict=False)
    allowed = set(florence2_original.TIED_NATIVE_KEYS) | ({florence2_original.LM_HEAD} if tied else set())
    # The temporal embedding is a fixed sinusoid the native class computes itself.
    allowed.add("model.multi_modal_projector.visual_temporal_embed.pos_idx_to_embed")
    if unexpected or set(missing) - allowed:
        raise ExportError(f"original-layout Florence-2 weights do not fit the native class: missing {sorted(set(missing) - allowed)}, "
                          f"unexpected {sorted(unexpected)}")
    model.tie_weights()
    info = {"converted_from": "original (remote-code) Florence-2 layout", "weights_left_out": left_out,
            "output_projection_tied": tied, "stored_dtypes": stored_dtypes, "weights_renamed": len(native)}
    return model.eval(), info


# --- side files ------------------------------------------------------------------------------

def copy_json(src: Path, dst: Path, drop=("auto_map",)) -> None:
    """Copies a JSON file; drops `auto_map` (it names remote code the export folder does not hold)."""
    data = read_json(src)
    if isinstance(data, dict) and any(k in data for k in drop):
        data = {k: v for k, v in data.items() if k not in drop}
        dst.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    else:
        shutil.copyfile(src, dst)


def write_siglip_files(model, src: Path, out: Path, family: str) -> list[str]:
    from PIL import Image
    from transformers import AutoTokenizer, SiglipImageProcessor

    notes = []
    model.config.save_pretrained(out)
    if (src / "preprocessor_config.json").exists():
        copy_json(src / "preprocessor_config.json", out / "preprocessor_config.json")
    elif family == "siglip2-naflex":
        from transformers import Siglip2ImageProcessor

        Siglip2ImageProcessor(patch_size=model.config.vision_config.patch_size).save_pretrained(out)
        notes.append("no preprocessor_config.json in the checkpoint: wrote Siglip2ImageProcessor's defaults "
                     f"(max_num_patches 256, patch {model.config.vision_config.patch_size}, bilinear, mean/std 0.5)")
    else:
        size = model.config.vision_config.image_size
        SiglipImageProcessor(size={"height": size, "width": size}, resample=Image.BICUBIC, image_mean=[0.5] * 3,
                             image_std=[0.5] * 3).save_pretrained(out)
        notes.append("no preprocessor_config.json in the checkpoint: wrote SiglipImageProcessor's defaults")
    for name in TOKENIZER_FILES:
        if (src / name).exists():
            (copy_json if name.endswith(".json") else shutil.copyfile)(src / name, out / name)
    if not (out / "tokenizer.json").exists() or not (out / "tokenizer_config.json").exists():
        tokenizer = AutoTokenizer.from_pretrained(src)
        if not (out / "tokenizer_config.json").exists():
            tokenizer.save_pretrained(out / ".tokenizer-tmp")
            for name in ("tokenizer_config.json", "special_tokens_map.json"):
                if (out / ".tokenizer-tmp" / name).exists() and not (out / name).exists():
                    shutil.copyfile(out / ".tokenizer-tmp" / name, out / name)
            shutil.rmtree(out / ".tokenizer-tmp")
        if not (out / "tokenizer.json").exists():
            if tokenizer.is_fast:
                tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
            else:
                # SiglipTokenizer has no fast version; the SentencePiece model in the tokenizers
                # format is what emb reads (it adds SigLIP's canonicalisation and padding itself).
                from siglip_tiny import write_fast_tokenizer_json

                write_fast_tokenizer_json(tokenizer, out)
            notes.append(f"tokenizer.json generated from the checkpoint's {type(tokenizer).__name__}")
    return notes


def copy_tokenizer_files(src: Path, out: Path) -> None:
    for name in TOKENIZER_FILES:
        if (src / name).exists():
            (copy_json if name.endswith(".json") else shutil.copyfile)(src / name, out / name)


def write_clip_files(model, src: Path, out: Path) -> list[str]:
    from transformers import CLIPImageProcessor, CLIPTokenizerFast

    notes = []
    model.config.save_pretrained(out)
    if (src / "preprocessor_config.json").exists():
        copy_json(src / "preprocessor_config.json", out / "preprocessor_config.json")
    else:
        size = model.config.vision_config.image_size
        CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size}).save_pretrained(out)
        notes.append(f"no preprocessor_config.json in the checkpoint: wrote CLIPImageProcessor's defaults ({size}x{size})")
    copy_tokenizer_files(src, out)
    if not (out / "tokenizer.json").exists():
        # emb reads tokenizer.json; the fast tokenizer writes it from vocab.json and merges.txt.
        tmp = out / ".tokenizer-tmp"
        CLIPTokenizerFast.from_pretrained(src).save_pretrained(tmp)
        for path in sorted(tmp.iterdir()):
            if not (out / path.name).exists():
                shutil.copyfile(path, out / path.name)
        shutil.rmtree(tmp)
        notes.append("tokenizer.json generated with CLIPTokenizerFast from the checkpoint's vocab.json and merges.txt")
    return notes


def write_dinov2_files(model, src: Path, out: Path) -> list[str]:
    import dinov2_tiny

    notes = []
    model.config.save_pretrained(out)
    if (src / "preprocessor_config.json").exists():
        copy_json(src / "preprocessor_config.json", out / "preprocessor_config.json")
    else:
        dinov2_tiny.processor().save_pretrained(out)
        notes.append("no preprocessor_config.json in the checkpoint: wrote facebook/dinov2-small's (BitImageProcessor: "
                     "shortest edge 256, bicubic, 224x224 crop, ImageNet mean/std)")
    return notes


def write_florence2_files(model, src: Path, out: Path) -> list[str]:
    from PIL import Image
    from transformers import BartTokenizerFast, CLIPImageProcessor, GenerationConfig

    from florence2_tiny import POST_PROCESSOR_CONFIG

    notes = []
    model.config.save_pretrained(out)
    if (src / "generation_config.json").exists():
        copy_json(src / "generation_config.json", out / "generation_config.json")
    else:
        GenerationConfig.from_model_config(model.config.text_config).save_pretrained(out)
        notes.append("no generation_config.json in the checkpoint: wrote the text config's generation settings")
    if (src / "preprocessor_config.json").exists():
        copy_json(src / "preprocessor_config.json", out / "preprocessor_config.json")
    else:
        CLIPImageProcessor(size={"height": 768, "width": 768}, resample=Image.BICUBIC, do_center_crop=False,
                           image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]).save_pretrained(out)
        notes.append("no preprocessor_config.json in the checkpoint: wrote Florence-2's (768x768, bicubic, ImageNet mean/std)")
    if (src / "processor_config.json").exists():
        copy_json(src / "processor_config.json", out / "processor_config.json")
    else:
        (out / "processor_config.json").write_text(json.dumps(
            {"processor_class": "Florence2Processor", "post_processor_config": POST_PROCESSOR_CONFIG}, indent=1) + "\n")
    tokenizer = BartTokenizerFast.from_pretrained(src)
    vocab = tokenizer.get_vocab()
    if "<loc_0>" in vocab and (src / "tokenizer.json").exists() and (src / "tokenizer_config.json").exists():
        for name in TOKENIZER_FILES:
            if (src / name).exists():
                (copy_json if name.endswith(".json") else shutil.copyfile)(src / name, out / name)
    else:
        missing = [t for t in FLORENCE2_TOKENS if t not in vocab]
        if missing and len(missing) != len(FLORENCE2_TOKENS):
            raise ExportError(f"the tokenizer has some of Florence-2's task and location tokens but not all ({len(missing)} missing)")
        if missing:
            # What the original processor (processing_florence2.py) does to the tokenizer on load.
            tokenizer.add_special_tokens({"additional_special_tokens": tokenizer.additional_special_tokens + FLORENCE2_TOKENS})
            notes.append("added Florence-2's 1,024 task and <loc_N> tokens to the BART tokenizer, as the original processor does on load")
        tokenizer.save_pretrained(out)
    size = len(BartTokenizerFast.from_pretrained(out))
    if size > model.config.text_config.vocab_size:
        raise ExportError(f"the tokenizer has {size} tokens, more than the model's vocabulary ({model.config.text_config.vocab_size})")
    return notes


# --- graphs ----------------------------------------------------------------------------------

def tensor_bytes(*modules) -> int:
    seen, total = set(), 0
    for module in modules:
        for p in list(module.parameters()) + list(module.buffers()):
            if p.data_ptr() not in seen:
                seen.add(p.data_ptr())
                total += p.numel() * 4
    return total


def wants_external(setting: str, largest_graph_bytes: int) -> bool:
    if setting == "auto":
        return largest_graph_bytes > onnx_graphs.EXTERNAL_DATA_THRESHOLD
    return setting == "yes"


def export_siglip(model, staging: Path, external: bool) -> None:
    import siglip_tiny

    length = model.config.text_config.max_position_embeddings
    size = model.config.vision_config.image_size
    pixels = torch.zeros(2, 3, size, size)
    ids = torch.ones(2, length, dtype=torch.long)
    siglip_tiny.export_model(model, staging, pixels, ids, external_data=external, combined=False)


def export_siglip2_naflex(model, staging: Path, external: bool, out: Path) -> None:
    """vision_model.onnx (tools/export/naflex.py: the patch grid and its position-embedding resize are
    inputs, dynamic batch and number of patches) and text_model.onnx, as tools/reference/siglip2_naflex_tiny.py
    exports them. Traced on a landscape and a portrait image (different grids) at the processor's budget."""
    import naflex
    from transformers import Siglip2ImageProcessor

    processor = Siglip2ImageProcessor.from_pretrained(out)
    items = [verify.naflex_item(processor, image, processor.max_num_patches)
             for _, image in verify.synthetic_images()[:2]]
    sample = naflex.collate(items, processor.max_num_patches)
    length = model.config.text_config.max_position_embeddings
    ids = torch.ones(2, length, dtype=torch.long)
    onnx_dir = staging / "onnx"
    naflex.export_naflex(model, onnx_dir / "vision_model.onnx", sample, external_data=external)
    naflex.export_text(model, onnx_dir / "text_model.onnx", ids, external_data=external)


def export_clip(vision, text, staging: Path, external: bool, out: Path) -> None:
    """vision_model.onnx and text_model.onnx as tools/reference/clip_tiny.py exports them (its tower wrappers)."""
    from transformers import CLIPTokenizerFast

    from clip_tiny import TextTower, VisionTower

    size = vision.config.image_size
    pixels = torch.zeros(2, 3, size, size)
    # Traced with real, padded captions so the attention mask takes the path it takes at run time.
    tokens = CLIPTokenizerFast.from_pretrained(out)(verify.CAPTIONS[:2], padding="max_length", truncation=True,
                                                     max_length=text.config.max_position_embeddings, return_tensors="pt")
    onnx_dir = staging / "onnx"
    onnx_graphs.export(VisionTower(vision), (pixels,), onnx_dir / "vision_model.onnx",
                       ["pixel_values"], ["image_embeds", "last_hidden_state"],
                       {"pixel_values": {0: "batch_size"}, "image_embeds": {0: "batch_size"},
                        "last_hidden_state": {0: "batch_size"}}, external_data=external)
    onnx_graphs.export(TextTower(text), (tokens["input_ids"], tokens["attention_mask"]), onnx_dir / "text_model.onnx",
                       ["input_ids", "attention_mask"], ["text_embeds", "last_hidden_state"],
                       {"input_ids": {0: "batch_size", 1: "sequence_length"},
                        "attention_mask": {0: "batch_size", 1: "sequence_length"},
                        "text_embeds": {0: "batch_size"}, "last_hidden_state": {0: "batch_size", 1: "sequence_length"}},
                       external_data=external)


def export_dinov2(model, staging: Path, external: bool, size: tuple[int, int]) -> None:
    """onnx/model.onnx as tools/reference/dinov2_tiny.py exports it; with registers at opset 18 (antialiased
    position-embedding resize, onnx_graphs.export_antialiased)."""
    from dinov2_tiny import Backbone

    config = model.config
    height, width = size
    if height == width == config.image_size:
        # At the checkpoint's own size the position embeddings are not resized, and the trace would
        # keep only that path: trace one patch smaller so the graph resizes for every size.
        height = width = config.image_size - config.patch_size
    pixels = torch.zeros(2, 3, height, width)
    names = (["pixel_values"], ["last_hidden_state", "pooler_output"],
             {"pixel_values": {0: "batch_size", 2: "height", 3: "width"},
              "last_hidden_state": {0: "batch_size", 1: "sequence_length"}, "pooler_output": {0: "batch_size"}})
    path = staging / "onnx" / "model.onnx"
    if config.model_type == "dinov2_with_registers":
        onnx_graphs.export_antialiased(Backbone(model), (pixels,), path, *names, external_data=external)
    else:
        onnx_graphs.export(Backbone(model), (pixels,), path, *names, external_data=external)


def export_florence2(model, staging: Path, external: bool, image_size: tuple[int, int]) -> None:
    import florence2_tiny

    pixels = torch.zeros(1, 3, *image_size)
    ids = torch.tensor([[0, 2264, 473, 5, 2274, 6190, 116, 2]])  # "<s>What does the image describe?</s>"
    florence2_tiny.export_model(model, pixels, ids, staging, external_data=external)


def image_size(out: Path) -> tuple[int, int]:
    config = read_json(out / "preprocessor_config.json")
    size = config.get("crop_size") if config.get("do_center_crop") and config.get("crop_size") else config.get("size", {})
    height = size.get("height", size.get("shortest_edge"))
    width = size.get("width", size.get("shortest_edge"))
    if not height or not width:
        raise ExportError("preprocessor_config.json gives no image size")
    return int(height), int(width)


def make_variants(onnx_dir: Path, graphs: tuple[str, ...], dtypes: list[str]) -> None:
    for name in graphs:
        source = onnx_dir / f"{name}.onnx"
        external = (onnx_dir / f"{name}.onnx_data").exists()
        for dtype in dtypes:
            if dtype == "fp32":
                continue
            target = onnx_dir / f"{name}{VARIANTS[dtype]}.onnx"
            started = time.time()
            if dtype == "fp16":
                onnx_graphs.convert_float16(source, target)
            else:
                # q8 follows transformers.js: unsigned weights where the graph has a Conv (signed
                # ConvInteger is missing from onnxruntime-web), signed elsewhere.
                weight = {"int8": "int8", "uint8": "uint8"}.get(dtype) or ("uint8" if onnx_graphs.has_op(source, "Conv") else "int8")
                # int8 weights are a quarter of float32's: external only for graphs of over ~7 GB.
                big = external and os.path.getsize(source.with_name(source.name + "_data")) > 4 * onnx_graphs.EXTERNAL_DATA_THRESHOLD
                onnx_graphs.quantize_dynamic_int8(source, target, weight_type=weight, subgraphs=True, external_data=big)
            log(f"  {target.name}: {time.time() - started:.0f} s")


def move_graphs(staging: Path, onnx_dir: Path) -> None:
    """Keeps the graphs and their `.onnx_data`; drops anything else the exporter left (per-tensor files)."""
    onnx_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted((staging / "onnx").iterdir()):
        if path.name.endswith((".onnx", ".onnx_data")):
            shutil.move(str(path), onnx_dir / path.name)
    shutil.rmtree(staging)


# --- main ------------------------------------------------------------------------------------

def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="checkpoint folder or hub id (org/name)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write (must be empty or absent unless --force)")
    parser.add_argument("--family", choices=FAMILIES, help="what the checkpoint is; detected from config.json when left out")
    parser.add_argument("--dtype", default="fp32", help=f"comma-separated variants to write: {', '.join(VARIANTS)} (default fp32; fp32 is always written)")
    parser.add_argument("--check-images", type=Path, help="folder of images for the check (default: generated test images)")
    parser.add_argument("--check-count", type=int, default=3, help="how many images the check uses (default 3)")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest max-abs difference allowed for fp32 outputs (default 1e-4)")
    parser.add_argument("--variant-tolerance", type=float, help="also hold fp16/int8 outputs to this (default: report only)")
    parser.add_argument("--max-new-tokens", type=int, default=20, help="Florence-2: greedy tokens compared per task and image (default 20)")
    parser.add_argument("--external-data", choices=("auto", "yes", "no"), default="auto",
                        help="weights in <graph>.onnx_data: auto = when a graph's weights come near protobuf's 2 GiB limit")
    parser.add_argument("--revision", help="hub revision (branch, tag or commit) for a hub id")
    parser.add_argument("--no-check", action="store_true", help="export only, do not compare with PyTorch")
    parser.add_argument("--force", action="store_true", help="write into a non-empty --out (its onnx/ folder is replaced)")
    args = parser.parse_args(argv)
    dtypes = [d.strip() for d in args.dtype.split(",") if d.strip()]
    unknown = [d for d in dtypes if d not in VARIANTS]
    if unknown:
        parser.error(f"--dtype {args.dtype}: unknown {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    args.dtypes = ["fp32"] + [d for d in VARIANTS if d in dtypes and d != "fp32"]
    return args


def quiet() -> None:
    """Keeps the output to the exporter's own lines: float16 rounding notices, onnxruntime's
    quantisation advice and transformers' deprecation notices are expected here."""
    import transformers

    warnings.filterwarnings("ignore")
    logging.getLogger().setLevel(logging.ERROR)
    transformers.logging.set_verbosity_error()


def main(argv=None) -> int:
    args = parse_args(argv)
    quiet()
    started = time.time()
    try:
        src = resolve(args.checkpoint, args.revision)
        family, layout = detect(src, args.family)
        if family == "dinov2" and layout == "native" and "fp16" in args.dtypes:
            raise ExportError(
                "--dtype fp16 is not offered for DINOv2 without registers: onnxruntime's CPU provider moves the float16 "
                "graph's position-embedding resize (bicubic, shrinking 37x37 to the image's patch grid) to channels-last "
                "at load and then refuses to run it (cubic downscaling is not supported there). fp32, q8, int8 and "
                "uint8 work; so does fp16 for DINOv2 with registers (antialiased resize)")
        out = args.out
        if out.exists() and any(out.iterdir()):
            if not args.force:
                raise ExportError(f"{out} is not empty; pass --force to write into it")
            shutil.rmtree(out / "onnx", ignore_errors=True)
        out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(0)
        torch.set_grad_enabled(False)
        log(f"{args.checkpoint}: {family} ({layout} layout)")

        if family in ("siglip", "siglip2", "siglip2-naflex"):
            model = load_siglip2_naflex(src) if family == "siglip2-naflex" else load_siglip(src)
            # The split towers do not hold these; `emb classify` takes them as flags.
            info = {"classify": {"logit_scale": float(model.logit_scale.exp()), "logit_bias": float(model.logit_bias[0])}}
            notes = write_siglip_files(model, src, out, family)
            largest = max(tensor_bytes(model.vision_model), tensor_bytes(model.text_model))
            graphs = SIGLIP_GRAPHS
        elif family == "clip":
            model, vision, text = load_clip(src)
            # CLIP has no bias: softmax over scale * cosine.
            info = {"classify": {"logit_scale": float(model.logit_scale.exp()), "logit_bias": 0.0}}
            notes = write_clip_files(model, src, out)
            largest = max(tensor_bytes(vision), tensor_bytes(text))
            graphs = CLIP_GRAPHS
        elif family == "dinov2":
            model = load_dinov2(src)
            info = {"num_register_tokens": int(getattr(model.config, "num_register_tokens", 0))}
            notes = write_dinov2_files(model, src, out)
            largest = tensor_bytes(model)
            graphs = DINOV2_GRAPHS
        else:
            model, info = load_florence2(src, layout)
            notes = write_florence2_files(model, src, out)
            largest = max(tensor_bytes(model.model.vision_tower, model.model.multi_modal_projector),
                          tensor_bytes(model.get_encoder().layers), tensor_bytes(model.get_decoder().layers, model.lm_head))
            graphs = FLORENCE2_GRAPHS
        loaded = time.time()
        for note in notes:
            log(f"  note: {note}")
        external = wants_external(args.external_data, largest)
        staging = out / ".export-staging"
        shutil.rmtree(staging, ignore_errors=True)
        log(f"exporting {', '.join(graphs)} (weights {'in .onnx_data files' if external else 'inside the graphs'})")
        if family == "florence2":
            export_florence2(model, staging, external, image_size(out))
        elif family == "clip":
            export_clip(vision, text, staging, external, out)
        elif family == "dinov2":
            export_dinov2(model, staging, external, image_size(out))
        elif family == "siglip2-naflex":
            export_siglip2_naflex(model, staging, external, out)
        else:
            export_siglip(model, staging, external)
        move_graphs(staging, out / "onnx")
        exported = time.time()
        if len(args.dtypes) > 1:
            log(f"variants: {', '.join(args.dtypes[1:])}")
            make_variants(out / "onnx", graphs, args.dtypes)
        varied = time.time()

        report = None
        if not args.no_check:
            images = verify.load_images(args.check_images, args.check_count)
            log(f"checking against PyTorch on {len(images)} images ({', '.join(n for n, _ in images)})")
            variants = {d: VARIANTS[d] for d in args.dtypes}
            if family == "florence2":
                report = verify.check_florence2(model, out, images, variants, args.tolerance, args.variant_tolerance,
                                                args.max_new_tokens)
            elif family == "clip":
                report = verify.check_clip(model, vision, text, out, images, variants, args.tolerance, args.variant_tolerance)
            elif family == "dinov2":
                report = verify.check_dinov2(model, out, images, variants, args.tolerance, args.variant_tolerance)
            elif family == "siglip2-naflex":
                report = verify.check_siglip2_naflex(model, out, images, variants, args.tolerance, args.variant_tolerance)
            else:
                report = verify.check_siglip(model, out, images, variants, args.tolerance, args.variant_tolerance)
            print(report.table())
        checked = time.time()

        import onnx
        import onnxruntime
        import transformers

        files = {str(p.relative_to(out)): p.stat().st_size for p in sorted((out / "onnx").iterdir())}
        (out / "export_report.json").write_text(json.dumps({
            "source": args.checkpoint if not Path(args.checkpoint).is_dir() else Path(args.checkpoint).name,
            "revision": args.revision,
            "family": family,
            "layout": layout,
            **info,
            "notes": notes,
            "external_data": external,
            "variants": args.dtypes,
            "onnx_files": files,
            "seconds": {"load": round(loaded - started, 1), "export": round(exported - loaded, 1),
                        "variants": round(varied - exported, 1), "check": round(checked - varied, 1)},
            "check": None if report is None else {
                "tolerance": args.tolerance, "variant_tolerance": args.variant_tolerance,
                "images": [n for n, _ in images], "passed": report.ok, "rows": report.to_json()},
            "versions": {"python": platform.python_version(), "torch": torch.__version__,
                         "transformers": transformers.__version__, "onnx": onnx.__version__,
                         "onnxruntime": onnxruntime.__version__, "opset": onnx_graphs.ANTIALIAS_OPSET if layout == "with registers" else onnx_graphs.OPSET},
        }, indent=1) + "\n")
        log(f"wrote {out} in {time.time() - started:.0f} s")
        if "classify" in info:
            log(f"emb classify with this model: --logit-scale {info['classify']['logit_scale']:.9g} "
                f"--logit-bias {info['classify']['logit_bias']:.9g}")
        if report is not None and not report.ok:
            log(f"FAILED: an output differs from PyTorch by more than allowed (see the table)")
            return 1
        return 0
    except ExportError as error:
        log(f"error: {error}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
