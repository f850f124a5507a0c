"""Checks an export against PyTorch with onnxruntime (Python): per output, the largest absolute difference.

SigLIP: both towers' outputs on a few images and captions. SigLIP 2 NaFlex: get_image_features
at two patch budgets, each image alone and all in one batch padded to its longest image, and
get_text_features of the lowercased captions. CLIP: both with-projection towers'
outputs (image_embeds/text_embeds against get_image_features/get_text_features). DINOv2:
last_hidden_state and pooler_output on the images, and at a second input size. Florence-2: every part on its own
(image features, token embeddings, encoder states, first-step logits of the merged decoder, all
fed PyTorch's inputs) and greedy decoding through the exported parts end to end against
PyTorch's `generate()`, for a couple of tasks per image.

fp32 rows are held to the tolerance; rows of the fp16 and int8 variants are reported (and must be
finite) but are held to a limit only when one is given, since their error is the variant's
rounding rather than an export fault.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageOps

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
CAPTIONS = [
    "a photo of a cat",
    "A red car parked in front of a yellow building.",
    "Two dogs playing in the snow, 3 people watching!",
    "café crème brûlée — naïve façade",
]
# Florence2Processor's prompts for the tasks the check decodes.
FLORENCE2_TASKS = {
    "<CAPTION>": "What does the image describe?",
    "<OD>": "Locate the objects with category name in the image.",
}
# Greedy decoding may part from PyTorch's where PyTorch's own two best logits are closer than this:
# a tie that rounding decides either way, not an export fault.
TIE_MARGIN = 1e-3


@dataclass
class Row:
    name: str
    variant: str
    diff: float
    scale: float
    limit: float | None
    note: str = ""

    @property
    def ok(self) -> bool:
        if not math.isfinite(self.diff):
            return False
        return self.limit is None or self.diff <= self.limit


@dataclass
class TokenRow:
    name: str
    variant: str
    equal: bool
    detail: str
    gated: bool

    @property
    def ok(self) -> bool:
        return self.equal or not self.gated


@dataclass
class Report:
    rows: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    def add(self, name: str, variant: str, got, want, limit: float | None) -> None:
        got = np.asarray(got, dtype=np.float64)
        want = np.asarray(want.detach().numpy() if isinstance(want, torch.Tensor) else want, dtype=np.float64)
        if got.shape != want.shape:
            self.rows.append(Row(name, variant, float("inf"), 0.0, limit, f"shape {got.shape} != {want.shape}"))
            return
        diff = float(np.max(np.abs(got - want))) if got.size else 0.0
        if not np.all(np.isfinite(got)):
            diff = float("nan")
        self.rows.append(Row(name, variant, diff, float(np.max(np.abs(want))) if want.size else 0.0, limit))

    def table(self) -> str:
        lines = ["| output | variant | max abs diff | max abs PyTorch | limit | result |", "|---|---|---|---|---|---|"]
        for r in self.rows:
            if isinstance(r, TokenRow):
                lines.append(f"| {r.name} | {r.variant} | {r.detail} | | {'equal' if r.gated else 'reported'} | "
                             f"{'ok' if r.ok else 'FAIL'} |")
            else:
                limit = f"{r.limit:g}" if r.limit is not None else "reported"
                note = f" ({r.note})" if r.note else ""
                lines.append(f"| {r.name} | {r.variant} | {r.diff:.3g}{note} | {r.scale:.3g} | {limit} | {'ok' if r.ok else 'FAIL'} |")
        return "\n".join(lines)

    def to_json(self) -> list[dict]:
        out = []
        for r in self.rows:
            if isinstance(r, TokenRow):
                out.append({"output": r.name, "variant": r.variant, "tokens_equal": r.equal, "detail": r.detail, "ok": r.ok})
            else:
                out.append({"output": r.name, "variant": r.variant, "max_abs_diff": r.diff, "max_abs_reference": r.scale,
                            "limit": r.limit, "ok": r.ok, **({"note": r.note} if r.note else {})})
        return out


def load_images(folder: Path | None, count: int) -> list[tuple[str, Image.Image]]:
    """Images as a Python user loads them (EXIF orientation applied, RGB); generated ones without a folder."""
    if folder is None:
        return synthetic_images()[:count]
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise SystemExit(f"--check-images {folder}: no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
    return [(str(p.relative_to(folder)), ImageOps.exif_transpose(Image.open(p)).convert("RGB")) for p in files[:count]]


def synthetic_images() -> list[tuple[str, Image.Image]]:
    """Three deterministic test images of different shapes: shapes on a gradient, noise, stripes."""
    rng = np.random.default_rng(20261129)
    y, x = np.mgrid[0:480, 0:640]
    gradient = np.stack([x * 255 // 639, y * 255 // 479, (x + y) * 255 // 1118], axis=-1).astype(np.uint8)
    scene = Image.fromarray(gradient)
    draw = ImageDraw.Draw(scene)
    draw.ellipse((80, 60, 300, 280), fill=(230, 40, 40))
    draw.rectangle((360, 200, 600, 420), fill=(30, 160, 60))
    draw.polygon([(320, 40), (420, 180), (220, 180)], fill=(250, 220, 30))
    noise = Image.fromarray(rng.integers(0, 256, (500, 333, 3), dtype=np.uint8))
    stripes = np.zeros((256, 1024, 3), np.uint8)
    stripes[:, ::16] = (255, 255, 255)
    stripes[::8, :, 2] = 200
    return [("synthetic-shapes-640x480", scene), ("synthetic-noise-333x500", noise),
            ("synthetic-stripes-1024x256", Image.fromarray(stripes))]


def session(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def feed(sess, values: dict) -> dict:
    """Inputs in the graph's float type (float16 for `_fp16` variants)."""
    wanted = {i.name: i.type for i in sess.get_inputs()}
    out = {}
    for name, value in values.items():
        value = value.detach().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        if wanted.get(name) == "tensor(float16)" and value.dtype == np.float32:
            value = value.astype(np.float16)
        out[name] = value
    return out


