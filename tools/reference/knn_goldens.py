"""KNN goldens: what scikit-learn's KNeighborsClassifier (metric cosine) predicts.

Two files under test/fixtures/goldens/knn/:
- synthetic.json: seeded synthetic embeddings (few-shot clusters, zero-shot with one vector per
  class, and hand-made ties and zero distances) with sklearn's probabilities, predictions and
  top-1/top-5 accuracy for both weightings.
- folder.json: a small folder dataset built from the test images (ImageNet synsets as labels),
  scored with the tiny SigLIP's PyTorch image embeddings and its text tower (the committed ONNX
  graph, fed by the Python SiglipTokenizer) for the zero-shot prompts.

Accuracy follows the Triton deployment's protocol: top-1 is accuracy_score of predict(), top-5 is
top_k_accuracy_score over predict_proba() with labels=classes_.
"""
from __future__ import annotations

import json
import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import accuracy_score, top_k_accuracy_score
from sklearn.neighbors import KNeighborsClassifier
from transformers import SiglipTokenizer

from common import FIXTURES, REPO_ROOT, SEED, ort_session, write_json

OUT_DIR = FIXTURES / "goldens" / "knn"
SIGLIP_DIR = FIXTURES / "siglip-tiny"
SIGLIP_GOLDENS = FIXTURES / "goldens" / "siglip"

warnings.filterwarnings("ignore", category=UndefinedMetricWarning)


def score(train_x, train_y, valid_x, valid_y, k: int, weights: str) -> dict:
    # Double precision on both sides: the stored vectors are float32, emb computes in float64.
    clf = KNeighborsClassifier(n_neighbors=k, weights=weights, metric="cosine", algorithm="brute")
    clf.fit(np.asarray(train_x, dtype=np.float64), np.asarray(train_y))
    queries = np.asarray(valid_x, dtype=np.float64)
    proba = clf.predict_proba(queries)
    predicted = clf.predict(queries)
    return {
        "k": k,
        "weights": weights,
        "classes": [str(c) for c in clf.classes_],
        "predict": [str(p) for p in predicted],
        "proba": proba.tolist(),
        "top1": float(accuracy_score(valid_y, predicted)),
        "top5": float(top_k_accuracy_score(valid_y, proba, k=5, labels=clf.classes_)),
    }


def f32_rows(x: np.ndarray) -> list[list[float]]:
    return np.asarray(x, dtype=np.float32).astype(np.float64).tolist()


def clustered(rng, classes: list[str], per_class: int, centers: np.ndarray, noise: float) -> tuple[np.ndarray, list[str]]:
    x = np.concatenate([centers[i] + noise * rng.standard_normal((per_class, centers.shape[1])) for i in range(len(classes))])
    y = [c for c in classes for _ in range(per_class)]
    return x.astype(np.float32), y


def both_weightings(name: str, train_x, train_y, valid_x, valid_y, k: int = 10) -> list[dict]:
    return [
        {
            "name": f"{name} {weights}",
            "train": {"vectors": f32_rows(train_x), "labels": train_y},
            "valid": {"vectors": f32_rows(valid_x), "labels": valid_y},
            "expected": score(train_x, train_y, valid_x, valid_y, k, weights),
        }
        for weights in ("distance", "uniform")
    ]


