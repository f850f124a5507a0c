"""Random-weight PyTorch checkpoints (safetensors) to prove the exporter on: tiny and full-size.

  tiny:  siglip-tiny            SiglipModel (image 384, patch 14, hidden 32), SigLIP's SentencePiece
                                tokenizer as google ships it (spiece.model, no tokenizer.json)
         siglip2-tiny           SiglipModel (image 224, patch 16) with a Gemma-style tokenizer
                                (tokenizer.model + tokenizer.json), as SigLIP 2 FixRes checkpoints ship
         siglip2-naflex-tiny    Siglip2Model (model_type siglip2; tools/reference/siglip2_naflex_tiny.py's sizes:
                                patch 16, a 16x16 position grid, hidden 32, text 64) with a Gemma-style
                                tokenizer (padding right), Siglip2ImageProcessor(max_num_patches=256)
         clip-tiny              CLIPModel (tools/reference/clip_tiny.py's sizes: image 224, patch 32, hidden 32,
                                projection 16) with a 1,000-token CLIP BPE tokenizer learnt as clip_tiny.py
                                learns it, shipped as vocab.json + merges.txt (no tokenizer.json),
                                CLIPImageProcessor's defaults
         dinov2-tiny            Dinov2Model (tools/reference/dinov2_tiny.py's sizes: image 518, patch 14,
                                hidden 32) with facebook/dinov2-small's BitImageProcessor config
         dinov2-registers-tiny  Dinov2WithRegistersModel, the same sizes and 4 register tokens
         florence2-tiny         native Florence2ForConditionalGeneration (tools/reference/florence2_tiny.py's
                                model) with the Florence-2 tokenizer
         florence2-tiny-original the same weights in Microsoft's original (remote-code) layout: config.json
                                with auto_map and a DaViT vision config, original weight names, float16,
                                the BART tokenizer without Florence-2's added tokens
  full:  siglip-so400m-patch14-384   google/siglip-so400m-patch14-384's architecture, float32
         florence2-large-original    Florence-2-large's architecture in the original layout, float16, tied
                                     output projection stored once (as a safetensors re-upload such as
                                     mrhendrey/Florence-2-large-ft-safetensors stores it)
         florence2-large             the same architecture, native layout (--only florence2-large)
         florence2-base-original     Florence-2-base's architecture, original layout (--only florence2-base-original)
         siglip2-base-patch16-naflex google/siglip2-base-patch16-naflex's architecture (Siglip2Config's defaults with
                                     a 256,000-token vocabulary and 64 text positions; 375 M parameters), float32,
                                     the tiny Gemma-style tokenizer (--only siglip2-base-patch16-naflex)

Usage: python tools/export/make_checkpoints.py {tiny|full} --out DIR [--only NAME[,NAME]]
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "reference")]

import torch  # noqa: E402
from PIL import Image  # noqa: E402
from transformers import (  # noqa: E402
    CLIPConfig,
    CLIPImageProcessor,
    CLIPModel,
    CLIPTokenizer,
    Florence2Config,
    Florence2ForConditionalGeneration,
    GenerationConfig,
    SiglipConfig,
    SiglipImageProcessor,
    Siglip2Config,
    Siglip2ImageProcessor,
    Siglip2Model,
    SiglipModel,
)

import florence2_original  # noqa: E402
from common import FIXTURES, SHARED_REFERENCE, seed_everything, write_json  # noqa: E402

FLORENCE2_TOKENIZER = SHARED_REFERENCE / "florence2-tokenizer"
BART_VOCAB = 50265

# microsoft/Florence-2-base(-ft): DaViT widths 128-1024, BART d_model 768, 6 + 6 layers.
FLORENCE2_BASE = dict(
    vision_config=dict(embed_dim=[128, 256, 512, 1024], num_heads=[4, 8, 16, 32], num_groups=[4, 8, 16, 32],
                       depths=[1, 1, 9, 1], projection_dim=768, window_size=12, drop_path_rate=0.0),
    text_config=dict(vocab_size=51289, d_model=768, encoder_layers=6, decoder_layers=6, encoder_attention_heads=12,
                     decoder_attention_heads=12, encoder_ffn_dim=3072, decoder_ffn_dim=3072, max_position_embeddings=1024,
                     bos_token_id=0, pad_token_id=1, eos_token_id=2, decoder_start_token_id=2, forced_bos_token_id=0,
                     forced_eos_token_id=2, scale_embedding=False, dropout=0.0, attention_dropout=0.0,
                     activation_dropout=0.0),
)


def siglip_image_processor(size: int, resample=Image.BICUBIC) -> SiglipImageProcessor:
    return SiglipImageProcessor(size={"height": size, "width": size}, resample=resample, image_mean=[0.5] * 3,
                                image_std=[0.5] * 3)


def florence2_image_processor() -> CLIPImageProcessor:
    processor = CLIPImageProcessor(size={"height": 768, "width": 768}, crop_size={"height": 768, "width": 768},
                                   resample=Image.BICUBIC, do_center_crop=False, image_mean=[0.485, 0.456, 0.406],
                                   image_std=[0.229, 0.224, 0.225])
    processor.image_seq_length = 577
    return processor


def siglip_tokenizer_files(out: Path) -> None:
    """google/siglip-* ship the SentencePiece model and its configs, no tokenizer.json."""
    for name in ("spiece.model", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copyfile(FIXTURES / "siglip-tiny" / name, out / name)


def gemma_tokenizer(out: Path, vocab_size: int) -> None:
    """A small SentencePiece BPE model with Gemma's special ids (pad 0, eos 1, bos 2, unk 3), padding on the right."""
    import sentencepiece as spm
    from transformers import GemmaTokenizer, GemmaTokenizerFast

    from siglip_tiny import training_corpus

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text("\n".join(training_corpus()), encoding="utf-8")
        spm.SentencePieceTrainer.train(
            input=str(corpus), model_prefix=str(Path(tmp) / "tokenizer"), vocab_size=vocab_size, model_type="bpe",
            pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>",
            unk_piece="<unk>", byte_fallback=True, character_coverage=1.0, num_threads=1, minloglevel=2)
        # google/siglip2-* pad on the right (the text head pools the last position of 64); Gemma's own default is left.
        slow = GemmaTokenizer(vocab_file=str(Path(tmp) / "tokenizer.model"), add_bos_token=False, add_eos_token=True,
                              padding_side="right")
        fast = GemmaTokenizerFast.from_pretrained(tmp, add_bos_token=False, add_eos_token=True, from_slow=True,
                                                  padding_side="right")
        slow.save_pretrained(out)
        fast.save_pretrained(out)


