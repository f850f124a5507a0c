"""METEOR goldens: the METEOR 1.5 jar that pycocoevalcap ships, run the way pycocoevalcap runs it.

Writes test/fixtures/goldens/coco/meteor.json for test/eval/coco-meteor.test.ts.

pycocoevalcap's Meteor starts `java -jar -Xmx2G meteor-1.5.jar - - -stdio -l en -norm` next to
the jar, writes one `SCORE ||| ref1 ||| ... ||| candidate` line per image (after removing "|||"
and double spaces from the candidate) and reads back a line of sufficient statistics, then writes
`EVAL ||| stats1 ||| stats2 ...` and reads one score per image and the corpus score. This script
speaks the same protocol and keeps the statistics lines too, for three configurations:

- "paraphrase": exactly pycocoevalcap's command (modules exact, stem, synonym, paraphrase with
  the jar's data/paraphrase-en.gz). Checked against pycocoevalcap's own Meteor class and against
  the METEOR figure in metrics.json.
- "no_paraphrase": the same with `-m "exact stem synonym"`: what emb computes when it is given
  no paraphrase table.
- "tiny_table": all four modules with `-a` pointing at a small hand-written paraphrase table
  (TINY_TABLE below, in METEOR's format; not taken from METEOR's table), so that the paraphrase
  code path is tested without the 60 MB table.

Inputs: the PTB-tokenised COCO test set in test/fixtures/goldens/coco/metrics.json (image_ids,
gts, res, written by coco_goldens.py), plus probes: hand-worked examples and seeded random
caption pairs (several references, empty and repeated words, identical strings, hyphens,
possessives, long candidates) drawn from the test set's words, common inflections and synonyms,
and the tiny table's phrases.

Deterministic: seeded, no absolute paths in the output. Needs Java (8 or later) and
pycocoevalcap 1.2 (tools/reference/.venv). About 30 s, most of it the jar loading the paraphrase
table.
"""
from __future__ import annotations

import gzip
import json
import random
import subprocess
import tempfile
from pathlib import Path

from pycocoevalcap.meteor import meteor as meteor_module
from pycocoevalcap.meteor.meteor import Meteor

from common import FIXTURES, write_json

GOLDENS = FIXTURES / "goldens" / "coco"
JAR_DIR = Path(meteor_module.__file__).resolve().parent
BASE_CMD = ["java", "-jar", "-Xmx2G", "meteor-1.5.jar", "-", "-", "-stdio", "-l", "en", "-norm"]
SEED = 20261124

# (probability, phrase, paraphrase): METEOR ignores the probability; duplicates are kept.
TINY_TABLE: list[tuple[float, str, str]] = [
    (0.5, "motor bike", "motorcycle"),
    (0.5, "motorcycle", "motor bike"),
    (0.4, "next to", "beside"),
    (0.4, "beside", "next to"),
    (0.4, "next to", "beside"),
    (0.3, "a couple of", "two"),
    (0.3, "two", "a pair of"),
    (0.3, "is sitting", "sits"),
    (0.2, "on top of", "on"),
    (0.2, "in front of", "before"),
    (0.2, "a lot of", "many"),
    (0.2, "many", "lots of"),
    (0.2, "cell phone", "phone"),
    (0.1, "man", "guy"),
    (0.1, "people", "persons"),
    (0.1, "riding", "rides"),
    (0.1, "the", "a"),
    (0.1, "standing next to", "by"),
    (0.1, "a", "one"),
    (0.1, "sitting on a bench", "seated on a bench"),
]

# Hand-worked examples (references, candidate); the test recomputes some of them by hand.
HAND_PROBES: list[tuple[list[str], str]] = [
    (["a man riding a horse"], "a man riding a horse"),  # identical: 1, no fragmentation
    (["a man riding a horse on the beach"], "a man riding a horse"),  # one chunk, not all matched
    (["a generous sized pizza"], "a generously sized pizza"),  # stem-only match
    (["a small car"], "a small automobile"),  # synonym-only match
    (["a car"], "an automobile"),
    (["the dog"], "a cat"),  # nothing matches
    (["the dogs are running"], "a dog runs"),  # stem and synonym both match: the search drops them
    (["a horse riding a man"], "a man riding a horse"),  # three chunks
    (["a man on a motor bike", "a motorcycle parked"], "a man on a motorcycle"),
    (["two people standing next to a bus"], "a couple of persons beside a bus"),
    (["a chef's knife on a cloud-wreathed hill"], "a chef 's knife on a cloud wreathed hill"),
    (["a man", "a man"], ""),  # empty candidate
    (["the the the the"], "the the"),
    (["a dog", "a cat sitting on a bench"], "a cat seated on a bench"),
]

# Long candidates: the aligner's search must stay METEOR 1.5's where most branches fall out of the
# beam (a caption of thousands of words against ordinary references).
LONG_WORDS = "a man riding a horse on a beach with the dog near water and people walking".split()
LONG_PROBES: list[tuple[list[str], str]] = [
    (["a man riding a horse on the beach", "a person rides a horse near the water", "a horse and a rider on a sandy beach"],
     " ".join(LONG_WORDS[(i * 7 + (i >> 3)) % len(LONG_WORDS)] for i in range(2000))),
    (["a man riding a horse"], " ".join(["a man riding a horse"] * 600)),
]