def synthetic_cases() -> list[dict]:
    rng = np.random.default_rng(SEED)
    cases = []

    # Few-shot: 12 classes whose names do not sort in creation order, 10 references each.
    classes = [f"c{(i * 7) % 12:02d}_{name}" for i, name in enumerate("kiwi apple zebra mango fig yak ant owl bee cat dog eel".split())]
    centers = rng.standard_normal((len(classes), 24))
    train_x, train_y = clustered(rng, classes, 10, centers, 1.4)
    valid_x, valid_y = clustered(rng, classes, 6, centers, 1.4)
    cases += both_weightings("few-shot", train_x, train_y, valid_x, valid_y)

    # Zero-shot: one vector per class, k (10) larger than any class's count.
    classes = [f"n{rng.integers(1e7, 1e8)}" for _ in range(20)]
    centers = rng.standard_normal((len(classes), 32))
    train_x = centers.astype(np.float32)
    train_y = list(classes)
    valid_x, valid_y = clustered(rng, classes, 4, centers, 2.5)
    cases += both_weightings("zero-shot", train_x, train_y, valid_x, valid_y)

    # Ties and zero distances on axis vectors (exact in floating point): eight classes holding
    # 2,2,1,1,1,1,1,1 references, k = all ten, so every neighbour set is the whole index.
    dim = 12
    eye = np.eye(dim, dtype=np.float32)
    tie_classes = ["h", "g", "f", "e", "d", "c", "b", "a"]
    train_y = ["h", "h", "g", "g", "f", "e", "d", "c", "b", "a"]
    train_x = eye[[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]
    valid_x = np.stack(
        [
            eye[10],  # orthogonal to everything: equal distances, the vote alone decides
            eye[4],  # equals one reference of f: zero distance takes all the weight
            eye[0] + eye[2],  # halfway between h and g: tied
            eye[11] + 0.5 * eye[9],  # nearest to a (the last class)
            eye[10] + eye[11],
            eye[6],
        ]
    ).astype(np.float32)
    valid_y = ["e", "f", "g", "a", "b", "d"]
    assert sorted(set(train_y)) == sorted(tie_classes)
    cases += both_weightings("ties", train_x, train_y, valid_x, valid_y)
    return cases


# The folder dataset: which test images go where. Labels are ImageNet synsets, so the shipped
# mapping names them.
FOLDER_LAYOUT = {
    "train": {
        "n01440764": ["photo_500x375.jpg", "portrait_375x500.jpg", "large_1280x720.jpg"],
        "n01443537": ["small_64x48.jpg", "gray_320x240.jpg", "photo_320x240.webp"],
        "n01484850": ["alpha_300x200.png", "gray_256x256.png", "palette_200x200.gif"],
    },
    "valid": {
        "n01440764": ["panorama_2400x200.jpg", "cmyk_320x240.jpg"],
        "n01443537": ["exif_rot90_400x300.jpg", "exif_rot180_240x160.jpg"],
        "n01484850": ["gray16_200x150.png", "tiny_1x1.png"],
    },
}
TEMPLATE = "A photo of {text}."


def imagenet_names() -> dict[str, str]:
    names = {}
    for line in (REPO_ROOT / "data" / "LOC_synset_mapping.txt").read_text().splitlines():
        label, _, text = line.partition(" ")
        names[label] = text
    return names


def folder_case() -> dict:
    goldens = json.loads((SIGLIP_GOLDENS / "goldens.json").read_text())
    embeddings = np.load(SIGLIP_GOLDENS / "vision_pooler_output.npy")
    row_of = {image["file"]: image["index"] for image in goldens["images"]}

    def split(name: str):
        files = [(label, f) for label in sorted(FOLDER_LAYOUT[name]) for f in FOLDER_LAYOUT[name][label]]
        return embeddings[[row_of[f] for _, f in files]], [label for label, _ in files]

    train_x, train_y = split("train")
    valid_x, valid_y = split("valid")

    names = imagenet_names()
    labels = sorted(FOLDER_LAYOUT["valid"])
    prompts = [TEMPLATE.replace("{text}", names[label]) for label in labels]
    tokenizer = SiglipTokenizer.from_pretrained(SIGLIP_DIR)
    ids = tokenizer(prompts, padding="max_length", max_length=64, truncation=True, return_tensors="np")["input_ids"]
    text = ort_session(SIGLIP_DIR / "onnx" / "text_model.onnx")
    text_x = text.run(["pooler_output"], {"input_ids": ids.astype(np.int64)})[0]

    return {
        "layout": FOLDER_LAYOUT,
        "template": TEMPLATE,
        "prompts": prompts,
        "few_shot": {w: score(train_x, train_y, valid_x, valid_y, 5, w) for w in ("distance", "uniform")},
        # Three classes: k is the number of references there are.
        "zero_shot": {w: score(text_x, labels, valid_x, valid_y, 3, w) for w in ("distance", "uniform")},
    }


def main() -> None:
    # One line per case: the vectors make this file long, and it is read by tests, not people.
    cases = [json.dumps(case, separators=(",", ":")) for case in synthetic_cases()]
    (OUT_DIR / "synthetic.json").write_text(
        '{"generator": "tools/reference/knn_goldens.py", "cases": [\n' + ",\n".join(cases) + "\n]}\n", encoding="utf-8"
    )
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    write_json(OUT_DIR / "folder.json", {"generator": "tools/reference/knn_goldens.py", **folder_case()})


if __name__ == "__main__":
    main()
