#!/usr/bin/env python3
"""Runs the Python client snippets of the Triton deployment emb replaces, unchanged, against a running `emb serve`,
and checks every answer against what the `emb` CLI computes for the same inputs.

    tools/serve/.venv/bin/python tools/serve/seed_clients.py [--url http://localhost:8000] [--emb "node bin/run.js"]

The server must serve the tiny test models (or the models given with --siglip/--florence2):

    node bin/run.js serve --model siglip=test/fixtures/siglip-tiny --model florence2=test/fixtures/florence2-tiny --port 8000

Each snippet below is copied verbatim from the Triton deployment's documents (../shared/reference/seeds beside the repository) (000 siglip_text,
003 embed_image, 004 florence2; 002 siglip_vision has no snippet of its own and says its
requests "work the same as the embed_image deployment", so embed_image's raw snippets are also
run against siglip_vision with only the model name in the URL changed). Before exec() the only
changes are exact string replacements of what a user must fill in anyway:

  * "http://localhost:8000/v2/models"          -> --url + "/v2/models"
  * "/path/to/your/image.png"                  -> a test photo
  * "/path/to/image/director/" (sic), "/path/to/image/directory/" -> a folder of test photos
  * "google/siglip-so400m-patch14-384"         -> the tiny model folder (SiglipProcessor loads it)
  * high=32000 (siglip_text "many": so400m's vocabulary size) -> high=<the tiny model's vocab_size>
    (MODEL-SPECIFIC; the verbatim 32000 is run too, and the server must refuse those ids)

plus two documented accommodations, each marked where it is applied:

  * FIX-1 (siglip_text example): the snippet calls `.numpy()` on the processor's input_ids, which
    is a torch tensor only because SiglipProcessor.__call__ (transformers <= 4.56) defaults to
    return_tensors="pt"; that needs torch. When torch is importable the snippet runs unchanged;
    otherwise `processor(caption, padding="max_length")["input_ids"].numpy()` becomes
    `processor(caption, padding="max_length", return_tensors="np")["input_ids"]`. (With
    transformers >= 4.57, SiglipProcessor's first positional argument is `images`, and the
    snippet fails either way; requirements.txt pins 4.56.2.)
  * FIX-2 (embed_image "many"): the snippet uses `base_url` without defining it (the page's first
    snippet defines it), so its namespace starts with base_url = --url + "/v2/models".

Embeddings are compared with `emb embed image` / `emb embed text --ids` (max abs diff <= 1e-5),
Florence-2 answers with `emb florence` (exactly: the same JSON string, the same parsed object).
Prints one PASS/FAIL line per check and exits 1 if any failed.
"""
import argparse
import contextlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the snippets load only local folders
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np
import requests

REPO = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-5

# 000 siglip_text, Example Request (verbatim)
SIGLIP_TEXT_EXAMPLE = r'''import numpy as np
import requests
from transformers import SiglipProcessor

base_url = "http://localhost:8000/v2/models"
processor = SiglipProcessor.from_pretrained("google/siglip-so400m-patch14-384")
caption = (
    "A photo of a person in a spacesuit riding a unicorn on the surface of the moon"
)
input_ids_np = processor(caption, padding="max_length")["input_ids"].numpy()

inference_request = {
    "inputs": [
        {
            "name": "INPUT_IDS",
            "shape": [1, 64],
            "datatype": "INT64",
            "data": input_ids_np.flatten().tolist(),
        }
    ]
}
model_response = requests.post(
    url=f"{base_url}/siglip_text/infer",
    json=inference_request,
).json()

"""
JSON response output looks like
{
    "model_name": "siglip_text",
    "model_version": "1",
    "outputs": [
        {
            "name": "EMBEDDING",
            "datatype": "FP32",
            "shape": [1, 1152],
            "data": [
                1.30078125,
                0.61572265,
                ...,
            ]
        }
    ]
}
"""

embedding = np.array(
    model_response["outputs"][0]["data"],
    dtype=np.float32
)
'''