def naflex_tiny_config(vocab_size: int):
    """tools/reference/siglip2_naflex_tiny.py's Siglip2Config (its sizes, imported; that script builds it inside
    its main()), with Gemma's special ids (pad 0, eos 1, bos 2) as gemma_tokenizer makes them."""
    from siglip2_naflex_tiny import GRID, PATCH, TEXT_LENGTH

    return Siglip2Config(
        text_config=dict(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=TEXT_LENGTH, pad_token_id=0, eos_token_id=1,
                         bos_token_id=2),
        vision_config=dict(patch_size=PATCH, num_patches=GRID * GRID, hidden_size=32, intermediate_size=64,
                           num_hidden_layers=2, num_attention_heads=2),
    )


def clip_tokenizer(out: Path) -> tuple[int, int]:
    """CLIP's slow-tokenizer files (vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json)
    for a small BPE vocabulary learnt by tools/reference/clip_tiny.py's trainer; returns (bos, eos) ids."""
    import clip_tiny

    merges = clip_tiny.learn_merges(clip_tiny.training_corpus(), clip_tiny.VOCAB_SIZE - 512 - 2)
    with tempfile.TemporaryDirectory() as tmp:
        vocab_file, merges_file = clip_tiny.write_vocab_merges(Path(tmp), merges)
        tokenizer = CLIPTokenizer(vocab_file=str(vocab_file), merges_file=str(merges_file),
                                  model_max_length=clip_tiny.TEXT_LENGTH)
        tokenizer.save_pretrained(out)
    return tuple(tokenizer.convert_tokens_to_ids([clip_tiny.BOS, clip_tiny.EOS]))


