"""ONNX export of SigLIP 2 NaFlex (transformers' Siglip2Model / Siglip2VisionModel, model_type "siglip2").

The vision graph (`vision_model.onnx`, opset 17, TorchScript exporter, eager attention) takes

  pixel_values          float32 [batch, num_patches, 3 * patch * patch]  the patchified image, as
                        Siglip2ImageProcessor returns it (patch rows in row-major grid order, each
                        patch flattened (patch_y, patch_x, channel)), padded after the image's
                        h * w patches
  pixel_attention_mask  int64   [batch, num_patches]  1 for the image's h * w patches, 0 for padding
  spatial_shapes        int64   [batch, 2]            the image's patch grid (height h, width w)

batch and num_patches are dynamic: num_patches may be the processor's max_num_patches, or only the
batch's largest h * w (the padding after an image's patches changes none of its outputs), and the
images of one batch may have different grids. It returns what Siglip2VisionModel returns:

  last_hidden_state     float32 [batch, num_patches, hidden]  (rows past h * w are padding)
  pooler_output         float32 [batch, hidden]  the attention-pooling head over the image's
                        patches alone; Siglip2Model.get_image_features (not normalised)

The text graph (`text_model.onnx`) takes input_ids int64 [batch, 64] and returns last_hidden_state
float32 [batch, 64, hidden] and pooler_output float32 [batch, hidden] (get_text_features).

How the position embeddings are resized. Siglip2VisionEmbeddings.resize_positional_embeddings loops
over the images in Python and calls F.interpolate(bilinear, antialias=True) on the learnt S x S
position grid to each image's (h, w): sizes that depend on the data, which the TorchScript exporter
cannot trace. BatchedPositionResize computes the same for the whole batch with traceable tensor
ops. Antialiased bilinear interpolation is separable and linear: for one axis with input size S
and output size n, torch (_upsample_bilinear2d_aa) uses scale = S / n, support = max(scale, 1),
and output index i reads input index j with the triangle filter
    weight(i, j) = max(0, 1 - |(j - scale * (i + 0.5) + 0.5) * invscale|),  invscale = 1 / max(scale, 1),
each row divided by its sum over the S input taps. The resized grid is Wh . P . Ww^T. The graph
needs one output row per patch: patch p < h * w of an image sits at grid row r = p // w and column
c = p % w, so per patch it builds the S weights of row r (from h) and the S weights of column c
(from w), their outer product (S * S weights) and multiplies it with the position table (S * S,
hidden). Patches past h * w get the embedding of grid cell (0, 0), as transformers pads them.
One quirk is kept on purpose: torch's CPU kernel, asked for an output one column wide (w = 1) with
a height other than S, writes its first output row into every row, so every patch of such an image
gets the embedding of grid row 0 (rows resized to h = S are left alone, and w = 1, h = 1 is row 0
anyway). That is what transformers computes on CPU, where the references run, so the graph does
the same. resize_matches_transformers checks the module against transformers' loop (max abs diff
<= 1e-6; siglip2_naflex_tiny.py sweeps 1,758 grids from 1 x 1 to 1 x 1024 and 1024 x 1).

The pooling head's nn.MultiheadAttention is written out (NaflexPoolingHead: the same weights and
order of operations, padding masked with the dtype's lowest value as transformers does): traced,
nn.MultiheadAttention keeps the sample's number of patches as a constant in its reshapes. The rest
of the tower (patch embedding, encoder with eager attention and the 4-D padding mask, post
layernorm) is transformers' own code. export_naflex swaps both modules into a copy of the vision
transformer (the caller's model is left as it is; the copy runs eager attention) and exports it;
check_naflex runs the graph against PyTorch on single images, batches of different grids, and less
padding. The padding after an image's patches is masked out of every attention, so its real
patches and pooler_output do not depend on how much padding follows (checked: within 2e-6 of the
image run alone at its own h * w).

Used by tools/reference/siglip2_naflex_tiny.py (the tiny fixture); the checkpoint exporter
(tools/export/export.py) can call export_naflex and check_naflex the same way.
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from onnx_graphs import export  # noqa: E402

VISION_INPUTS = ("pixel_values", "pixel_attention_mask", "spatial_shapes")
VISION_OUTPUTS = ("last_hidden_state", "pooler_output")
TEXT_INPUTS = ("input_ids",)
TEXT_OUTPUTS = ("last_hidden_state", "pooler_output")


def axis_weights(index: torch.Tensor, size: torch.Tensor, grid: int) -> torch.Tensor:
    """Antialiased bilinear weights of output positions `index` (int64, any shape) when an axis of
    `grid` cells is resized to `size` cells (int64, broadcast with index): [..., grid], each row
    summing to 1, as torch's _upsample_bilinear2d_aa weighs its input taps."""
    scale = torch.full_like(size, grid, dtype=torch.float32) / size.to(torch.float32)
    one = torch.ones_like(scale)
    wide = scale >= 1.0
    invscale = torch.where(wide, one / scale, one)
    center = scale * (index.to(torch.float32) + 0.5)
    taps = torch.arange(grid, dtype=torch.float32)
    x = (taps - center.unsqueeze(-1) + 0.5) * invscale.unsqueeze(-1)
    weights = torch.clamp(1.0 - torch.abs(x), min=0.0)
    total = weights.sum(dim=-1, keepdim=True)
    total = torch.where(total == 0.0, torch.ones_like(total), total)
    return weights / total


