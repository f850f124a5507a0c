"""Florence-2 post-processing and prompt edge cases, answered by HF's Florence2Processor.

Complements `post_processing` in goldens.json (written by florence2_tiny.py) with the corners a
reimplementation gets wrong: malformed and out-of-range <loc_N>, whitespace and non-ASCII labels,
stray tokens, every polygon layout, and the float32 arithmetic of de-quantisation (image sizes
where float64 would give other pixels). Needs only the committed tiny model's tokenizer and
processor config, so it runs without the shared reference files.

Output: test/fixtures/goldens/florence2/postprocess-extra.json
"""
from __future__ import annotations

import json
import re

from transformers import AutoTokenizer, CLIPImageProcessor, Florence2Processor

from common import FIXTURES

MODEL_DIR = FIXTURES / "florence2-tiny"
OUT = FIXTURES / "goldens" / "florence2" / "postprocess-extra.json"


def load_processor() -> Florence2Processor:
    tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR)
    # As in florence2_tiny.py: the native processor wants an image placeholder token.
    tokenizer.add_special_tokens({"additional_special_tokens": ["<image>"]}, replace_additional_special_tokens=False)
    tokenizer.image_token = "<image>"
    tokenizer.image_token_id = tokenizer.convert_tokens_to_ids("<image>")
    image_processor = CLIPImageProcessor.from_pretrained(MODEL_DIR)
    config = json.loads((MODEL_DIR / "processor_config.json").read_text())["post_processor_config"]
    return Florence2Processor(image_processor=image_processor, tokenizer=tokenizer, post_processor_config=config)


def locs(*bins) -> str:
    return "".join(f"<loc_{b}>" for b in bins)


def wrap(body: str) -> str:
    """A generation as the decoder returns it: decoder start, BOS, answer, EOS."""
    return f"</s><s>{body}</s>"


BOX = locs(52, 332, 932, 774)
QUAD = locs(10, 20, 300, 20, 300, 80, 10, 80)
SQUARE = locs(100, 200, 300, 200, 300, 400, 100, 400)


def sweep_boxes() -> str:
    """All bins 0..999 as boxes (x and y alike), to pin down the rounding at every bin."""
    return wrap("".join(locs(b, b, (b + 1) % 1000, (b + 1) % 1000) for b in range(0, 1000, 2)))