def florence2_tokenizer_files(out: Path, with_added_tokens: bool) -> None:
    if with_added_tokens:
        for name in ("tokenizer.json", "tokenizer_config.json", "vocab.json", "special_tokens_map.json", "added_tokens.json"):
            shutil.copyfile(FLORENCE2_TOKENIZER / name, out / name)
        return
    # The original checkpoints ship BART's tokenizer; their processor adds the 1,024 Florence-2
    # tokens when it loads.
    data = json.loads((FLORENCE2_TOKENIZER / "tokenizer.json").read_text())
    data["added_tokens"] = [t for t in data["added_tokens"] if t["id"] < BART_VOCAB]
    (out / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False))
    shutil.copyfile(FLORENCE2_TOKENIZER / "vocab.json", out / "vocab.json")
    write_json(out / "tokenizer_config.json", {"model_max_length": 1024})


def save_original_florence2(model: Florence2ForConditionalGeneration, out: Path, tied: bool) -> None:
    from safetensors.torch import save_file

    original = florence2_original.original_state_dict(model.state_dict())
    if tied:
        # A safetensors save keeps one copy of tied weights.
        for key in ("language_model.lm_head.weight", "language_model.model.encoder.embed_tokens.weight",
                    "language_model.model.decoder.embed_tokens.weight"):
            original.pop(key)
    original["language_model.final_logits_bias"] = torch.zeros(1, model.config.text_config.vocab_size)
    save_file({k: v.to(torch.float16).contiguous().clone() for k, v in original.items()}, str(out / "model.safetensors"),
              metadata={"format": "pt"})
    config = florence2_original.original_config(model.config)
    if not tied:
        config["text_config"]["tie_word_embeddings"] = False
    write_json(out / "config.json", config)
    processor = florence2_image_processor().to_dict()
    processor.update({"processor_class": "Florence2Processor",
                      "auto_map": {"AutoProcessor": "processing_florence2.Florence2Processor"}})
    write_json(out / "preprocessor_config.json", processor)


def tiny(out: Path, only: set[str]) -> None:
    import florence2_tiny
    import siglip_tiny

    if not only or "siglip-tiny" in only:
        seed_everything()
        target = fresh(out / "siglip-tiny")
        SiglipModel(SiglipConfig(**siglip_tiny.TINY_CONFIG)).save_pretrained(target)
        siglip_image_processor(384).save_pretrained(target)
        siglip_tokenizer_files(target)
    if not only or "siglip2-tiny" in only:
        seed_everything()
        target = fresh(out / "siglip2-tiny")
        config = json.loads(json.dumps(siglip_tiny.TINY_CONFIG))
        config["text_config"].update(vocab_size=1000, pad_token_id=0, eos_token_id=1, bos_token_id=2)
        config["vision_config"].update(image_size=224, patch_size=16)
        SiglipModel(SiglipConfig(**config)).save_pretrained(target)
        siglip_image_processor(224, Image.BILINEAR).save_pretrained(target)
        gemma_tokenizer(target, 1000)
    if not only or "siglip2-naflex-tiny" in only:
        import siglip2_naflex_tiny

        seed_everything()
        target = fresh(out / "siglip2-naflex-tiny")
        gemma_tokenizer(target, 1000)
        Siglip2Model(naflex_tiny_config(vocab_size=1000)).save_pretrained(target)
        Siglip2ImageProcessor(max_num_patches=siglip2_naflex_tiny.PATCH_BUDGETS[0],
                              patch_size=siglip2_naflex_tiny.PATCH).save_pretrained(target)
    if not only or "clip-tiny" in only:
        import clip_tiny

        seed_everything()
        target = fresh(out / "clip-tiny")
        bos, eos = clip_tokenizer(target)
        text_config = dict(clip_tiny.TINY_CONFIG["text_config"], bos_token_id=bos, eos_token_id=eos, pad_token_id=eos)
        config = CLIPConfig(text_config=text_config, vision_config=clip_tiny.TINY_CONFIG["vision_config"],
                            projection_dim=clip_tiny.TINY_CONFIG["projection_dim"])
        CLIPModel(config).save_pretrained(target)
        CLIPImageProcessor().save_pretrained(target)
    for name, variant in (("dinov2-tiny", "plain"), ("dinov2-registers-tiny", "registers")):
        if not only or name in only:
            import dinov2_tiny

            seed_everything()
            target = fresh(out / name)
            _, config_class, model_class, extra, _ = dinov2_tiny.VARIANTS[variant]
            model_class(config_class(**dinov2_tiny.SIZES, **extra)).save_pretrained(target)
            dinov2_tiny.processor().save_pretrained(target)
    if not only or "florence2-tiny" in only:
        seed_everything()
        target = fresh(out / "florence2-tiny")
        model = florence2_tiny.build_model()
        model.save_pretrained(target)
        GenerationConfig(**florence2_tiny.GENERATION).save_pretrained(target)
        florence2_image_processor().save_pretrained(target)
        florence2_tokenizer_files(target, with_added_tokens=True)
        write_json(target / "processor_config.json", {"processor_class": "Florence2Processor",
                                                       "post_processor_config": florence2_tiny.POST_PROCESSOR_CONFIG})
    if not only or "florence2-tiny-original" in only:
        seed_everything()
        target = fresh(out / "florence2-tiny-original")
        model = florence2_tiny.build_model()
        save_original_florence2(model, target, tied=False)
        GenerationConfig(**florence2_tiny.GENERATION).save_pretrained(target)
        florence2_tokenizer_files(target, with_added_tokens=False)