# 000 siglip_text, Sending Many Images (verbatim)
SIGLIP_TEXT_MANY = r'''from concurrent.futures import ThreadPoolExecutor, as_completed
import numpy as np
from pathlib import Path
import requests

base_url = "http://localhost:8000/v2/models"
rng = np.random.default_rng()

input_ids_batch = rng.integers(low=0, high=32000, size=[120,64]).astype(np.int64)


futures = {}
embeddings = {}
with ThreadPoolExecutor(max_workers=60) as executor:
    for i, input_ids in enumerate(input_ids_batch):
        inference_request = {
            "inputs": [
                {
                    "name": "INPUT_IDS",
                    "shape": [1, 64],
                    "datatype": "INT64",
                    "data": input_ids.flatten().tolist(),
                }
            ]
        }
        future = executor.submit(requests.post,
            url=f"{base_url}/siglip_text/infer",
            json=inference_request,
        )
        futures[future] = i
    
    for future in as_completed(futures):
        try:
            response = future.result()
        except Exception as exc:
            print(f"{futures[future]} threw {exc}")
        else:
            try:
                data = response.json()["outputs"][0]["data"]
                embedding = np.array(data, dtype=np.float32)
                embeddings[futures[future]] = embedding
            except Exception as exc:
                raise ValueError(f"Error getting data from response: {exc}")

print(embeddings)
'''

# 003 embed_image, Raw Image (verbatim)
EMBED_IMAGE_RAW = r'''import numpy as np
import requests

base_url = "http://localhost:8000/v2/models"

image_path = "/path/to/your/image.png"
with open(image_path, "rb") as f:
    image_bytes = f.read()

image_embed_response = requests.post(
    url=f"{base_url}/embed_image/infer",
    headers={
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": "0",
    },
    data=image_bytes,
)

header_length = int(image_embed_response.headers["Inference-Header-Content-Length"])
image_embedding_np = np.frombuffer(
    image_embed_response.content[header_length:],
    dtype=np.float32,
)
'''

# 003 embed_image, Base64 Encoded Image (verbatim)
EMBED_IMAGE_BASE64 = r'''import base64
import requests

base_url = "http://localhost:8000/v2/models"

image_path = "/path/to/your/image.png"
with open(image_path, "rb") as f:
    image_bytes = f.read()
image_b64_str = base64.b64encode(image_bytes).decode("UTF-8")

inference_request = {
    "parameters": {"base64_encoded": True},  # **MUST SET THIS**
    "inputs": [
        {
            "name": "INPUT_IMAGE",
            "shape": [1, 1],
            "datatype": "BYTES",
            "data": [image_b64_str],
        }
    ]
}
image_embed_response = requests.post(
    url=f"{base_url}/embed_image/infer",
    json=inference_request,
).json()
image_embedding = image_embed_response["outputs"][0]["data"]
'''

# 003 embed_image, Sending Many Images (verbatim)
EMBED_IMAGE_MANY = r'''from concurrent.futures import ThreadPoolExecutor, as_completed
import numpy as np
from pathlib import Path
import requests

input_dir = Path("/path/to/image/director/")
futures = {}
embeddings = {}
with ThreadPoolExecutor(max_workers=60) as executor:
    for path in input_dir.iterdir():
        if path.is_file():
            future = executor.submit(requests.post,
                url=f"{base_url}/embed_image/infer",
                data=path.read_bytes(),
                headers={
                    "Content-Type": "application/octet-stream",
                    "Inference-Header-Content-Length": "0",
                }
            )
            futures[future] = str(path.absolute())
    
    for future in as_completed(futures):
        try:
            response = future.result()
        except Exception as exc:
            print(f"{futures[future]} threw {exc}")
        else:
            try:
                header_length = int(response.headers["Inference-Header-Content-Length"])
                embedding = np.frombuffer(
                    response.content[header_length:], dtype=np.float32
                )
                embeddings[futures[future]] = embedding
            except Exception as exc:
                raise ValueError(f"Error getting data from response: {exc}")
print(embeddings)
'''

# 004 florence2, Example Request (verbatim)
FLORENCE2_EXAMPLE = r'''import base64
import json
import requests
from uuid import uuid4

base_url = "http://localhost:8000/v2/models"

image_path = "/path/to/your/image.png"
with open(image_path, "rb") as f:
    image_bytes = f.read()
image_b64 = base64.b64encode(image_bytes).decode("UTF-8")

task_prompt = "<CAPTION>"

inference_request = {
    "id": uuid4().hex,
    "inputs": [
        {
            "name": "INPUT_IMAGE",
            "shape": [1, 1],
            "datatype": "BYTES",
            "data": [image_b64],
        },
        {
            "name": "TASK_PROMPT",
            "shape": [1, 1],
            "datatype": "BYTES",
            "data": [task_prompt],
        }
    ]
}
response = requests.post(
    url=f"{base_url}/florence2/infer",
    json=inference_request,
).json()
result = json.loads(response["outputs"][0]["data"][0])
print(result)
# {'<CAPTION>': 'A woman holds up a sign that reads "safe streets now."'}
'''