POST_PROCESSING_CASES = [  # (task, generated text, (width, height))
    # Plain text: only <s> and </s> go, then Python's strip (which keeps \ufeff, drops \x1c).
    ("<CAPTION>", "</s><s>  A car.<pad><pad></s>", (640, 480)),
    ("<DETAILED_CAPTION>", "</s><s>\x1c\x85 Caf\u00e9 \u00a0\ufeff</s>", (640, 480)),
    ("<MORE_DETAILED_CAPTION>", "</s><s>line one\nline two\n</s>", (640, 480)),
    ("<OCR>", "</s><s></s>", (640, 480)),
    ("<REGION_TO_CATEGORY>", "</s><s><s>car</s></s>", (640, 480)),
    # Boxes with labels.
    ("<OD>", wrap(f"  car  {BOX}"), (640, 480)),
    ("<OD>", wrap(BOX), (640, 480)),
    ("<OD>", wrap(f"car{locs(1, 2, 3, 4, 5, 6, 7)}dog{locs(10, 20, 30)}"), (640, 480)),
    ("<OD>", wrap(f"car<loc_><loc_-5><loc_12a><loc 12>{BOX}"), (640, 480)),
    ("<OD>", wrap(f"car<loc_0007><loc_999><loc_1000><loc_123456>"), (640, 480)),
    ("<OD>", wrap(f"car{locs(99999999999, 1, 2, 3)}"), (640, 480)),
    ("<OD>", wrap("car<loc_\u0663\u0663><loc_\U0001d7d1\U0001d7d2><loc_\u0967><loc_3>"), (640, 480)),
    ("<OD>", wrap(f"caf\u00e9 \U0001f697{BOX} \u00e9t\u00e9 car{BOX}"), (640, 480)),
    ("<OD>", wrap(f"a\nb{BOX}\nc{BOX}"), (640, 480)),
    ("<OD>", wrap(f"car<pad>{BOX}<pad>dog<s>{BOX}"), (640, 480)),
    ("<OD>", wrap(f"car<od>{BOX}</od>"), (640, 480)),
    ("<OD>", wrap(f"car{BOX}"), (1, 1)),
    ("<OD>", wrap(f"car{BOX}"), (333, 777)),
    ("<DENSE_REGION_CAPTION>", wrap(f"a green car{BOX}{locs(0, 0, 999, 999)}a road{locs(5, 6, 7, 8)}"), (2400, 200)),
    # Boxes without labels: text is ignored, labels are "".
    ("<REGION_PROPOSAL>", wrap(f"car{BOX}{locs(1, 2, 3)}"), (640, 480)),
    ("<REGION_PROPOSAL>", wrap("no boxes"), (640, 480)),
    # float64 arithmetic would move 36 x and 14 y coordinates by a pixel at this size.
    ("<REGION_PROPOSAL>", sweep_boxes(), (2800, 2080)),
    # Phrase grounding: banned phrases (exact, case-sensitive, after strip) are dropped.
    ("<CAPTION_TO_PHRASE_GROUNDING>", wrap(f" it {BOX}The{BOX}the image{BOX}a car{BOX}{locs(1, 2, 3, 4)}"), (640, 480)),
    ("<CAPTION_TO_PHRASE_GROUNDING>", wrap(f"caf\u00e9{BOX}\u00e9 car{BOX}"), (640, 480)),
    ("<CAPTION_TO_PHRASE_GROUNDING>", wrap("A green car parked in front of a yellow building."), (640, 480)),
    ("<CAPTION_TO_PHRASE_GROUNDING>", wrap(BOX), (640, 480)),
    # OCR with quadrilaterals.
    ("<OCR_WITH_REGION>", wrap(f"  HELLO  {QUAD}{locs(9)}B{QUAD}caf\u00e9{QUAD}"), (800, 600)),
    ("<OCR_WITH_REGION>", wrap(f"seven{locs(1, 2, 3, 4, 5, 6, 7)}"), (800, 600)),
    ("<OCR_WITH_REGION>", wrap(f"two\nlines{QUAD}"), (800, 600)),
    ("<OCR_WITH_REGION>", wrap(QUAD), (800, 600)),
    ("<OCR_WITH_REGION>", wrap(f"A<pad>{QUAD}"), (1, 1)),
    # Polygons (labels are always "": the unlabelled pattern never captures text).
    ("<REFERRING_EXPRESSION_SEGMENTATION>", wrap(f"a car{SQUARE}<sep>{locs(1, 2, 3, 4, 5)}<sep>{locs(9)}"), (640, 480)),
    ("<REFERRING_EXPRESSION_SEGMENTATION>", wrap(f"<poly>{SQUARE}</poly><poly>{locs(1, 2)}<sep>{locs(3, 4, 5, 6)}</poly>"), (640, 480)),
    ("<REFERRING_EXPRESSION_SEGMENTATION>", wrap(f"<poly>{SQUARE}"), (640, 480)),
    ("<REFERRING_EXPRESSION_SEGMENTATION>", wrap("<sep><sep><sep><sep>"), (640, 480)),
    ("<REFERRING_EXPRESSION_SEGMENTATION>", wrap(f"{locs(1)}<sep><sep><sep>"), (640, 480)),
    ("<REFERRING_EXPRESSION_SEGMENTATION>", wrap(f"{locs(1, 2, 3)}"), (640, 480)),
    ("<REFERRING_EXPRESSION_SEGMENTATION>", wrap("nothing"), (640, 480)),
    ("<REGION_TO_SEGMENTATION>", wrap(f"{SQUARE}\n"), (640, 480)),
    ("<REGION_TO_SEGMENTATION>", wrap(f"<poly></poly>{SQUARE}</poly>"), (640, 480)),
    ("<REGION_TO_SEGMENTATION>", wrap(f"<poly>{SQUARE}</poly>x<poly>{SQUARE}</poly>"), (2800, 1040)),
    # Open-vocabulary detection: polygons as soon as <poly> appears anywhere, boxes otherwise.
    ("<OPEN_VOCABULARY_DETECTION>", wrap(f"car<poly>{SQUARE}</poly><poly>{locs(1, 2, 3, 4)}</poly>dog{SQUARE}"), (640, 480)),
    ("<OPEN_VOCABULARY_DETECTION>", wrap(f"caf\u00e9 {SQUARE}<poly>"), (640, 480)),
    ("<OPEN_VOCABULARY_DETECTION>", wrap(f"caf\u00e9 car{BOX}{BOX}dog{BOX}"), (640, 480)),
    ("<OPEN_VOCABULARY_DETECTION>", wrap(f"{BOX}"), (640, 480)),
    ("<OPEN_VOCABULARY_DETECTION>", wrap(f"<poly>{SQUARE}</poly>"), (640, 480)),
    ("<OPEN_VOCABULARY_DETECTION>", wrap("nothing found"), (640, 480)),
]

