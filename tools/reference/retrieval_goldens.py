"""Retrieval goldens: image<->text recall@k exactly as CLIP_benchmark computes it.

The metrics come from CLIP_benchmark's own code (pip package clip_benchmark, pinned in
requirements.txt; installed with --no-deps plus torchvision for its dataset module):
clip_benchmark.metrics.zeroshot_retrieval.evaluate(model, dataloader, tokenizer, device="cpu",
amp=False, recall_k_list=[1, 5, 10]), fed by
- a torch DataLoader (shuffle=False) over a dataset whose items are (image, [captions of that
  image]) and CLIP_benchmark's image_captions_collate_fn, as its cli.py builds it for the
  retrieval datasets (mscoco_captions, flickr30k, ...): each batch is (stacked images, tuple of
  caption lists);
- a fake model whose encode_image / encode_text return the stored (un-normalised) vectors of the
  batch's rows (the "image" tensor of an item is its row index; the tokenizer turns each caption
  string into its text row index).

What evaluate() does with them (1.6.2): F.normalize both sides per batch; texts are flattened in
dataloader order (image 0's captions, then image 1's, ...), texts_image_index records each text's
image; scores = texts @ images.T; positive_pairs[text, texts_image_index[text]] = True (one
positive image per text, n_captions positive texts per image); recall_at_k takes torch.topk(scores,
k, dim=1) per chunk of `batch_size` rows (batch_size = the number of images in the FIRST batch),
counts positives among the top k, and a query scores 1 when that count is > 0; the metric is the
float32 mean over queries, returned as a Python float.
- image_retrieval_recall@k: queries are texts, candidates images (rows of scores);
- text_retrieval_recall@k: queries are images, candidates texts (rows of scores.T).
k larger than the candidate count is not clamped: torch.topk raises
"selected index k out of range" (the "small" case records the messages).

Ties: torch.topk's CPU kernel has no index tie-break (it compares scores only, with
std::partial_sort when k * 64 <= n, else std::nth_element + std::sort of the first k), so the order
among equal scores, and which tied candidates make the cut at the k-th place, is an implementation
detail. The "ties" case records, per query and k, the indices torch.topk returned, compares them to
"lower index first", and records whether any metric would change under another tie order.
Finding with torch 2.8.0 on CPU: torch.topk does NOT return the lower index first among equal
scores. Only k=1 on the partial_sort path (n >= 64) and tiny rows (n=3) gave the lowest index; e.g.
an all-equal row of 30 gives [21] for k=1 and [19, 22, 21, 20, 17] for k=5, a row of 1000 gives
[3, 4, 1, 0, 2] for k=5. On the ties case the chosen SET differs from lower-index-first for most
queries and 4 of its 6 metrics would change under lower-index-first (5 of 6 under
higher-index-first), so its metrics are torch-order-specific: a port that breaks ties another way
should test it against "metrics_tie_bounds" (every case records [pessimistic, optimistic] recall
over all tie orders; the other cases are tie-free, bounds equal to the metric). Details in
ties.json ("tie_investigation", "tie_finding", "description"); tie_probe() is the equal-row probe.

Writes test/fixtures/goldens/retrieval/<case>.{images.npy,texts.npy,json} and the dataset format
fixtures under test/fixtures/retrieval/ (Karpathy's dataset_coco.json / dataset_flickr30k.json and
CLIP_benchmark's own coco_test_karpathy.json / flickr30k_test_karpathy.txt formats, checked by
loading them with torchvision's CocoCaptions and CLIP_benchmark's Flickr class).

Run with PYTHONHASHSEED=0; deterministic (seeded numpy Generator, single-threaded torch); no
absolute paths in the outputs.
"""
from __future__ import annotations

import json
import re
from importlib.metadata import version

import numpy as np
import torch
import torch.nn.functional as F
from clip_benchmark.datasets.builder import image_captions_collate_fn
from clip_benchmark.datasets.flickr import Flickr
from clip_benchmark.metrics import zeroshot_retrieval
from torchvision.datasets import CocoCaptions

from common import FIXTURES, IMAGES_DIR, SEED, save_npy, seed_everything, write_json

OUT_DIR = FIXTURES / "goldens" / "retrieval"
FORMATS_DIR = FIXTURES / "retrieval"
GENERATOR = "tools/reference/retrieval_goldens.py"


# ---------------------------------------------------------------------------------------------
# Running CLIP_benchmark's evaluate() on stored vectors
# ---------------------------------------------------------------------------------------------