# 004 florence2, Sending Many Images (verbatim)
FLORENCE2_MANY = r'''from concurrent.futures import ThreadPoolExecutor, as_completed
import base64
import json
from pathlib import Path
import requests
from uuid import uuid4

def inference_request(image_path, task_prompt, text_prompt=None):
    image_b64 = base64.b64encode(image_path.read_bytes()).decode("UTF-8")
    request = {
        "id": uuid4().hex,
        "inputs": [
            {
                "name": "INPUT_IMAGE",
                "shape": [1, 1],
                "datatype": "BYTES",
                "data": [image_b64],
            },
            {
                "name": "TASK_PROMPT",
                "shape": [1, 1],
                "datatype": "BYTES",
                "data": [task_prompt],
            }
        ]
    }
    if text_prompt:
        request["inputs"].append(
            {
                "name": "TEXT_PROMPT",
                "shape": [1, 1],
                "datatype": "BYTES",
                "data": [text_prompt],
            }
        )
    return request

base_url = "http://localhost:8000/v2/models"

task_prompt = "<CAPTION>"
input_dir = Path("/path/to/image/directory/")
futures = {}
results = {}
with ThreadPoolExecutor(max_workers=4) as executor:
    for path in input_dir.iterdir():
        if path.is_file():
            future = executor.submit(
                requests.post,
                url=f"{base_url}/florence2/infer",
                json=inference_request(path, task_prompt, text_prompt=None),
            )
            futures[future] = str(path.absolute())
    
    for future in as_completed(futures):
        try:
            response = future.result().json()
        except Exception as exc:
            print(f"{futures[future]} threw {exc}")
        else:
            path = futures[future]
            try:
                parsed_json = json.loads(response["outputs"][0]["data"][0])
                results[path] = parsed_json
            except Exception as exc:
                print(f"{path} failed to get response: {exc}")

'''

SNIPPETS = {  # name -> (seed file prefix, code): checked against the Triton deployment's documents when they are present
    "SIGLIP_TEXT_EXAMPLE": ("000", SIGLIP_TEXT_EXAMPLE),
    "SIGLIP_TEXT_MANY": ("000", SIGLIP_TEXT_MANY),
    "EMBED_IMAGE_RAW": ("003", EMBED_IMAGE_RAW),
    "EMBED_IMAGE_BASE64": ("003", EMBED_IMAGE_BASE64),
    "EMBED_IMAGE_MANY": ("003", EMBED_IMAGE_MANY),
    "FLORENCE2_EXAMPLE": ("004", FLORENCE2_EXAMPLE),
    "FLORENCE2_MANY": ("004", FLORENCE2_MANY),
}

# The placeholders, exactly as the Triton deployment print them.
SEED_BASE_URL = '"http://localhost:8000/v2/models"'
SEED_IMAGE = '"/path/to/your/image.png"'
SEED_DIR_003 = '"/path/to/image/director/"'
SEED_DIR_004 = '"/path/to/image/directory/"'
SEED_HUB_ID = '"google/siglip-so400m-patch14-384"'
SEED_VOCAB = "high=32000"
FIX1_FROM = 'processor(caption, padding="max_length")["input_ids"].numpy()'
FIX1_TO = 'processor(caption, padding="max_length", return_tensors="np")["input_ids"]  # FIX-1: no torch'

# Single-image snippets run on these (several formats, EXIF rotation, CMYK, alpha, 16-bit).
SINGLE_IMAGES = [
    "test/fixtures/images/photo_500x375.jpg",
    "test/fixtures/images/alpha_300x200.png",
    "test/fixtures/images/exif_rot90_400x300.jpg",
    "test/fixtures/photos/cmyk_adobe.jpg",
    "test/fixtures/photos/photo_444.avif",
    "test/fixtures/photos/gray16.tif",
]
FLORENCE_SINGLE = SINGLE_IMAGES[:3]
PHOTO_DIRS = ["test/fixtures/images", "test/fixtures/photos"]