PROMPT_CASES = [  # (task, text); text None means no text at all
    ("<OPEN_VOCABULARY_DETECTION>", "  a green car \n"),
    ("<REFERRING_EXPRESSION_SEGMENTATION>", "\u3000a {car}\u00a0"),
    ("<CAPTION_TO_PHRASE_GROUNDING>", "\ufeffA car.\x1c"),
    ("<REGION_TO_OCR>", " <loc_1><loc_2><loc_3><loc_4> "),
    ("<CAPTION>", ""),
    ("<CAPTION>", " "),
    ("<OD>", "cars"),
    ("<OCR_WITH_REGION>", "text"),
]


def compact(text: str) -> str:
    """Puts lists of numbers on one line, so box and polygon coordinates stay readable."""
    return re.sub(r"\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]", lambda m: "[" + re.sub(r",\s*", ", ", m.group(1)) + "]", text)


def main() -> None:
    processor = load_processor()
    post = []
    for task, text, size in POST_PROCESSING_CASES:
        case = {"task": task, "text": text, "image_size": list(size)}
        try:
            case["parsed"] = processor.post_process_generation(text, task=task, image_size=size)
        except (RuntimeError, ValueError) as error:
            case["error"] = f"{type(error).__name__}: {error}"
        post.append(case)
    # The one case torch cannot hold: a bin past int64.
    task, text, size = "<OD>", wrap(f"car{locs(10 ** 20, 1, 2, 3)}"), (640, 480)
    try:
        processor.post_process_generation(text, task=task, image_size=size)
        raise SystemExit("expected an overflow for a bin past int64")
    except RuntimeError as error:
        post.append({"task": task, "text": text, "image_size": list(size), "error": f"RuntimeError: {error}"})

    prompts = []
    for task, text in PROMPT_CASES:
        case = {"task": task, "text": text}
        try:
            case["prompt"] = processor._construct_prompts([task + (text or "")])[0]
        except ValueError as error:
            case["error"] = f"ValueError: {error}"
        prompts.append(case)

    # ASCII escapes keep the invisible whitespace cases visible in the file.
    OUT.write_text(compact(json.dumps({"post_processing": post, "prompts": prompts}, indent=1, ensure_ascii=True)) + "\n",
                   encoding="utf-8")
    print(f"{OUT.relative_to(FIXTURES.parent.parent)}: {len(post)} post-processing cases, {len(prompts)} prompts")


if __name__ == "__main__":
    main()