class StoredVectors(torch.utils.data.Dataset):
    """(image, captions) items the way CLIP_benchmark's retrieval datasets yield them; the image
    is its row index, each caption a string naming its text row."""

    def __init__(self, counts: list[int]):
        self.items = []
        row = 0
        for i, n in enumerate(counts):
            self.items.append((torch.tensor(i), [f"text {row + j} (caption {j} of image {i})" for j in range(n)]))
            row += n

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


class FakeModel:
    def __init__(self, images: np.ndarray, texts: np.ndarray):
        self.images = torch.from_numpy(images)
        self.texts = torch.from_numpy(texts)
        self.image_calls: list[list[int]] = []

    def encode_image(self, batch: torch.Tensor) -> torch.Tensor:
        self.image_calls.append(batch.tolist())
        return self.images[batch]

    def encode_text(self, ids: torch.Tensor) -> torch.Tensor:
        return self.texts[ids]


class FakeTokenizer:
    def __call__(self, captions: list[str]) -> torch.Tensor:
        return torch.tensor([int(re.match(r"text (\d+) ", c).group(1)) for c in captions], dtype=torch.int64)


def run_evaluate(images: np.ndarray, texts: np.ndarray, counts: list[int], batch_size: int, recall_k: list[int],
                 record_topk: bool = False):
    """CLIP_benchmark's evaluate() on the stored vectors. Returns (metrics, calls, first batch's
    image count); with record_topk, calls holds what each recall_at_k call saw: (k, chunk scores,
    torch.topk indices)."""
    assert sum(counts) == len(texts) and len(counts) == len(images)
    model = FakeModel(images, texts)
    loader = torch.utils.data.DataLoader(StoredVectors(counts), batch_size=batch_size, shuffle=False, num_workers=0,
                                         collate_fn=image_captions_collate_fn)
    calls = []
    original = zeroshot_retrieval.recall_at_k

    def recording(scores, positive_pairs, k):
        # batchify() calls this per chunk of rows: for each k, the text-query chunks (image
        # retrieval) and then the image-query chunks (text retrieval); split_calls() regroups them.
        calls.append((k, scores.clone(), torch.topk(scores, k, dim=1)[1].clone()))
        return original(scores, positive_pairs, k)

    if record_topk:
        zeroshot_retrieval.recall_at_k = recording
    try:
        metrics = zeroshot_retrieval.evaluate(model, loader, FakeTokenizer(), device="cpu", amp=False,
                                              recall_k_list=recall_k)
    finally:
        zeroshot_retrieval.recall_at_k = original
    assert [i for call in model.image_calls for i in call] == list(range(len(images)))
    return metrics, calls, len(model.image_calls[0])


def text_image_index(counts: list[int]) -> list[int]:
    return [i for i, n in enumerate(counts) for _ in range(n)]


