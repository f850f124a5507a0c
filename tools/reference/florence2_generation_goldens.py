"""More Florence-2 generation goldens: every test image with every task, beam search and greedy,
plus runs with other generation settings, from PyTorch's generate() on the tiny fixture model.

Writes test/fixtures/goldens/florence2/generation.json. The model is rebuilt exactly as
florence2_tiny.py builds it (same seed, same order of random draws); the script checks that
against that script's goldens before writing anything.
Usage: tools/reference/.venv/bin/python tools/reference/florence2_generation_goldens.py
"""
from __future__ import annotations

import json

import torch
from transformers import GenerationConfig

from common import IMAGES_DIR, image_manifest, seed_everything, write_json
from florence2_tiny import GENERATION, GOLDEN_DIR, TASKS_WITH_TEXT, TASKS_WITHOUT_TEXT, build_model, load_processor, prompt_ids
from siglip_tiny import reference_decode

MAX_NEW_TOKENS = 24
# Settings beyond the checkpoint's own, each run on a few images: they exercise what the default
# beam search on this model does not (late EOS, length penalties, the other stopping rules).
VARIANTS = [
    {"num_beams": 1, "no_repeat_ngram_size": 3},
    {"num_beams": 3, "min_new_tokens": 24},
    {"num_beams": 4, "length_penalty": 2.0, "early_stopping": False},
    {"num_beams": 3, "length_penalty": 0.5, "early_stopping": "never"},
    {"num_beams": 5, "no_repeat_ngram_size": 2, "max_new_tokens": 40},
    {"num_beams": 2, "no_repeat_ngram_size": 0, "early_stopping": False, "max_new_tokens": 32},
]


def main() -> None:
    seed_everything()
    processor, tokenizer = load_processor()
    model = build_model()
    existing = json.loads((GOLDEN_DIR / "goldens.json").read_text())

    def run(image, task, text, settings):
        pixel_values = processor.image_processor(images=image, return_tensors="pt", input_data_format="channels_last")["pixel_values"]
        ids = prompt_ids(processor, tokenizer, image, task, text)
        with torch.no_grad():
            features = model.get_image_features(pixel_values)
            inputs_embeds = torch.cat([features, model.get_input_embeddings()(torch.tensor([ids]))], dim=1)
            mask = torch.ones(inputs_embeds.shape[:2], dtype=torch.long)
            encoded = model.get_encoder()(inputs_embeds=inputs_embeds, attention_mask=mask)
            config = GenerationConfig(**{**GENERATION, **{k: v for k, v in settings.items() if k != "max_new_tokens"}})
            sequence = model.generate(encoder_outputs=encoded, attention_mask=mask, generation_config=config,
                                      max_new_tokens=settings.get("max_new_tokens", MAX_NEW_TOKENS)).tolist()[0]
        # generate() pads finished sequences of a batch; alone, a sequence ends at its EOS.
        return ids, sequence

    # The rebuilt model must be the committed one: its generations equal florence2_tiny.py's.
    for case in existing["cases"]:
        image = reference_decode(IMAGES_DIR / case["image"])
        _, beam = run(image, case["task"], case["text"], {})
        assert beam == case["beam"]["sequence"], f"rebuilt model differs from the fixture on {case['image']}"

    tasks = [(task, None) for task in TASKS_WITHOUT_TEXT] + list(TASKS_WITH_TEXT.items())
    cases = []
    images = [entry["file"] for entry in image_manifest()]
    for i, file in enumerate(images):
        image = reference_decode(IMAGES_DIR / file)
        runs = [(task, text, {}) for task, text in tasks] + [(task, text, {"num_beams": 1, "no_repeat_ngram_size": 0}) for task, text in tasks]
        variant = VARIANTS[i % len(VARIANTS)]
        runs += [(task, text, variant) for task, text in tasks[i % 5:: 5]]
        for task, text, settings in runs:
            ids, sequence = run(image, task, text, settings)
            decoded = tokenizer.decode(sequence, skip_special_tokens=False)
            cases.append({
                "image": file, "image_size": list(image.size), "task": task, "text": text, "prompt_ids": ids,
                "settings": {"max_new_tokens": MAX_NEW_TOKENS, **settings}, "sequence": sequence, "decoded": decoded,
                "parsed": processor.post_process_generation(decoded, task=task, image_size=image.size),
            })
    lines = [json.dumps(case, separators=(",", ":")) for case in cases]
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    (GOLDEN_DIR / "generation.json").write_text(
        '{"generator": "tools/reference/florence2_generation_goldens.py", "generation": ' + json.dumps(GENERATION)
        + ', "cases": [\n' + ",\n".join(lines) + "\n]}\n", encoding="utf-8")
    print(f"{len(cases)} cases")


if __name__ == "__main__":
    main()