def run(sess, values: dict) -> list[np.ndarray]:
    return [np.asarray(o, dtype=np.float32) if o.dtype == np.float16 else o for o in sess.run(None, feed(sess, values))]


def graph(onnx_dir: Path, stem: str, suffix: str) -> Path:
    return onnx_dir / f"{stem}{suffix}.onnx"


# --- SigLIP ----------------------------------------------------------------------------------

def check_siglip(model, out: Path, images, variants: dict[str, str], tolerance: float, variant_limit: float | None) -> Report:
    from transformers import AutoImageProcessor, AutoTokenizer

    processor = AutoImageProcessor.from_pretrained(out, use_fast=False)
    tokenizer = AutoTokenizer.from_pretrained(out)
    length = model.config.text_config.max_position_embeddings
    pixels = processor(images=[im for _, im in images], return_tensors="pt", input_data_format="channels_last")["pixel_values"]
    ids = tokenizer(CAPTIONS, padding="max_length", max_length=length, truncation=True, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        vision = model.vision_model(pixel_values=pixels)
        text = model.text_model(input_ids=ids)
    report = Report()
    for variant, suffix in variants.items():
        limit = tolerance if variant == "fp32" else variant_limit
        v = run(session(graph(out / "onnx", "vision_model", suffix)), {"pixel_values": pixels})
        report.add("vision_model.last_hidden_state", variant, v[0], vision.last_hidden_state, limit)
        report.add("vision_model.pooler_output", variant, v[1], vision.pooler_output, limit)
        t = run(session(graph(out / "onnx", "text_model", suffix)), {"input_ids": ids})
        report.add("text_model.last_hidden_state", variant, t[0], text.last_hidden_state, limit)
        report.add("text_model.pooler_output", variant, t[1], text.pooler_output, limit)
    return report


# --- SigLIP 2 NaFlex -------------------------------------------------------------------------

# The second patch budget the NaFlex check runs at, besides the processor's max_num_patches.
NAFLEX_OTHER_BUDGET = 64
# SigLIP 2 tokenises lowercased text to 64 tokens (its model card; emb does the same).
NAFLEX_TEXT_LENGTH = 64


def naflex_item(processor, image, budget: int) -> dict:
    """One image through Siglip2ImageProcessor at max_num_patches `budget`: pixel_values [1, budget, 3*p*p],
    pixel_attention_mask [1, budget], spatial_shapes [1, 2]."""
    # channels_last stated: the processor guesses channels-first for an image 1 or 3 pixels high.
    out = processor(images=image, max_num_patches=budget, return_tensors="pt", input_data_format="channels_last")
    return {"pixel_values": out["pixel_values"].to(torch.float32),
            "pixel_attention_mask": out["pixel_attention_mask"].to(torch.int64),
            "spatial_shapes": out["spatial_shapes"].to(torch.int64)}


def naflex_budgets(processor) -> list[int]:
    return list(dict.fromkeys([int(processor.max_num_patches), NAFLEX_OTHER_BUDGET]))


def naflex_captions(out: Path):
    from transformers import GemmaTokenizerFast

    tokenizer = GemmaTokenizerFast.from_pretrained(out)
    return tokenizer([c.lower() for c in CAPTIONS], padding="max_length", max_length=NAFLEX_TEXT_LENGTH,
                     truncation=True, return_tensors="pt")["input_ids"]


def check_siglip2_naflex(model, out: Path, images, variants: dict[str, str], tolerance: float,
                         variant_limit: float | None) -> Report:
    """The NaFlex vision graph against Siglip2Model.get_image_features (and the vision tower's
    last_hidden_state over each image's real patches) on Siglip2ImageProcessor outputs at the
    processor's max_num_patches and at 64: each image alone (padded to the budget, as the processor
    returns it), and all images in one batch padded only to its longest image (compared with each
    image's own run alone). The text graph against get_text_features on the lowercased captions."""
    import naflex
    from transformers import Siglip2ImageProcessor

    processor = Siglip2ImageProcessor.from_pretrained(out)
    ids = naflex_captions(out)
    cases = []  # (budget, items, features [n, hidden], real-patch hidden states)
    with torch.no_grad():
        for budget in naflex_budgets(processor):
            items = [naflex_item(processor, image, budget) for _, image in images]
            features = torch.cat([model.get_image_features(**item) for item in items])
            hidden = []
            for item in items:
                real = int(item["spatial_shapes"][0].prod())
                state = model.vision_model(pixel_values=item["pixel_values"], attention_mask=item["pixel_attention_mask"],
                                           spatial_shapes=item["spatial_shapes"]).last_hidden_state
                hidden.append(state[0, :real])
            cases.append((budget, items, features, torch.cat(hidden)))
        text_features = model.get_text_features(input_ids=ids)
        text_hidden = model.text_model(input_ids=ids).last_hidden_state
    report = Report()
    for variant, suffix in variants.items():
        limit = tolerance if variant == "fp32" else variant_limit
        sess = session(graph(out / "onnx", "vision_model", suffix))
        for budget, items, features, hidden in cases:
            singles = [run(sess, item) for item in items]
            real = [int(item["spatial_shapes"][0].prod()) for item in items]
            report.add(f"vision_model.pooler_output @{budget} (each image alone) vs get_image_features", variant,
                       np.concatenate([s[1] for s in singles]), features, limit)
            report.add(f"vision_model.last_hidden_state @{budget} (each image alone, real patches)", variant,
                       np.concatenate([s[0][0, :n] for s, n in zip(singles, real)]), hidden, limit)
            if len(items) > 1:
                batch = naflex.collate(items)
                got = run(sess, batch)
                length = batch["pixel_values"].shape[1]
                report.add(f"vision_model.pooler_output @{budget} (one batch padded to {length}) vs get_image_features",
                           variant, got[1], features, limit)
                report.add(f"vision_model.last_hidden_state @{budget} (one batch padded to {length}, real patches)", variant,
                           np.concatenate([got[0][k, :n] for k, n in enumerate(real)]), hidden, limit)
        t = run(session(graph(out / "onnx", "text_model", suffix)), {"input_ids": ids})
        report.add("text_model.last_hidden_state", variant, t[0], text_hidden, limit)
        report.add("text_model.pooler_output vs get_text_features", variant, t[1], text_features, limit)
    return report


# --- CLIP ------------------------------------------------------------------------------------

def check_clip(model, vision, text, out: Path, images, variants: dict[str, str], tolerance: float,
               variant_limit: float | None) -> Report:
    """The towers against CLIPModel itself: image_embeds = get_image_features, text_embeds =
    get_text_features (CLIPTokenizerFast, padding="max_length", truncation, with the attention mask)."""
    from transformers import AutoImageProcessor, CLIPTokenizerFast

    processor = AutoImageProcessor.from_pretrained(out, use_fast=False)
    tokenizer = CLIPTokenizerFast.from_pretrained(out)
    length = model.config.text_config.max_position_embeddings
    pixels = processor(images=[im for _, im in images], return_tensors="pt", input_data_format="channels_last")["pixel_values"]
    tokens = tokenizer(CAPTIONS, padding="max_length", max_length=length, truncation=True, return_tensors="pt")
    ids, mask = tokens["input_ids"], tokens["attention_mask"]
    with torch.no_grad():
        image_embeds = model.get_image_features(pixel_values=pixels)
        image_hidden = model.vision_model(pixel_values=pixels).last_hidden_state
        text_embeds = model.get_text_features(input_ids=ids, attention_mask=mask)
        text_hidden = model.text_model(input_ids=ids, attention_mask=mask).last_hidden_state
    report = Report()
    for variant, suffix in variants.items():
        limit = tolerance if variant == "fp32" else variant_limit
        v = run(session(graph(out / "onnx", "vision_model", suffix)), {"pixel_values": pixels})
        report.add("vision_model.image_embeds", variant, v[0], image_embeds, limit)
        report.add("vision_model.last_hidden_state", variant, v[1], image_hidden, limit)
        t = run(session(graph(out / "onnx", "text_model", suffix)), {"input_ids": ids, "attention_mask": mask})
        report.add("text_model.text_embeds", variant, t[0], text_embeds, limit)
        report.add("text_model.last_hidden_state", variant, t[1], text_hidden, limit)
    return report


# --- DINOv2 ----------------------------------------------------------------------------------

# A second input size (height, width) the graph is run at: the patch grid follows the input.
DINOV2_OTHER_SIZE = (280, 196)


def check_dinov2(model, out: Path, images, variants: dict[str, str], tolerance: float, variant_limit: float | None) -> Report:
    from transformers import AutoImageProcessor

    processor = AutoImageProcessor.from_pretrained(out, use_fast=False)
    pixels = processor(images=[im for _, im in images], return_tensors="pt", input_data_format="channels_last")["pixel_values"]
    other = torch.randn(2, 3, *DINOV2_OTHER_SIZE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = model(pixel_values=pixels)
        want_other = model(pixel_values=other)
    size = "x".join(map(str, DINOV2_OTHER_SIZE))
    report = Report()
    for variant, suffix in variants.items():
        limit = tolerance if variant == "fp32" else variant_limit
        sess = session(graph(out / "onnx", "model", suffix))
        got = run(sess, {"pixel_values": pixels})
        report.add("model.last_hidden_state", variant, got[0], want.last_hidden_state, limit)
        report.add("model.pooler_output", variant, got[1], want.pooler_output, limit)
        got = run(sess, {"pixel_values": other})
        report.add(f"model.last_hidden_state ({size} input)", variant, got[0], want_other.last_hidden_state, limit)
        report.add(f"model.pooler_output ({size} input)", variant, got[1], want_other.pooler_output, limit)
    return report


# --- Florence-2 ------------------------------------------------------------------------------

def kv_names(prefix: str, layers: int) -> list[str]:
    return [f"{prefix}.{i}.{part}.{kv}" for i in range(layers) for part in ("decoder", "encoder") for kv in ("key", "value")]


class Florence2Parts:
    def __init__(self, onnx_dir: Path, suffix: str, text_config):
        self.vision = session(graph(onnx_dir, "vision_encoder", suffix))
        self.embed = session(graph(onnx_dir, "embed_tokens", suffix))
        self.encoder = session(graph(onnx_dir, "encoder_model", suffix))
        self.decoder = session(graph(onnx_dir, "decoder_model_merged", suffix))
        self.layers = text_config.decoder_layers
        self.heads = text_config.decoder_attention_heads
        self.head_dim = text_config.d_model // self.heads

    def empty_past(self, batch: int) -> dict:
        return {n: np.zeros((batch, self.heads, 0, self.head_dim), np.float32) for n in kv_names("past_key_values", self.layers)}

    def greedy(self, pixel_values, prompt: list[int], max_new_tokens: int, generation) -> list[int]:
        """Greedy decoding through the four parts, as emb runs them (forced BOS/EOS as generate() applies them)."""
        features = run(self.vision, {"pixel_values": pixel_values})[0]
        text = run(self.embed, {"input_ids": np.array([prompt], dtype=np.int64)})[0]
        inputs_embeds = np.concatenate([features, text], axis=1)
        mask = np.ones(inputs_embeds.shape[:2], dtype=np.int64)
        hidden = run(self.encoder, {"inputs_embeds": inputs_embeds, "attention_mask": mask})[0]
        names = kv_names("past_key_values", self.layers)
        past = self.empty_past(1)
        tokens = [generation.decoder_start_token_id]
        for step in range(max_new_tokens):
            step_embeds = run(self.embed, {"input_ids": np.array([[tokens[-1]]], dtype=np.int64)})[0]
            outputs = run(self.decoder, {"inputs_embeds": step_embeds, "encoder_hidden_states": hidden,
                                         "encoder_attention_mask": mask, "use_cache_branch": np.array([step > 0]), **past})
            if step == 0 and generation.forced_bos_token_id is not None:
                token = generation.forced_bos_token_id
            elif step == max_new_tokens - 1 and generation.forced_eos_token_id is not None:
                token = generation.forced_eos_token_id
            else:
                token = int(np.argmax(outputs[0][0, -1]))
            tokens.append(token)
            # The cross-attention cache stays as the first step made it.
            new_past = dict(zip(names, outputs[1:]))
            past = new_past if step == 0 else {n: (past[n] if ".encoder." in n else new_past[n]) for n in names}
            if token == generation.eos_token_id:
                break
        return tokens


def compare_tokens(ort_tokens: list[int], torch_tokens: list[int], torch_logits) -> tuple[bool, str]:
    """Equal, or parted only where PyTorch's two candidates were tied within TIE_MARGIN."""
    if ort_tokens == torch_tokens:
        return True, f"{len(torch_tokens) - 1} tokens equal"
    for i, (a, b) in enumerate(zip(ort_tokens, torch_tokens)):
        if a != b:
            step = i - 1  # tokens[0] is the decoder start token
            if 0 <= step < len(torch_logits):
                logits = torch_logits[step][0]
                margin = float(logits[b] - logits[a])
                # PyTorch chose b by argmax, so margin >= 0; a negative one means it did not decode greedily.
                tie = 0 <= margin <= TIE_MARGIN
                return tie, f"part at token {step + 1} ({a} vs PyTorch {b}, PyTorch logit margin {margin:.2g}{', a tie' if tie else ''})"
            return False, f"part at token {i}"
    return False, f"lengths differ ({len(ort_tokens) - 1} vs PyTorch {len(torch_tokens) - 1})"


def check_florence2(model, out: Path, images, variants: dict[str, str], tolerance: float, variant_limit: float | None,
                    max_new_tokens: int) -> Report:
    from transformers import AutoImageProcessor, BartTokenizerFast, GenerationConfig
    from transformers.modeling_outputs import BaseModelOutput

    processor = AutoImageProcessor.from_pretrained(out, use_fast=False)
    tokenizer = BartTokenizerFast.from_pretrained(out)
    generation = GenerationConfig.from_pretrained(out)
    text_config = model.config.text_config
    pixels = processor(images=[im for _, im in images], return_tensors="pt", input_data_format="channels_last")["pixel_values"]
    prompts = {task: tokenizer(prompt)["input_ids"] for task, prompt in FLORENCE2_TASKS.items()}
    embed = model.get_input_embeddings()
    greedy_config = GenerationConfig(**{**generation.to_dict(), "num_beams": 1, "do_sample": False, "no_repeat_ngram_size": 0})
    # generate() fills settings left at their global defaults (num_beams 1, no_repeat_ngram_size 0)
    # from the model's own generation config (the checkpoint's beam search): make that greedy too.
    model.generation_config = greedy_config

    with torch.no_grad():
        features = model.get_image_features(pixels)
        cases = []  # (image index, task, ids, inputs_embeds, mask, hidden, start embeds, first logits, greedy, raw logits)
        for i in range(len(images)):
            for task, ids in prompts.items():
                ids_t = torch.tensor([ids])
                inputs_embeds = torch.cat([features[i:i + 1], embed(ids_t)], dim=1)
                mask = torch.ones(inputs_embeds.shape[:2], dtype=torch.long)
                hidden = model.get_encoder()(inputs_embeds=inputs_embeds, attention_mask=mask).last_hidden_state
                start = embed(torch.tensor([[generation.decoder_start_token_id]]))
                logits = model.lm_head(model.get_decoder()(inputs_embeds=start, encoder_hidden_states=hidden,
                                                          encoder_attention_mask=mask).last_hidden_state)
                generated = model.generate(encoder_outputs=BaseModelOutput(last_hidden_state=hidden), attention_mask=mask,
                                           generation_config=greedy_config, max_new_tokens=max_new_tokens,
                                           output_logits=True, return_dict_in_generate=True)
                cases.append((i, task, ids, inputs_embeds, mask, hidden, start, logits,
                              generated.sequences[0].tolist(), generated.logits))

    report = Report()
    for variant, suffix in variants.items():
        limit = tolerance if variant == "fp32" else variant_limit
        parts = Florence2Parts(out / "onnx", suffix, text_config)
        report.add("vision_encoder.image_features", variant, run(parts.vision, {"pixel_values": pixels})[0], features, limit)
        all_ids = sorted({t for ids in prompts.values() for t in ids})
        report.add("embed_tokens.inputs_embeds", variant, run(parts.embed, {"input_ids": np.array([all_ids])})[0],
                   embed(torch.tensor([all_ids])), limit)
        worst_hidden, worst_logits = None, None
        for (i, task, ids, inputs_embeds, mask, hidden, start, logits, torch_tokens, torch_logits) in cases:
            got_hidden = run(parts.encoder, {"inputs_embeds": inputs_embeds, "attention_mask": mask})[0]
            got_logits = run(parts.decoder, {"inputs_embeds": start, "encoder_hidden_states": hidden,
                                             "encoder_attention_mask": mask, "use_cache_branch": np.array([False]),
                                             **parts.empty_past(1)})[0]
            sub = Report()
            sub.add("", variant, got_hidden, hidden, limit)
            sub.add("", variant, got_logits, logits, limit)
            worst_hidden = max(worst_hidden or sub.rows[0], sub.rows[0], key=lambda r: (not math.isfinite(r.diff), r.diff))
            worst_logits = max(worst_logits or sub.rows[1], sub.rows[1], key=lambda r: (not math.isfinite(r.diff), r.diff))
            ort_tokens = parts.greedy(pixels[i:i + 1].numpy(), ids, max_new_tokens, generation)
            equal, detail = compare_tokens(ort_tokens, torch_tokens, torch_logits)
            report.rows.append(TokenRow(f"greedy {task} {images[i][0]}", variant, equal, detail, gated=variant == "fp32"))
        worst_hidden.name = "encoder_model.last_hidden_state"
        worst_logits.name = "decoder_model_merged.logits (first step)"
        report.rows.extend([worst_hidden, worst_logits])
    # Token rows after the numeric rows of each variant.
    report.rows.sort(key=lambda r: (list(variants).index(r.variant), isinstance(r, TokenRow)))
    return report