def split_calls(calls, n_images: int, n_texts: int, batch_size: int):
    """Splits recall_at_k's recorded chunks into {k: {"image_retrieval": (scores, topk), "text_retrieval": ...}}.
    evaluate() calls, per k: batchify over scores (text rows, n_texts/batch_size chunks), then
    over scores.T (image rows)."""
    out: dict[int, dict[str, tuple[torch.Tensor, torch.Tensor]]] = {}
    i = 0
    while i < len(calls):
        k = calls[i][0]
        parts = {}
        for direction, rows in (("image_retrieval", n_texts), ("text_retrieval", n_images)):
            chunks = -(-rows // batch_size)
            got = calls[i:i + chunks]
            assert all(c[0] == k for c in got)
            parts[direction] = (torch.cat([c[1] for c in got]), torch.cat([c[2] for c in got]))
            assert parts[direction][0].shape[0] == rows
            i += chunks
        out[k] = parts
    return out


# ---------------------------------------------------------------------------------------------
# Tie investigation
# ---------------------------------------------------------------------------------------------


def lower_index_first(scores: torch.Tensor, k: int) -> np.ndarray:
    """Top-k per row with ties broken towards the lower index (a stable descending sort)."""
    s = scores.numpy()
    return np.stack([np.lexsort((np.arange(s.shape[1]), -s[r]))[:k] for r in range(s.shape[0])])


def higher_index_first(scores: torch.Tensor, k: int) -> np.ndarray:
    s = scores.numpy()
    n = s.shape[1]
    return np.stack([np.lexsort((-np.arange(n), -s[r]))[:k] for r in range(s.shape[0])])


def recall_from_topk(topk: np.ndarray, positives: np.ndarray) -> float:
    hit = np.array([positives[r, topk[r]].any() for r in range(topk.shape[0])], dtype=np.float32)
    return float(torch.from_numpy(hit).mean().item())


def tie_bounds(scores: torch.Tensor, positives: np.ndarray, k: int) -> tuple[float, float]:
    """(pessimistic, optimistic) recall@k over every possible order among tied scores: a positive
    can rank anywhere from 1 + #(higher scores) to #(scores >= its own)."""
    s = scores.numpy()
    best = np.zeros(len(s), dtype=np.float32)
    worst = np.zeros(len(s), dtype=np.float32)
    for r in range(len(s)):
        ps = s[r, positives[r]]
        best[r] = any((s[r] > v).sum() + 1 <= k for v in ps)
        worst[r] = any((s[r] >= v).sum() <= k for v in ps)
    return float(torch.from_numpy(worst).mean().item()), float(torch.from_numpy(best).mean().item())


def all_bounds(calls, text_image: list[int], n_images: int, n_texts: int, batch_size: int, metrics: dict) -> dict:
    positives = np.zeros((n_texts, n_images), dtype=bool)
    positives[np.arange(n_texts), text_image] = True
    out = {}
    for k, parts in split_calls(calls, n_images, n_texts, batch_size).items():
        for direction, (scores, _) in parts.items():
            key = f"{direction}_recall@{k}"
            low, high = tie_bounds(scores, positives if direction == "image_retrieval" else positives.T, k)
            assert low <= metrics[key] <= high, (key, low, metrics[key], high)
            out[key] = [low, high]
    return out


def tie_probe() -> list[dict]:
    """torch.topk on rows of all-equal scores (and rows of two values, each repeated) for a few
    sizes: does it return the lowest indices, in increasing order?"""
    rows = []
    for n in (3, 5, 8, 16, 17, 30, 64, 150, 640, 1000, 5000, 25000):
        for k in (1, 5, 10):
            if k > n:
                continue
            equal = torch.zeros(1, n, dtype=torch.float32)
            got = torch.topk(equal, k, dim=1)[1][0].tolist()
            two = torch.tensor([[float(j % 2) for j in range(n)]], dtype=torch.float32)
            got_two = torch.topk(two, k, dim=1)[1][0].tolist()
            want_two = [j for j in range(n) if j % 2 == 1][:k]
            rows.append({"n": n, "k": k, "path": "partial_sort" if k * 64 <= n else "nth_element+sort",
                         "all_equal_topk": got, "all_equal_lowest_first": got == list(range(k)),
                         "two_values_topk": got_two, "two_values_lowest_first": got_two == want_two})
    return rows


def investigate_ties(calls, text_image: list[int], n_images: int, n_texts: int, batch_size: int, recall_k: list[int],
                     metrics: dict) -> dict:
    per_k = split_calls(calls, n_images, n_texts, batch_size)
    positives = np.zeros((n_texts, n_images), dtype=bool)
    positives[np.arange(n_texts), text_image] = True
    report = {}
    for k in recall_k:
        for direction in ("image_retrieval", "text_retrieval"):
            scores, topk = per_k[k][direction]
            pos = positives if direction == "image_retrieval" else positives.T
            torch_topk = topk.numpy()
            low = lower_index_first(scores, k)
            high = higher_index_first(scores, k)
            s = scores.numpy()
            kth = np.sort(s, axis=1)[:, ::-1][:, k - 1]
            # rows where the k-th score is shared with a candidate outside the top k
            straddle = int(sum(((s[r] == kth[r]).sum() > (np.sort(s[r])[::-1][:k] == kth[r]).sum()) for r in range(len(s))))
            rows_with_ties_in_topk = int(sum(len(set(s[r, torch_topk[r]].tolist())) < k for r in range(len(s))))
            same_set_low = int(sum(set(torch_topk[r]) == set(low[r]) for r in range(len(s))))
            same_order_low = int(sum(list(torch_topk[r]) == list(low[r]) for r in range(len(s))))
            same_order_high = int(sum(list(torch_topk[r]) == list(high[r]) for r in range(len(s))))
            key = f"{direction}_recall@{k}"
            assert recall_from_topk(torch_topk, pos) == metrics[key]
            report[key] = {
                "queries": len(s),
                "candidates": s.shape[1],
                "torch_path": "partial_sort" if k * 64 <= s.shape[1] else "nth_element+sort",
                "queries_with_tied_scores_inside_topk": rows_with_ties_in_topk,
                "queries_with_tie_straddling_kth_place": straddle,
                "queries_where_torch_set_equals_lower_index_first": same_set_low,
                "queries_where_torch_order_equals_lower_index_first": same_order_low,
                "queries_where_torch_order_equals_higher_index_first": same_order_high,
                "metric": metrics[key],
                "metric_if_lower_index_first": recall_from_topk(low, pos),
                "metric_if_higher_index_first": recall_from_topk(high, pos),
                "torch_topk": torch_topk.tolist(),
            }
    return report


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------


def write_case(name: str, images: np.ndarray, texts: np.ndarray, counts: list[int], batch_size: int,
               recall_k: list[int], description: str, extra: dict | None = None):
    images = np.ascontiguousarray(images, dtype=np.float32)
    texts = np.ascontiguousarray(texts, dtype=np.float32)
    metrics, calls, first_batch = run_evaluate(images, texts, counts, batch_size, recall_k, record_topk=True)
    assert first_batch == min(batch_size, len(images))
    bounds = all_bounds(calls, text_image_index(counts), len(images), len(texts), first_batch, metrics)
    tie_free = all(low == high for low, high in bounds.values())
    assert tie_free == (name != "ties"), (name, bounds)
    save_npy(OUT_DIR / f"{name}.images.npy", images)
    save_npy(OUT_DIR / f"{name}.texts.npy", texts)
    doc = {
        "generator": GENERATOR,
        "reference": f"clip_benchmark {version('clip_benchmark')}, clip_benchmark.metrics.zeroshot_retrieval.evaluate "
                     f"(device cpu, amp False), torch {torch.__version__.split('+')[0]}",
        "description": description,
        "images": len(images),
        "texts": len(texts),
        "dim": images.shape[1],
        "captions_per_image": counts,
        "batch_size": batch_size,
        "text_image": text_image_index(counts),
        "recall_k": recall_k,
        "metrics": metrics,
        # [pessimistic, optimistic] recall over every order among exactly tied scores; equal when no
        # tie reaches the k-th place, i.e. when the golden does not depend on torch.topk's tie order.
        "metrics_tie_bounds": bounds,
        "tie_free": tie_free,
    }
    if extra:
        doc.update(extra(calls, metrics) if callable(extra) else extra)
    write_json(OUT_DIR / f"{name}.json", doc)
    return doc


def make_texts(rng, images: np.ndarray, counts: list[int], noise: float, scale_range=(0.5, 3.0)) -> np.ndarray:
    rows = []
    for i, n in enumerate(counts):
        unit = images[i] / np.linalg.norm(images[i])
        for _ in range(n):
            t = unit + noise * rng.standard_normal(images.shape[1]) / np.sqrt(images.shape[1])
            rows.append(t * rng.uniform(*scale_range))
    return np.asarray(rows, dtype=np.float32)


def basic_case(rng) -> dict:
    counts = [5] * 40
    images = rng.standard_normal((40, 16)) * rng.uniform(0.5, 4.0, size=(40, 1))
    texts = make_texts(rng, images, counts, noise=1.6)
    return write_case(
        "basic", images, texts, counts, batch_size=16, recall_k=[1, 5, 10],
        description="40 images x 5 captions (200 texts), D=16, seeded random normal; image rows scaled by 0.5..4 and "
                    "text rows by 0.5..3 so nothing is unit length (evaluate() L2-normalises both sides itself). "
                    "Texts are their image's direction plus noise. DataLoader batch_size 16: three image batches "
                    "(16, 16, 8) and recall_at_k over chunks of 16 query rows.",
    )


TIE_DESCRIPTION = (
    "30 images x 5 captions (150 texts), D=4, every entry in {{-1, 0, 1}} (never the zero vector), so cosine "
    "scores take few values and tie exactly (duplicate image vectors give bit-identical score columns). "
    "Texts are their image's vector with one entry redrawn from {{-1, 0, 1}}. DataLoader batch_size 8. "
    "Finding (torch {torch}, CPU): {finding} "
    "The metrics here are what torch's order gives; tie_investigation records, per metric, torch's top-k indices "
    "per query and the metric under lower-index-first and higher-index-first tie orders."
)


def ties_case(rng) -> dict:
    n_images, per, dim = 30, 5, 4
    patterns = []
    while len(patterns) < 12:
        v = rng.integers(-1, 2, size=dim)
        if v.any() and not any((v == p).all() for p in patterns):
            patterns.append(v)
    images = np.stack([patterns[rng.integers(0, len(patterns))] for _ in range(n_images)]).astype(np.float32)
    counts = [per] * n_images
    texts = []
    for i in range(n_images):
        for _ in range(per):
            while True:
                t = images[i].copy()
                t[rng.integers(0, dim)] = rng.integers(-1, 2)
                if t.any():
                    break
            texts.append(t)
    texts = np.stack(texts).astype(np.float32)

    def extra(calls, metrics):
        report = investigate_ties(calls, text_image_index(counts), n_images, len(texts), 8, [1, 5, 10], metrics)
        probe = tie_probe()
        return {"tie_investigation": {"per_metric": report, "probe": probe}}

    doc = write_case("ties", images, texts, counts, batch_size=8, recall_k=[1, 5, 10], description="", extra=extra)
    # Summarise the finding into the description.
    per_metric = doc["tie_investigation"]["per_metric"]
    probe = doc["tie_investigation"]["probe"]
    set_differs = [k for k, m in per_metric.items() if m["queries_where_torch_set_equals_lower_index_first"] != m["queries"]]
    order_differs = [k for k, m in per_metric.items() if m["queries_where_torch_order_equals_lower_index_first"] != m["queries"]]
    metric_low = [k for k, m in per_metric.items() if m["metric"] != m["metric_if_lower_index_first"]]
    metric_high = [k for k, m in per_metric.items() if m["metric"] != m["metric_if_higher_index_first"]]
    probe_ok = [f"n={p['n']} k={p['k']}" for p in probe if p["all_equal_lowest_first"] and p["two_values_lowest_first"]]
    finding = (
        ("torch.topk does NOT return the lower index first among equal scores. " if order_differs else
         "torch.topk returned the lower index first among equal scores everywhere here. ")
        + "Its CPU kernel compares scores only (no index tie-break): std::partial_sort when k*64 <= n, else "
        "std::nth_element then std::sort of the first k, so the tied candidates that make the cut, and their order, "
        "follow libstdc++'s selection (deterministic for a given row, not index order). "
        f"Here torch's top-k SET differs from lower-index-first in {', '.join(set_differs) or 'no metric'}; "
        f"its order differs in {', '.join(order_differs) or 'no metric'}. "
        f"Metrics that would change under lower-index-first: {', '.join(metric_low) or 'none'}; "
        f"under higher-index-first: {', '.join(metric_high) or 'none'}. "
        "So this case's metrics are torch-order-specific; each lies within metrics_tie_bounds. "
        "Probe on rows of equal scores (tie_investigation.probe): lowest index first only for "
        + (", ".join(probe_ok) or "none") + " (each probe row names its kernel path).")
    doc["description"] = TIE_DESCRIPTION.format(torch=torch.__version__.split("+")[0], finding=finding)
    doc["tie_finding"] = {"torch_topk_lower_index_first": not order_differs,
                          "metrics_where_torch_set_differs_from_lower_index_first": set_differs,
                          "metrics_changed_by_lower_index_first": metric_low,
                          "metrics_changed_by_higher_index_first": metric_high,
                          "probe_lowest_first": probe_ok}
    write_json(OUT_DIR / "ties.json", doc)
    return doc


def uneven_case(rng) -> dict:
    counts = [1, 7, 3, 5, 1, 7, 2, 6, 4, 1, 7, 5, 1, 6]
    images = rng.standard_normal((len(counts), 8)) * rng.uniform(0.3, 5.0, size=(len(counts), 1))
    texts = make_texts(rng, images, counts, noise=1.3)
    return write_case(
        "uneven", images, texts, counts, batch_size=5, recall_k=[1, 5, 10],
        description="14 images with 1 to 7 captions each (56 texts; Flickr30k/COCO have 5, COCO sometimes 6-7), D=8, "
                    "un-normalised. Texts are flattened in image order, so text_image is non-decreasing with runs of "
                    "uneven length. DataLoader batch_size 5: image batches 5, 5, 4, and recall_at_k runs over chunks "
                    "of 5 query rows (the first batch's image count) in both directions. An image query with 7 "
                    "positive texts scores 1 when any of them is in its top k.",
    )


def small_case(rng) -> dict:
    counts = [2, 2, 2]
    images = rng.standard_normal((3, 4)) * 2.0
    texts = make_texts(rng, images, counts, noise=1.5)
    errors = {}
    for k in (5, 10):
        try:
            run_evaluate(images.astype(np.float32), texts, counts, 64, [1, k])
            errors[str(k)] = None
        except RuntimeError as e:
            errors[str(k)] = f"RuntimeError: {str(e).splitlines()[0]}"
    assert all(errors.values()), errors
    # Which direction raises: image retrieval (3 candidate images) is computed first for each k;
    # text retrieval has 6 candidate texts, so k=5 alone would be fine there.
    direct = {}
    s = torch.zeros(6, 3)
    for k in (3, 4, 5, 6, 7):
        try:
            torch.topk(s, k, dim=1)
            direct[str(k)] = "ok"
        except RuntimeError as e:
            direct[str(k)] = f"RuntimeError: {str(e).splitlines()[0]}"
    return write_case(
        "small", images, texts, counts, batch_size=64, recall_k=[1, 2],
        description="3 images x 2 captions (6 texts), D=4, un-normalised. With recall_k [1, 5, 10] CLIP_benchmark's "
                    "evaluate() raises: recall_at_k calls torch.topk(scores, k) with k larger than the candidate count "
                    "(3 images for text queries), and torch.topk does not clamp k; there is no guard in evaluate(). "
                    "So this case uses recall_k [1, 2]; k_errors holds evaluate()'s error for k=5 and k=10, "
                    "topk_on_3_candidates what torch.topk does on a 6x3 score matrix for k=3..7.",
        extra={"k_errors": errors, "topk_on_3_candidates": direct},
    )


# ---------------------------------------------------------------------------------------------
# Dataset format fixtures
# ---------------------------------------------------------------------------------------------

# (file under test/fixtures/images, split, captions). The files exist, so a test can embed them.
COCO_IMAGES = [
    ("photo_500x375.jpg", "test", 391895, [
        "A landscape photo with a wide view across the scene.",
        "a wide outdoor picture taken in daylight",
        "An image of a landscape with soft colours ",
        "A photograph showing a broad view, seen from a distance.",
        "Landscape shot with a horizon across the middle.",
    ]),
    ("gray_320x240.jpg", "train", 522418, [
        "A black and white photo of a small scene.",
        "a grayscale picture with no colour at all",
        "A monochrome image, slightly dark.",
        "Gray tones fill this small picture.",
        "A picture in shades of gray.",
    ]),
    ("portrait_375x500.jpg", "test", 184613, [
        "A tall portrait photo standing upright.",
        "a vertical picture that is taller than it is wide",
        "A portrait-orientation image of a scene.",
        "An upright photograph with colours in it.",
        "A tall image, seen in portrait mode.",
        "Portrait view of an outdoor scene.",
    ]),
    ("exif_rot90_400x300.jpg", "val", 318219, [
        "A photo that was taken with the camera turned sideways.",
        "a rotated picture that needs turning upright",
        "An image stored on its side.",
        "A sideways photograph of a scene.",
        "A camera image with a rotation tag.",
    ]),
    ("small_64x48.jpg", "test", 554625, [
        "A very small thumbnail photo.",
        "a tiny picture with few pixels",
        "A little image, blurry when enlarged.",
        "A small photo of a scene.",
        "Thumbnail sized picture.",
        "A tiny low resolution image.",
        "A small, grainy picture of something.",
    ]),
    ("panorama_2400x200.jpg", "restval", 397133, [
        "A very wide panorama strip.",
        "a long thin picture stretching across",
        "A panoramic image, much wider than tall.",
        "A banner shaped photo of a scene.",
        "A stretched wide view.",
    ]),
    ("large_1280x720.jpg", "test", 37777, [
        "A large high definition photo.",
        "a big widescreen picture of a scene",
        "A detailed image with many pixels.",
        "A widescreen photograph, crisp and clear.",
        "A large image in sixteen by nine.",
    ]),
    ("cmyk_320x240.jpg", "train", 87038, [
        "A photo printed in four colour ink.",
        "a picture stored in cmyk colours",
        "An image with print colours.",
        "A cmyk photograph of a scene.",
        "A small print-ready picture.",
    ]),
]

FLICKR_IMAGES = [
    ("large_1280x720.jpg", "train"),
    ("photo_500x375.jpg", "test"),
    ("gray_320x240.jpg", "val"),
    ("portrait_375x500.jpg", "test"),
    ("panorama_2400x200.jpg", "train"),
    ("small_64x48.jpg", "test"),
    ("exif_rot180_240x160.jpg", "train"),
    ("cmyk_320x240.jpg", "test"),
]


def karpathy_tokens(raw: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", raw.lower())


def karpathy(entries, dataset: str) -> dict:
    images, sentid = [], 0
    for imgid, entry in enumerate(entries):
        filename, split, cocoid, captions = entry
        sentences = []
        for raw in captions:
            sentences.append({"tokens": karpathy_tokens(raw), "raw": raw, "imgid": imgid, "sentid": sentid})
            sentid += 1
        item = {}
        if dataset == "coco":
            item["filepath"] = "val2014"
        item.update({"sentids": [s["sentid"] for s in sentences], "filename": filename, "imgid": imgid, "split": split,
                     "sentences": sentences})
        if dataset == "coco":
            item["cocoid"] = cocoid
        images.append(item)
    return {"images": images, "dataset": dataset}


def flickr_entries() -> list:
    out = []
    for i, (filename, split) in enumerate(FLICKR_IMAGES):
        captions = COCO_IMAGES[[c[0] for c in COCO_IMAGES].index(filename)][3][:5] if filename in [c[0] for c in COCO_IMAGES] else [
            "A photo turned upside down.",
            "a picture stored rotated half a turn",
            "An image with a rotation tag of 180 degrees.",
            "A small upside down photograph.",
            "A camera picture, flipped over.",
        ]
        captions = [re.sub(r"\bphoto\b", "snapshot", c, count=1) if i % 2 else c for c in captions]
        if filename == "photo_500x375.jpg":
            captions[2] = "A landscape, wide and bright, with soft colours."  # a comma: the txt format splits on ".jpg,"
        out.append((filename, split, None, captions[:5]))
    return out


def write_formats() -> dict:
    coco = karpathy(COCO_IMAGES, "coco")
    flickr = karpathy(flickr_entries(), "flickr30k")
    write_json(FORMATS_DIR / "dataset_coco.json", coco)
    write_json(FORMATS_DIR / "dataset_flickr30k.json", flickr)

    # CLIP_benchmark's mscoco_captions annotation (coco_test_karpathy.json from
    # mehdidc/retrieval_annotations): COCO captions format, read by torchvision's CocoCaptions
    # with root <root>/val2014; the test split only, images by cocoid, one annotation per sentence.
    test = [im for im in coco["images"] if im["split"] == "test"]
    cb_coco = {
        "images": [{"id": im["cocoid"], "file_name": im["filename"]} for im in test],
        "annotations": [{"image_id": im["cocoid"], "id": s["sentid"], "caption": s["raw"]} for im in test for s in im["sentences"]],
    }
    write_json(FORMATS_DIR / "clip_benchmark_coco.json", cb_coco)
    ds = CocoCaptions(root=str(IMAGES_DIR), annFile=str(FORMATS_DIR / "clip_benchmark_coco.json"))
    coco_order = []
    for i in range(len(ds)):
        img, caps = ds[i]
        coco_order.append({"file": ds.coco.loadImgs(ds.ids[i])[0]["file_name"], "captions": len(caps)})
    # torchvision sorts by image id: CLIP_benchmark's image order is by cocoid, not file order.
    assert [c["file"] for c in coco_order] == [im["filename"] for im in sorted(test, key=lambda im: im["cocoid"])]

    # CLIP_benchmark's flickr30k annotation (flickr30k_test_karpathy.txt): a header line, then
    # "<filename>,<caption>" per sentence; its Flickr class splits each line on ".jpg," and keeps
    # images in first-appearance order.
    ftest = [im for im in flickr["images"] if im["split"] == "test"]
    lines = ["image,caption"] + [f"{im['filename']},{s['raw']}" for im in ftest for s in im["sentences"]]
    (FORMATS_DIR / "clip_benchmark_flickr30k.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    fds = Flickr(root=str(IMAGES_DIR), ann_file=str(FORMATS_DIR / "clip_benchmark_flickr30k.txt"))
    flickr_order = []
    for i in range(len(fds)):
        img, caps = fds[i]
        assert caps == [s["raw"] for s in ftest[i]["sentences"]], (caps, ftest[i])
        flickr_order.append({"file": fds.data[i][0], "captions": len(caps)})
    assert [f["file"] for f in flickr_order] == [im["filename"] for im in ftest]
    return {"clip_benchmark_coco_order": coco_order, "clip_benchmark_flickr30k_order": flickr_order}


README = """# Retrieval dataset format fixtures

Written by `tools/reference/retrieval_goldens.py` (do not edit by hand; rerun it). Every image
file named here exists in `test/fixtures/images/`, so a test can embed them for real. Captions,
cocoids and splits are made up; only the file shapes mimic the real files.

| file | mimics | notes |
| --- | --- | --- |
| `dataset_coco.json` | Andrej Karpathy's `dataset_coco.json` (the COCO Karpathy split) | 8 images, 4 with `"split": "test"` (photo_500x375, portrait_375x500, small_64x48, large_1280x720), 2 `train`, 1 `val`, 1 `restval`, splits interleaved. Each image: `filepath` (`"val2014"`), `sentids`, `filename`, `imgid`, `split`, `sentences` (`tokens`, `raw`, `imgid`, `sentid`), `cocoid`. Some images have 6 or 7 sentences, as some real COCO images do; one `raw` ends in a space. The real file's images live at `<root>/<filepath>/<filename>`; here the files are in `test/fixtures/images/` with no `val2014/` folder, so a test either maps `filepath/filename` onto a temporary `val2014/` folder (or symlink) or resolves by file name. |
| `dataset_flickr30k.json` | Karpathy's `dataset_flickr30k.json` | Same shape with `"dataset": "flickr30k"`, no `filepath` and no `cocoid` (as in the real file); 8 images, 4 `test` (photo_500x375, portrait_375x500, small_64x48, cmyk_320x240), 5 sentences each. Images are at `<root>/<filename>`. |
| `clip_benchmark_coco.json` | CLIP_benchmark's `mscoco_captions` annotation, `coco_test_karpathy.json` (github.com/mehdidc/retrieval_annotations release 1.0.0) | COCO captions format, read by torchvision's `CocoCaptions(root=<root>/val2014, annFile=...)`: `images` (`id` = cocoid, `file_name`) and `annotations` (`image_id`, `id`, `caption` = the raw sentence), the test split only. CLIP_benchmark's image order is torchvision's: sorted by image id (cocoid), not file order; captions per image in annotation order. Not the `[{"image": ..., "caption": [...]}]` list, which is BLIP/LAVIS's `coco_karpathy_test.json`, not CLIP_benchmark's. |
| `clip_benchmark_flickr30k.txt` | CLIP_benchmark's `flickr30k` annotation, `flickr30k_test_karpathy.txt` (same release) | A header line (skipped), then one `<filename>,<caption>` line per sentence of the test split; CLIP_benchmark's `Flickr` class splits each line on `".jpg,"` (one caption here contains a comma) and orders images by first appearance. Images are at `<root>/<filename>`. |

`tools/reference/retrieval_goldens.py` loads the two CLIP_benchmark files with CLIP_benchmark's own
loaders (torchvision `CocoCaptions`, `clip_benchmark.datasets.flickr.Flickr`) with
`test/fixtures/images` as the image root, and checks the image order and captions they yield.

The recall@k goldens themselves are in `test/fixtures/goldens/retrieval/` (stored vectors, not
these images).
"""


def main() -> None:
    seed_everything(SEED)
    torch.set_num_threads(1)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    FORMATS_DIR.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    docs = {
        "basic": basic_case(rng),
        "ties": ties_case(rng),
        "uneven": uneven_case(rng),
        "small": small_case(rng),
    }
    orders = write_formats()
    (FORMATS_DIR / "README.md").write_text(README, encoding="utf-8")

    print(f"clip_benchmark {version('clip_benchmark')}, torch {torch.__version__}")
    for name, doc in docs.items():
        print(f"{name}: {doc['images']} images, {doc['texts']} texts, D={doc['dim']}, batch_size {doc['batch_size']}, recall_k {doc['recall_k']}")
        for key, value in doc["metrics"].items():
            print(f"  {key} = {value!r}")
    print("small: k errors:", docs["small"]["k_errors"])
    print("ties:", docs["ties"]["tie_finding"])
    print("ties description:", docs["ties"]["description"])
    print("CLIP_benchmark coco order:", [o["file"] for o in orders["clip_benchmark_coco_order"]])
    print("CLIP_benchmark flickr30k order:", [o["file"] for o in orders["clip_benchmark_flickr30k_order"]])


if __name__ == "__main__":
    main()