def lit(value: str) -> str:
    """A Python string literal for a replacement (double-quoted, as the placeholders are)."""
    return json.dumps(value)


def fill(code: str, subs: list[tuple[str, str]]) -> str:
    for old, new in subs:
        if old not in code:
            raise AssertionError(f"placeholder {old!r} is not in the snippet")
        code = code.replace(old, new)
    return code


def run_snippet(code: str, name: str, preset: dict | None = None) -> tuple[dict, str]:
    """exec() in a fresh namespace; returns the namespace and what the snippet printed."""
    ns: dict = {"__name__": f"seed_snippet_{name}"}
    ns.update(preset or {})
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"<{name}>", "exec"), ns)
    return ns, out.getvalue()


class Emb:
    """The CLI, run from the repository root."""

    def __init__(self, command: str, siglip: Path, florence: Path, work: Path):
        self.cmd = shlex.split(command)
        self.siglip, self.florence, self.work = siglip, florence, work
        self.n = 0

    def run(self, args: list[str], ok=(0,)) -> subprocess.CompletedProcess:
        p = subprocess.run(self.cmd + args, cwd=REPO, capture_output=True, text=True)
        if p.returncode not in ok:
            raise RuntimeError(f"{' '.join(self.cmd + args)} exited {p.returncode}: {p.stderr.strip()[-800:]}")
        return p

    def out_dir(self, tag: str) -> Path:
        self.n += 1
        return self.work / f"emb-{self.n}-{tag}"

    def embed_images(self, paths: list[Path]) -> tuple[dict[str, np.ndarray], list[dict]]:
        """{resolved path: embedding} for the images, and the errors the CLI reported (exit 3)."""
        out = self.out_dir("image")
        self.run(["embed", "image", *map(str, paths), "--out", str(out), "--model", str(self.siglip), "--no-progress"], ok=(0, 3))
        matrix = np.load(out / "embeddings.npy")
        rows = {}
        for line in (out / "index.jsonl").read_text().splitlines():
            rec = json.loads(line)
            rows[str(Path(rec["path"]).resolve())] = matrix[rec["row"]]
        errors_file = out / "errors.jsonl"
        errors = [json.loads(l) for l in errors_file.read_text().splitlines()] if errors_file.exists() else []
        return rows, errors

    def embed_ids(self, ids: np.ndarray) -> np.ndarray:
        out = self.out_dir("ids")
        ids_file = out.with_suffix(".json")
        ids_file.write_text(json.dumps(np.asarray(ids, dtype=np.int64).reshape(-1, 64).tolist()))
        self.run(["embed", "text", "--ids", str(ids_file), "--out", str(out), "--model", str(self.siglip), "--no-progress"])
        return np.load(out / "embeddings.npy")

    def embed_text(self, texts: list[str]) -> np.ndarray:
        out = self.out_dir("text")
        self.run(["embed", "text", *texts, "--out", str(out), "--model", str(self.siglip), "--no-progress"])
        return np.load(out / "embeddings.npy")

    def florence_one(self, task: str, image: Path) -> str:
        p = self.run(["florence", task, str(image), "--model", str(self.florence), "--no-progress"])
        return p.stdout.strip()

    def florence_folder(self, task: str, folder: Path) -> dict[str, dict]:
        out = self.out_dir("florence")
        self.run(["florence", task, str(folder), "--model", str(self.florence), "--out", str(out), "--no-progress"])
        results = {}
        for line in (out / "results.jsonl").read_text().splitlines():
            rec = json.loads(line)
            results[str(Path(rec["path"]).resolve())] = rec["result"]
        return results


class Report:
    def __init__(self):
        self.passed = self.failed = 0

    def line(self, ok: bool, name: str, detail: str):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)

    def check(self, name: str, fn):
        started = time.monotonic()
        try:
            ok, detail = fn()
        except Exception as exc:  # a snippet that raised, or a CLI run that failed
            tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
            ok, detail = False, f"{type(exc).__name__}: {exc}\n    " + "    ".join(tb[-3:])
        self.line(ok, name, f"{detail} [{time.monotonic() - started:.1f} s]")