def full(out: Path, only: set[str]) -> None:
    import florence2_tiny
    from export_full import FLORENCE2_LARGE, SO400M

    if not only or "siglip-so400m-patch14-384" in only:
        seed_everything()
        target = fresh(out / "siglip-so400m-patch14-384")
        SiglipModel(SiglipConfig(**SO400M)).save_pretrained(target)
        siglip_image_processor(384).save_pretrained(target)
        # The tiny tokenizer's ids (< 1,000) are valid for the 32,000-token vocabulary.
        siglip_tokenizer_files(target)
    if "siglip2-base-patch16-naflex" in only:
        seed_everything()
        target = fresh(out / "siglip2-base-patch16-naflex")
        gemma_tokenizer(target, 1000)  # its ids (< 1,000) are valid for the 256,000-token vocabulary
        config = Siglip2Config(text_config=dict(vocab_size=256000, max_position_embeddings=64, pad_token_id=0,
                                                eos_token_id=1, bos_token_id=2),
                               vision_config=dict(patch_size=16, num_patches=256))
        Siglip2Model(config).save_pretrained(target)
        Siglip2ImageProcessor().save_pretrained(target)
    for name, layout, architecture in (("florence2-large-original", "original", FLORENCE2_LARGE),
                                       ("florence2-large", "native", FLORENCE2_LARGE),
                                       ("florence2-base-original", "original", FLORENCE2_BASE)):
        if (only and name not in only) or (not only and name != "florence2-large-original"):
            continue
        seed_everything()
        target = fresh(out / name)
        model = Florence2ForConditionalGeneration(Florence2Config(**architecture))
        if layout == "original":
            save_original_florence2(model, target, tied=True)
            florence2_tokenizer_files(target, with_added_tokens=False)
        else:
            model.save_pretrained(target)
            florence2_image_processor().save_pretrained(target)
            florence2_tokenizer_files(target, with_added_tokens=True)
        GenerationConfig(**florence2_tiny.GENERATION).save_pretrained(target)


def fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("size", choices=("tiny", "full"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--only", default="", help="comma-separated checkpoint names")
    args = parser.parse_args()
    only = {n.strip() for n in args.only.split(",") if n.strip()}
    torch.set_grad_enabled(False)
    (tiny if args.size == "tiny" else full)(args.out, only)
    for path in sorted(args.out.iterdir()):
        if path.is_dir() and (not only or path.name in only):
            size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
            print(f"{path}: {size / 1e6:.1f} MB ({', '.join(sorted(p.name for p in path.iterdir()))})")


if __name__ == "__main__":
    main()
