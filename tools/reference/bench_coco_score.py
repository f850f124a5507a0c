"""The Python side of `bench/coco-score.sh`: builds a large COCO-format caption set from the test
set (every caption perturbed by seeded word edits, so images are distinct) and scores a results
file with pycocoevalcap as COCOEvalCap.evaluate() does (PTB tokenizer, BLEU, METEOR, ROUGE_L,
CIDEr; SPICE skipped), timing the scoring.

Usage: python bench_coco_score.py make --images 5000 --out DIR      (writes captions.json, results.json)
       python bench_coco_score.py score --annotations FILE --results FILE   (prints one JSON line)
"""
from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import time
from pathlib import Path

from common import FIXTURES


def make(count: int, out: Path) -> None:
    annotations = json.loads((FIXTURES / "coco" / "captions_test.json").read_text())
    results = json.loads((FIXTURES / "coco" / "results_test.json").read_text())
    refs: dict[int, list[str]] = {}
    for a in annotations["annotations"]:
        refs.setdefault(a["image_id"], []).append(a["caption"])
    candidates = {r["image_id"]: r["caption"] for r in results}
    source_ids = list(refs)
    vocabulary = sorted({w for captions in refs.values() for c in captions for w in c.split()})
    rng = random.Random(20261124)

    def perturb(caption: str) -> str:
        words = caption.split()
        for _ in range(rng.randint(0, 3)):
            if not words:
                break
            i = rng.randrange(len(words))
            edit = rng.random()
            if edit < 0.33 and len(words) > 1:
                del words[i]
            elif edit < 0.66 and i + 1 < len(words):
                words[i], words[i + 1] = words[i + 1], words[i]
            else:
                words[i] = rng.choice(vocabulary)
        return " ".join(words)

    images, anns, res = [], [], []
    for n in range(count):
        source = source_ids[n % len(source_ids)]
        image_id = 1_000_000 + n
        images.append({"id": image_id, "file_name": f"bench_{n:06d}.jpg"})
        for caption in refs[source]:
            anns.append({"id": len(anns), "image_id": image_id, "caption": perturb(caption)})
        res.append({"image_id": image_id, "caption": perturb(candidates[source])})
    out.mkdir(parents=True, exist_ok=True)
    (out / "captions.json").write_text(json.dumps({"images": images, "annotations": anns}))
    (out / "results.json").write_text(json.dumps(res))


def score(annotations: Path, results: Path) -> None:
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
    from pycocotools.coco import COCO

    # pycocotools and the scorers print progress on stdout; keep stdout for the one JSON line.
    with contextlib.redirect_stdout(sys.stderr):
        seconds, scores, images = run_scorers(annotations, results, COCO, PTBTokenizer, [
            (Bleu(4), ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4"]), (Meteor(), ["METEOR"]), (Rouge(), ["ROUGE_L"]), (Cider(), ["CIDEr"])])
    print(json.dumps({"images": images, "seconds": seconds, "metrics": scores}))


def run_scorers(annotations, results, COCO, PTBTokenizer, scorers):
    started = time.perf_counter()
    coco = COCO(str(annotations))
    coco_res = coco.loadRes(str(results))
    ids = coco_res.getImgIds()
    gts = {i: coco.imgToAnns[i] for i in ids}
    res = {i: coco_res.imgToAnns[i] for i in ids}
    tokenizer = PTBTokenizer()
    gts, res = tokenizer.tokenize(gts), tokenizer.tokenize(res)
    scores = {}
    for scorer, names in scorers:
        value, _ = scorer.compute_score(gts, res)
        for name, v in zip(names, value if isinstance(value, list) else [value]):
            scores[name] = v
    return time.perf_counter() - started, scores, len(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make")
    m.add_argument("--images", type=int, default=5000)
    m.add_argument("--out", type=Path, required=True)
    s = sub.add_parser("score")
    s.add_argument("--annotations", type=Path, required=True)
    s.add_argument("--results", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "make":
        make(args.images, args.out)
    else:
        score(args.annotations, args.results)


if __name__ == "__main__":
    main()