class BatchedPositionResize(nn.Module):
    """resize_positional_embeddings for a whole batch with traceable ops: position table
    (grid * grid, hidden) -> [batch, num_patches, hidden] for each image's (h, w)."""

    def __init__(self, grid: int):
        super().__init__()
        self.grid = grid

    def forward(self, table: torch.Tensor, spatial_shapes: torch.Tensor, num_patches: torch.Tensor) -> torch.Tensor:
        height = spatial_shapes[:, 0:1]  # [batch, 1]
        width = spatial_shapes[:, 1:2]
        patch = torch.arange(num_patches, dtype=torch.int64).unsqueeze(0)  # [1, num_patches]
        inside = patch < height * width
        safe_width = torch.clamp(width, min=1)
        zero = torch.zeros_like(patch)
        row = torch.where(inside, torch.div(patch, safe_width, rounding_mode="floor"), zero)
        # torch's CPU kernel, when the output is one column wide and the height changes, writes the
        # first output row into every row: transformers' result on CPU, so the graph follows it.
        row = torch.where((width == 1) & (height != self.grid), zero, row)
        col = torch.where(inside, torch.remainder(patch, safe_width), zero)
        row_weights = axis_weights(row, height, self.grid)  # [batch, num_patches, grid]
        col_weights = axis_weights(col, width, self.grid)
        weights = (row_weights.unsqueeze(-1) * col_weights.unsqueeze(-2)).flatten(2)  # [batch, num_patches, grid*grid]
        return torch.matmul(weights, table.to(torch.float32)).to(table.dtype)


class NaflexEmbeddings(nn.Module):
    """Siglip2VisionEmbeddings with the position resize of BatchedPositionResize (same weights)."""

    def __init__(self, embeddings: nn.Module):
        super().__init__()
        self.patch_embedding = embeddings.patch_embedding
        self.position_embedding = embeddings.position_embedding
        self.resize = BatchedPositionResize(embeddings.position_embedding_size)

    def forward(self, pixel_values: torch.Tensor, spatial_shapes: torch.Tensor) -> torch.Tensor:
        patch_embeds = self.patch_embedding(pixel_values.to(dtype=self.patch_embedding.weight.dtype))
        positions = self.resize(self.position_embedding.weight, spatial_shapes, pixel_values.shape[1])
        return patch_embeds + positions