EXTRA_WORDS = (
    "dog dogs run runs running ran man men woman women child children kid kids car cars automobile auto "
    "sit sits sitting sat seated table tables desk big large huge small little tiny picture photo image "
    "photograph street road boy boys girl girls plate dish eat eating eats ate food meal person people "
    "persons player players play plays playing game games bike bicycle bikes motorcycle motorbike guy "
    "generous generously colorful colors cooking cooks 's ' - the a an of on in is are cloud-wreathed "
    "x-ray chef's n't 1,000 3.5"
).split()


def run_jar(items: list[tuple[list[str], str]], extra: list[str]) -> dict:
    """SCORE each (references, candidate), then EVAL them all, as pycocoevalcap does."""
    proc = subprocess.Popen(BASE_CMD + extra, cwd=JAR_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    stats = []
    for refs, candidate in items:
        hypothesis = candidate.replace("|||", "").replace("  ", " ")
        line = " ||| ".join(("SCORE", " ||| ".join(refs), hypothesis))
        proc.stdin.write(f"{line}\n".encode())
        proc.stdin.flush()
        stats.append(proc.stdout.readline().decode().strip())
    proc.stdin.write(("EVAL ||| " + " ||| ".join(stats) + "\n").encode())
    proc.stdin.flush()
    scores = [float(proc.stdout.readline().strip()) for _ in items]
    corpus = float(proc.stdout.readline().strip())
    proc.stdin.close()
    proc.kill()
    proc.wait()
    return {"corpus": corpus, "per_image": scores, "stats": stats}


def random_probes(vocab: list[str], count: int) -> list[tuple[list[str], str]]:
    rng = random.Random(SEED)
    phrases = [p for _, a, b in TINY_TABLE for p in (a, b)]
    pool = vocab + EXTRA_WORDS * 2 + phrases * 3

    def sentence(n: int) -> str:
        return " ".join(rng.choice(pool) for _ in range(n))

    probes = []
    for _ in range(count):
        refs = [sentence(rng.randint(1, 16)) for _ in range(rng.randint(1, 5))]
        mode = rng.random()
        if mode < 0.45:  # a noisy, sometimes shuffled copy of a reference
            words = [w if rng.random() < 0.6 else rng.choice(pool) for w in rng.choice(refs).split()]
            if rng.random() < 0.3:
                rng.shuffle(words)
            candidate = " ".join(words)
        elif mode < 0.55:
            candidate = rng.choice(refs)
        elif mode < 0.58:
            candidate = ""
        elif mode < 0.65:
            candidate = sentence(rng.randint(30, 50))
        else:
            candidate = sentence(rng.randint(1, 20))
        probes.append((refs, candidate))
    return probes


def main() -> None:
    metrics = json.loads((GOLDENS / "metrics.json").read_text())
    image_ids = metrics["image_ids"]
    coco = [(refs, res[0]) for refs, res in zip(metrics["gts"], metrics["res"])]
    vocab = sorted({w for refs, cand in coco for s in refs + [cand] for w in s.split()})
    probes = HAND_PROBES + random_probes(vocab, 200) + LONG_PROBES

    with tempfile.TemporaryDirectory() as tmp:
        tiny = Path(tmp) / "tiny-paraphrase.gz"
        with gzip.open(tiny, "wt", encoding="utf-8") as f:
            for prob, phrase, paraphrase in TINY_TABLE:
                f.write(f"{prob}\n{phrase}\n{paraphrase}\n")
        configs = {
            "paraphrase": [],
            "no_paraphrase": ["-m", "exact stem synonym"],
            "tiny_table": ["-a", str(tiny)],
        }
        results = {name: {"coco": run_jar(coco, extra), "probes": run_jar(probes, extra)}
                   for name, extra in configs.items()}

    # The protocol above is pycocoevalcap's: its own Meteor class must agree.
    gts = {i: refs for i, (refs, _) in zip(image_ids, coco)}
    res = {i: [cand] for i, (_, cand) in zip(image_ids, coco)}
    score, scores = Meteor().compute_score(gts, res)
    assert score == results["paraphrase"]["coco"]["corpus"], (score, results["paraphrase"]["coco"]["corpus"])
    assert list(scores) == results["paraphrase"]["coco"]["per_image"]
    assert score == metrics["corpus"]["METEOR"], (score, metrics["corpus"]["METEOR"])

    write_json(GOLDENS / "meteor.json", {
        "description": (
            "METEOR 1.5 (pycocoevalcap 1.2's meteor-1.5.jar) on the tokenised COCO test set of metrics.json "
            "(coco: image_ids, aligned with its gts/res) and on probes ([references, candidate]). "
            "Configurations: paraphrase = pycocoevalcap's command `-stdio -l en -norm`; no_paraphrase = "
            "the same with -m 'exact stem synonym'; tiny_table = all modules with -a tiny_paraphrase_table. "
            "stats: the jar's SCORE output per image; per_image and corpus: its EVAL output."
        ),
        "pycocoevalcap": "1.2",
        "command": " ".join(BASE_CMD),
        "image_ids": image_ids,
        "tiny_paraphrase_table": [[p, a, b] for p, a, b in TINY_TABLE],
        "probes": [[refs, cand] for refs, cand in probes],
        "results": results,
    })
    for name, r in results.items():
        print(f"{name}: coco corpus {r['coco']['corpus']:.6f}, probes corpus {r['probes']['corpus']:.6f}")


if __name__ == "__main__":
    main()