def max_diff(a, b) -> float:
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    if a.shape != b.shape:
        raise AssertionError(f"shapes differ: server {a.shape}, emb {b.shape}")
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def verify_verbatim(seeds: Path) -> list[str]:
    """Each snippet must be one of its seed document's code blocks, character for character."""
    problems = []
    for name, (prefix, code) in SNIPPETS.items():
        docs = sorted(seeds.glob(f"{prefix}_*.txt"))
        blocks = re.findall(r"```[a-z]*\n(.*?)```", docs[0].read_text(), re.S) if docs else []
        if code not in blocks:
            problems.append(f"{name} is not a verbatim code block of {prefix}_*.txt")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://localhost:8000", help="the server (default %(default)s)")
    ap.add_argument("--emb", default="node bin/run.js", help="command that runs the CLI, from the repository root (default %(default)s)")
    ap.add_argument("--siglip", default="test/fixtures/siglip-tiny", help="the SigLIP model folder the server runs (default %(default)s)")
    ap.add_argument("--florence2", default="test/fixtures/florence2-tiny", help="the Florence-2 model folder the server runs (default %(default)s)")
    ap.add_argument("--seeds", default=str(REPO.parent / "shared/reference/seeds"), help="Triton deployment's documents, to check the snippets are verbatim (skipped if absent)")
    ap.add_argument("--florence-photos", type=int, default=12, help="photos of test/fixtures/photos added to test/fixtures/images for florence2's many-images snippet (default %(default)s)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()

    url = args.url.rstrip("/")
    siglip = (REPO / args.siglip).resolve()
    florence = (REPO / args.florence2).resolve()
    vocab = json.loads((siglip / "config.json").read_text())["text_config"]["vocab_size"]
    base = f"{url}/v2/models"
    report = Report()

    seeds = Path(args.seeds)
    if seeds.is_dir():
        problems = verify_verbatim(seeds)
        report.line(not problems, "snippets are verbatim", "; ".join(problems) or f"all {len(SNIPPETS)} equal code blocks of {seeds}")
    else:
        print(f"note: {seeds} not found; not re-checking that the snippets are verbatim")

    try:
        requests.get(f"{url}/v2/health/ready", timeout=5).raise_for_status()
    except Exception as exc:
        print(f"FAIL server: {url} is not ready ({exc}); start it with: node bin/run.js serve --model siglip=test/fixtures/siglip-tiny --model florence2=test/fixtures/florence2-tiny --port 8000")
        return 1
    served = {m: requests.get(f"{base}/{m}", timeout=5).status_code == 200 for m in ["siglip_text", "siglip_vision", "embed_image", "florence2"]}
    missing = [m for m, ok in served.items() if not ok]
    if missing:
        print(f"note: the server does not serve {', '.join(missing)}; their checks will fail")

    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
    import transformers

    work = Path(tempfile.mkdtemp(prefix="seed-clients-"))
    emb = Emb(args.emb, siglip, florence, work)
    try:
        # One folder of test photos (copies, so iterdir() sees only images), minus any the CLI refuses.
        many = work / "photos"
        many.mkdir()
        for d in PHOTO_DIRS:
            for f in sorted((REPO / d).iterdir()):
                if f.is_file() and f.suffix != ".json":
                    shutil.copy2(f, many / f"{Path(d).name}__{f.name}")
        singles = [(REPO / p).resolve() for p in SINGLE_IMAGES]
        reference, _ = emb.embed_images([many, *singles])
        # Files the CLI refused (errors.jsonl) or does not take from a folder (--ext: .svg) are set
        # aside: the snippets send every file of the folder, and the server must refuse those (checked below).
        refused_paths = [p for p in sorted(many.iterdir()) if str(p.resolve()) not in reference]
        for p in refused_paths:
            p.rename(work / p.name)
        fl_dir = work / "florence-photos"
        fl_dir.mkdir()
        photos = sorted(p for p in many.iterdir() if p.name.startswith("photos__"))
        step = max(1, len(photos) // max(1, args.florence_photos))
        for p in [*sorted(p for p in many.iterdir() if p.name.startswith("images__")), *photos[::step][: args.florence_photos]]:
            shutil.copy2(p, fl_dir / p.name)
        print(f"transformers {transformers.__version__}, torch {'yes' if have_torch else 'no'}; {len(list(many.iterdir()))} photos in {many}, "
              f"{len(list(fl_dir.iterdir()))} for florence2; set aside (not embedded by the CLI): {', '.join(p.name for p in refused_paths) or 'none'}")

        def url_subs():
            return [(SEED_BASE_URL, lit(base))]

        # --- 000 siglip_text -------------------------------------------------------------------
        def siglip_text_example():
            subs = [*url_subs(), (SEED_HUB_ID, lit(str(siglip)))]
            fixed = ""
            if not have_torch:
                subs.append((FIX1_FROM, FIX1_TO))
                fixed = "; FIX-1 applied (no torch)"
            ns, _ = run_snippet(fill(SIGLIP_TEXT_EXAMPLE, subs), "siglip_text_example")
            embedding, ids = ns["embedding"], np.asarray(ns["input_ids_np"])
            out = ns["model_response"]["outputs"][0]
            assert out["name"] == "EMBEDDING" and out["datatype"] == "FP32" and out["shape"][0] == 1, out
            d_ids = max_diff(embedding, emb.embed_ids(ids)[0])
            d_text = max_diff(embedding, emb.embed_text([ns["caption"]])[0])  # also: emb's tokenizer == SiglipProcessor's
            ok = d_ids <= TOLERANCE and d_text <= TOLERANCE
            return ok, f"max|diff| {d_ids:.3g} vs `emb embed text --ids`, {d_text:.3g} vs `emb embed text CAPTION` (dim {embedding.size}){fixed}"

        def siglip_text_many():
            subs = [*url_subs(), (SEED_VOCAB, f"high={vocab}")]
            ns, printed = run_snippet(fill(SIGLIP_TEXT_MANY, subs), "siglip_text_many")
            batch, got = ns["input_ids_batch"], ns["embeddings"]
            if len(got) != len(batch):
                return False, f"{len(got)} of {len(batch)} embeddings; the snippet printed: {printed[-400:]}"
            ref = emb.embed_ids(batch)
            d = max(max_diff(got[i], ref[i]) for i in range(len(batch)))
            return d <= TOLERANCE, f"{len(got)} rows, max|diff| {d:.3g} vs `emb embed text --ids` (high=32000 -> high={vocab}, MODEL-SPECIFIC)"

        def siglip_text_many_verbatim_vocab():
            # so400m's vocabulary has 32000 ids; the tiny model's has `vocab`: the server must refuse the rest.
            try:
                run_snippet(fill(SIGLIP_TEXT_MANY, url_subs()), "siglip_text_many_32000")
            except ValueError as exc:
                r = requests.post(f"{base}/siglip_text/infer", json={"inputs": [{"name": "INPUT_IDS", "shape": [1, 64], "datatype": "INT64", "data": [31999] * 64}]})
                ok = r.status_code == 400 and "vocabulary" in r.json().get("error", "")
                return ok, f"snippet raised {str(exc)[:60]!r} as expected; the server answers {r.status_code} {r.text[:110]}"
            return vocab >= 32000, f"the snippet ran through (vocab_size {vocab})"

        report.check("000 siglip_text / Example Request", siglip_text_example)
        report.check("000 siglip_text / Sending Many Images", siglip_text_many)
        report.check("000 siglip_text / Sending Many Images, verbatim high=32000 (ids >= vocab must get a 400)", siglip_text_many_verbatim_vocab)

        # --- 003 embed_image (and 002 siglip_vision: 'requests work the same') ---------------------
        def image_single(snippet, model, var):
            def run():
                diffs = []
                for img in singles:
                    code = fill(snippet, [*url_subs(), (SEED_IMAGE, lit(str(img)))])
                    if model != "embed_image":
                        code = fill(code, [("/embed_image/infer", f"/{model}/infer")])
                    ns, _ = run_snippet(code, f"{model}_{var}")
                    diffs.append((max_diff(ns[var], reference[str(img)]), img.name))
                worst = max(diffs)
                return worst[0] <= TOLERANCE, f"{len(diffs)} images, max|diff| {worst[0]:.3g} ({worst[1]}) vs `emb embed image`"
            return run

        def image_many(model):
            def run():
                code = fill(EMBED_IMAGE_MANY, [(SEED_DIR_003, lit(str(many) + "/"))])
                if model != "embed_image":
                    code = fill(code, [("/embed_image/infer", f"/{model}/infer")])
                ns, printed = run_snippet(code, f"{model}_many", preset={"base_url": base})  # FIX-2
                got = ns["embeddings"]
                expected = sorted(str(p) for p in many.iterdir())
                if sorted(got) != expected:
                    return False, f"{len(got)} of {len(expected)} images embedded; printed: {printed[-400:]}"
                d, worst = max((max_diff(v, reference[str(Path(k).resolve())]), Path(k).name) for k, v in got.items())
                return d <= TOLERANCE, f"{len(got)} images, max|diff| {d:.3g} ({worst}) vs `emb embed image` (FIX-2: base_url preset)"
            return run

        def many_without_base_url():
            try:
                run_snippet(fill(EMBED_IMAGE_MANY, [(SEED_DIR_003, lit(str(many) + "/"))]), "embed_image_many_alone")
            except NameError as exc:
                return True, f"as printed the snippet raises NameError ({exc}): it relies on base_url from the page's first snippet (a doc issue, not the server's)"
            return True, "ran without base_url"

        def refused_inputs():
            rejected = [*(work / p.name for p in refused_paths), REPO / "test/fixtures/images/manifest.json"]
            bad = []
            for p in rejected:
                r = requests.post(f"{base}/embed_image/infer", data=p.read_bytes(), headers={"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": "0"})
                if r.status_code != 400 or "error" not in r.json():
                    bad.append(f"{p.name}: {r.status_code} {r.text[:100]}")
            return not bad, "; ".join(bad) or f"the server answers 400 with an error for the {len(rejected)} files `emb embed image` refuses or skips ({', '.join(p.name for p in rejected)})"

        report.check("003 embed_image / Raw Image", image_single(EMBED_IMAGE_RAW, "embed_image", "image_embedding_np"))
        report.check("003 embed_image / Base64 Encoded Image", image_single(EMBED_IMAGE_BASE64, "embed_image", "image_embedding"))
        report.check("003 embed_image / Sending Many Images", image_many("embed_image"))
        report.check("003 embed_image / Sending Many Images, as printed (no base_url)", many_without_base_url)
        report.check("002 siglip_vision / Raw Image (003's snippet, URL .../siglip_vision/infer)", image_single(EMBED_IMAGE_RAW, "siglip_vision", "image_embedding_np"))
        report.check("002 siglip_vision / Sending Many Images (003's snippet, URL .../siglip_vision/infer)", image_many("siglip_vision"))
        report.check("003 embed_image / inputs the CLI refuses get a 400", refused_inputs)

        # --- 004 florence2 -----------------------------------------------------------------------
        def florence_example():
            notes = []
            for img in [(REPO / p).resolve() for p in FLORENCE_SINGLE]:
                ns, _ = run_snippet(fill(FLORENCE2_EXAMPLE, [*url_subs(), (SEED_IMAGE, lit(str(img)))]), "florence2_example")
                served_text = ns["response"]["outputs"][0]["data"][0]
                cli_text = emb.florence_one(ns["task_prompt"], img)
                if ns["result"] != json.loads(cli_text) or served_text != cli_text:
                    return False, f"{img.name}: server {served_text[:200]!r} != emb florence {cli_text[:200]!r}"
                if ns["response"].get("id") != ns["inference_request"]["id"]:
                    return False, f"{img.name}: response id {ns['response'].get('id')!r} is not the request's {ns['inference_request']['id']!r}"
                notes.append(f"{img.name} {len(served_text)} chars")
            return True, f"{len(FLORENCE_SINGLE)} images, JSON identical to `emb florence \"<CAPTION>\" IMAGE`, request id echoed ({'; '.join(notes)})"

        def florence_many():
            code = fill(FLORENCE2_MANY, [*url_subs(), (SEED_DIR_004, lit(str(fl_dir) + "/"))])
            ns, printed = run_snippet(code, "florence2_many")
            got = ns["results"]
            expected = sorted(str(p) for p in fl_dir.iterdir())
            if sorted(got) != expected:
                return False, f"{len(got)} of {len(expected)} results; printed: {printed[-400:]}"
            ref = emb.florence_folder(ns["task_prompt"], fl_dir)
            differ = [Path(k).name for k, v in got.items() if v != ref[str(Path(k).resolve())]]
            nonempty = sum(1 for v in got.values() if next(iter(v.values())))
            return not differ, (f"differ for {differ}" if differ else f"{len(got)} images, every result identical to `emb florence \"<CAPTION>\" DIR` ({nonempty} non-empty captions)")

        report.check("004 florence2 / Example Request", florence_example)
        report.check("004 florence2 / Sending Many Images", florence_many)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