class NaflexPoolingHead(nn.Module):
    """Siglip2MultiheadAttentionPoolingHead with its nn.MultiheadAttention written out (same weights,
    same order of operations): traced, nn.MultiheadAttention keeps the sample's number of patches
    as a constant in its reshapes."""

    def __init__(self, head: nn.Module):
        super().__init__()
        self.probe = head.probe
        self.attention = head.attention
        self.layernorm = head.layernorm
        self.mlp = head.mlp
        self.num_heads = head.num_heads

    def forward(self, hidden_state: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        attention = self.attention
        batch = hidden_state.shape[0]
        dim = hidden_state.shape[2]
        head_dim = attention.head_dim
        w_q, w_k, w_v = attention.in_proj_weight.chunk(3)
        b_q, b_k, b_v = attention.in_proj_bias.chunk(3)
        probe = self.probe.expand(batch, -1, -1)
        q = nn.functional.linear(probe, w_q, b_q)  # [batch, 1, dim]
        k = nn.functional.linear(hidden_state, w_k, b_k)  # [batch, patches, dim]
        v = nn.functional.linear(hidden_state, w_v, b_v)
        q = q.reshape(batch, 1, self.num_heads, head_dim).transpose(1, 2)  # [batch, heads, 1, head_dim]
        k = k.reshape(batch, -1, self.num_heads, head_dim).transpose(1, 2)
        v = v.reshape(batch, -1, self.num_heads, head_dim).transpose(1, 2)
        q = q * (1.0 / float(head_dim)) ** 0.5
        scores = torch.matmul(q, k.transpose(-2, -1))  # [batch, heads, 1, patches]
        if attention_mask is not None:
            blocked = (attention_mask[:, None, None, :] == 0)
            scores = scores + blocked.to(scores.dtype) * torch.finfo(scores.dtype).min
        weights = torch.softmax(scores, dim=-1)
        out = torch.matmul(weights, v).transpose(1, 2).reshape(batch, 1, dim)
        hidden = attention.out_proj(out)
        residual = hidden
        hidden = self.layernorm(hidden)
        hidden = residual + self.mlp(hidden)
        return hidden[:, 0]


def vision_transformer(model: nn.Module) -> nn.Module:
    """The Siglip2VisionTransformer of a Siglip2Model, Siglip2VisionModel or the transformer itself."""
    inner = getattr(model, "vision_model", model)
    return getattr(inner, "vision_model", inner)


class NaflexVisionTower(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.vision = copy.deepcopy(vision_transformer(model))
        self.vision.config._attn_implementation = "eager"
        self.vision.embeddings = NaflexEmbeddings(self.vision.embeddings)
        if getattr(self.vision, "use_head", False):
            self.vision.head = NaflexPoolingHead(self.vision.head)

    def forward(self, pixel_values, pixel_attention_mask, spatial_shapes):
        out = self.vision(pixel_values=pixel_values, attention_mask=pixel_attention_mask, spatial_shapes=spatial_shapes)
        return out.last_hidden_state, out.pooler_output


class TextTower(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.text = model.text_model

    def forward(self, input_ids):
        out = self.text(input_ids=input_ids)
        return out.last_hidden_state, out.pooler_output


def resize_matches_transformers(model: nn.Module, shapes, num_patches: int | None = None) -> float:
    """Max abs diff between BatchedPositionResize and transformers' resize_positional_embeddings
    for every (h, w) in `shapes` (one batch; padded to num_patches, default the largest h * w)."""
    embeddings = vision_transformer(model).embeddings
    grid = embeddings.position_embedding_size
    spatial = torch.tensor([list(s) for s in shapes], dtype=torch.int64)
    length = num_patches or int((spatial[:, 0] * spatial[:, 1]).max())
    with torch.no_grad():
        table = embeddings.position_embedding.weight
        expected = embeddings.resize_positional_embeddings(table.reshape(grid, grid, -1), spatial, max_length=length)
        got = BatchedPositionResize(grid)(table, spatial, length)
    return float((expected.double() - got.double()).abs().max())


def export_naflex(model: nn.Module, path: Path, sample: dict, external_data: bool = False) -> None:
    """Exports the NaFlex vision tower of `model` (attn_implementation "eager") to `path`; `sample`
    holds pixel_values, pixel_attention_mask and spatial_shapes (two images or more)."""
    tower = NaflexVisionTower(model).eval()
    args = tuple(sample[name] for name in VISION_INPUTS)
    axes = {
        "pixel_values": {0: "batch_size", 1: "num_patches"},
        "pixel_attention_mask": {0: "batch_size", 1: "num_patches"},
        "spatial_shapes": {0: "batch_size"},
        "last_hidden_state": {0: "batch_size", 1: "num_patches"},
        "pooler_output": {0: "batch_size"},
    }
    export(tower, args, path, VISION_INPUTS, VISION_OUTPUTS, axes, external_data)


def export_text(model: nn.Module, path: Path, sample_ids: torch.Tensor, external_data: bool = False) -> None:
    axes = {"input_ids": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"}, "pooler_output": {0: "batch_size"}}
    export(TextTower(model).eval(), (sample_ids,), path, TEXT_INPUTS, TEXT_OUTPUTS, axes, external_data)


def collate(items: list[dict], num_patches: int | None = None) -> dict:
    """One batch of processor outputs (each one image: pixel_values [1, P, C], pixel_attention_mask
    [1, P], spatial_shapes [1, 2]), cut or padded to num_patches (default: the largest h * w)."""
    shapes = torch.cat([torch.as_tensor(i["spatial_shapes"]) for i in items]).to(torch.int64)
    length = num_patches or int((shapes[:, 0] * shapes[:, 1]).max())
    width = torch.as_tensor(items[0]["pixel_values"]).shape[-1]
    pixels = torch.zeros(len(items), length, width, dtype=torch.float32)
    mask = torch.zeros(len(items), length, dtype=torch.int64)
    for k, item in enumerate(items):
        h, w = (int(v) for v in shapes[k])
        pixels[k, : h * w] = torch.as_tensor(item["pixel_values"])[0, : h * w]
        mask[k, : h * w] = 1
    return {"pixel_values": pixels, "pixel_attention_mask": mask, "spatial_shapes": shapes}


def run_vision(session, batch: dict) -> list[np.ndarray]:
    return session.run(None, {name: batch[name].numpy() for name in VISION_INPUTS})


def check_naflex(model: nn.Module, session, batches: dict[str, dict], tolerance: float = 1e-4,
                 reference: dict | None = None) -> dict:
    """ONNX (onnxruntime `session`) against transformers' own vision tower on each named batch:
    last_hidden_state over the images' real patches, and pooler_output; also, per batch, the ONNX
    outputs against the PyTorch outputs of each image run alone at its own h * w (so padding of
    any length must leave them alone). Returns {name: max abs diff}; raises when one exceeds
    `tolerance`."""
    vision = vision_transformer(model)
    checks = {}
    alone = {}
    for name, batch in batches.items():
        shapes = batch["spatial_shapes"]
        with torch.no_grad():
            torch_out = vision(pixel_values=batch["pixel_values"], attention_mask=batch["pixel_attention_mask"],
                               spatial_shapes=shapes)
        hidden, pooled = run_vision(session, batch)
        diff_hidden, diff_alone_hidden, diff_alone_pooled = 0.0, 0.0, 0.0
        for k in range(shapes.shape[0]):
            real = int(shapes[k, 0] * shapes[k, 1])
            diff_hidden = max(diff_hidden, float(np.abs(hidden[k, :real] - torch_out.last_hidden_state[k, :real].numpy()).max()))
            key = (batch["pixel_values"][k, :real].numpy().tobytes(), tuple(int(v) for v in shapes[k]))
            if key not in alone:
                single = {"pixel_values": batch["pixel_values"][k:k + 1, :real],
                          "pixel_attention_mask": batch["pixel_attention_mask"][k:k + 1, :real],
                          "spatial_shapes": shapes[k:k + 1]}
                with torch.no_grad():
                    out = vision(pixel_values=single["pixel_values"], attention_mask=single["pixel_attention_mask"],
                                 spatial_shapes=single["spatial_shapes"])
                alone[key] = (out.last_hidden_state[0].numpy(), out.pooler_output[0].numpy())
            diff_alone_hidden = max(diff_alone_hidden, float(np.abs(hidden[k, :real] - alone[key][0]).max()))
            diff_alone_pooled = max(diff_alone_pooled, float(np.abs(pooled[k] - alone[key][1]).max()))
        checks[f"{name}: last_hidden_state (real patches)"] = diff_hidden
        checks[f"{name}: pooler_output"] = float(np.abs(pooled - torch_out.pooler_output.numpy()).max())
        checks[f"{name}: last_hidden_state vs each image alone unpadded"] = diff_alone_hidden
        checks[f"{name}: pooler_output vs each image alone unpadded"] = diff_alone_pooled
    for name, diff in checks.items():
        print(f"  {name}: max abs diff {diff:.3g}")
        if not diff < tolerance:
            raise SystemExit(f"NaFlex ONNX export differs from PyTorch: {name} max abs diff {diff}")
    return checks
