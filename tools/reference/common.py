"""Helpers shared by the fixture builders: paths, seeding, .npy/JSON writers, ONNX checks."""
from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "test" / "fixtures"
IMAGES_DIR = FIXTURES / "images"
SHARED_REFERENCE = Path(os.environ.get("EMB_SHARED_REFERENCE", REPO_ROOT.parent / "shared" / "reference"))
SEED = 20261122


def seed_everything(seed: int = SEED) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def save_npy(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.ascontiguousarray(array))


def image_manifest() -> list[dict]:
    return json.loads((IMAGES_DIR / "manifest.json").read_text())["images"]


def max_abs_diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


def ort_session(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def train_sentencepiece(lines: list[str], target: Path, vocab_size: int, **options) -> None:
    """Trains a unigram SentencePiece model with SigLIP's special ids (pad 0, eos 1, unk 2) on
    `lines` and writes it to `target`; `options` go to the trainer (normaliser, coverage, ...).
    The trainer records its temporary paths; they are dropped so regeneration is byte-identical."""
    import tempfile

    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    settings = dict(model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1, pad_piece="<pad>", eos_piece="</s>",
                    unk_piece="<unk>", character_coverage=1.0, hard_vocab_limit=True, num_threads=1,
                    seed_sentencepiece_size=20000, minloglevel=2)
    settings.update(options)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text("\n".join(lines), encoding="utf-8")
        spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(Path(tmp) / "spiece"), vocab_size=vocab_size, **settings)
        proto = sentencepiece_model_pb2.ModelProto()
        proto.ParseFromString((Path(tmp) / "spiece.model").read_bytes())
        del proto.trainer_spec.input[:]
        proto.trainer_spec.model_prefix = "spiece"
        target.write_bytes(proto.SerializeToString())
