"""Peer benchmark: train OpenCLIP's CLIP (ViT + text transformer) with FLIP masking on CPU and time it.

flipflow is Java; this script exists only so `flipflow bench openclip` can compare flipflow's training
throughput with OpenCLIP's, the tool a user would otherwise pick, on the same model shape, batch, threads,
mask ratio and data. FLIP's masking is OpenCLIP's `patch_dropout` (Li et al. 2022 cite it as such).

Every shape comes from flags so the Java side can pass its preset. Progress goes to stderr; stdout gets
exactly one JSON line at the end, for the caller to parse.
"""

import os

# No network at run time: no pretrained weights, no hub look-ups. Set before open_clip imports the hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import glob
import json
import math
import re
import resource
import statistics
import sys
import time
import zlib

import open_clip
import torch
from open_clip.loss import ClipLoss
from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

PAD_ID = 0
SOT_ID = 1
FIRST_WORD_ID = 2  # word ids are FIRST_WORD_ID .. vocab-2; vocab-1 is end-of-text


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    run = p.add_argument_group("run")
    run.add_argument("--mask-ratio", type=float, default=0.5, help="FLIP mask ratio = OpenCLIP patch_dropout, in [0, 1)")
    run.add_argument("--batch", type=int, default=128)
    run.add_argument("--steps", type=int, default=20, help="total steps, warmup included")
    run.add_argument("--warmup", type=int, default=3, help="first steps left out of the timing")
    run.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    run.add_argument("--interop-threads", type=int, default=1)
    run.add_argument("--seed", type=int, default=0)
    data = run.add_mutually_exclusive_group(required=True)
    data.add_argument("--synthetic", action="store_true", help="random images and token ids")
    data.add_argument("--data", help="img2dataset WebDataset shards: a folder of *.tar, a file, or a brace pattern")

    vis = p.add_argument_group("vision tower (flipflow's tiny preset by default)")
    vis.add_argument("--image-size", type=int, default=64)
    vis.add_argument("--patch", type=int, default=8)
    vis.add_argument("--vision-width", type=int, default=192)
    vis.add_argument("--vision-layers", type=int, default=6)
    vis.add_argument("--vision-heads", type=int, default=3)
    vis.add_argument("--mlp-ratio", type=float, default=4.0, help="both towers")

    txt = p.add_argument_group("text tower")
    txt.add_argument("--context-length", type=int, default=32)
    txt.add_argument("--vocab-size", type=int, default=1000)
    txt.add_argument("--text-width", type=int, default=192)
    txt.add_argument("--text-layers", type=int, default=4)
    txt.add_argument("--text-heads", type=int, default=3)
    txt.add_argument("--embed-dim", type=int, default=128)

    opt = p.add_argument_group("optimiser (OpenCLIP's AdamW defaults for ViTs)")
    opt.add_argument("--lr", type=float, default=5e-4)
    opt.add_argument("--wd", type=float, default=0.2)
    opt.add_argument("--beta1", type=float, default=0.9)
    opt.add_argument("--beta2", type=float, default=0.98)
    opt.add_argument("--eps", type=float, default=1e-6)

    a = p.parse_args(argv)
    check = lambda ok, msg: ok or p.error(msg)  # noqa: E731  argparse names the flag and exits 2
    check(0.0 <= a.mask_ratio < 1.0, f"--mask-ratio must be in [0, 1), got {a.mask_ratio}")
    for name in ("batch", "steps", "threads", "interop_threads", "image_size", "patch", "vision_width",
                 "vision_layers", "vision_heads", "context_length", "text_width", "text_layers", "text_heads",
                 "embed_dim"):
        check(getattr(a, name) > 0, f"--{name.replace('_', '-')} must be positive, got {getattr(a, name)}")
    check(a.batch >= 2, f"--batch must be at least 2 for a contrastive loss, got {a.batch}")
    check(0 <= a.warmup < a.steps, f"--warmup must be in [0, --steps), got {a.warmup} with --steps {a.steps}")
    check(a.image_size % a.patch == 0, f"--image-size {a.image_size} is not divisible by --patch {a.patch}")
    check(a.vision_width % a.vision_heads == 0,
          f"--vision-width {a.vision_width} is not divisible by --vision-heads {a.vision_heads}")
    check(a.text_width % a.text_heads == 0,
          f"--text-width {a.text_width} is not divisible by --text-heads {a.text_heads}")
    check(a.vocab_size >= 4, f"--vocab-size must be at least 4 (pad, start, end, one word), got {a.vocab_size}")
    check(a.context_length >= 3, f"--context-length must be at least 3, got {a.context_length}")
    check(a.lr > 0, f"--lr must be positive, got {a.lr}")
    return a


def build_model(a):
    """OpenCLIP's own CLIP class with a custom config; randomly initialised, nothing downloaded."""
    vision = CLIPVisionCfg(
        layers=a.vision_layers,
        width=a.vision_width,
        head_width=a.vision_width // a.vision_heads,
        mlp_ratio=a.mlp_ratio,
        patch_size=a.patch,
        image_size=a.image_size,
        patch_dropout=a.mask_ratio,
        # FLIP pools by global average. OpenCLIP's ViT always has a class token (no option to drop it);
        # with 'avg' the token is excluded from the pool and kept by patch dropout, so the encoder sees
        # one token more than flipflow's (65/33/17 instead of 64/32/16 at the tiny preset).
        pool_type="avg",
    )
    text = CLIPTextCfg(
        context_length=a.context_length,
        vocab_size=a.vocab_size,
        width=a.text_width,
        heads=a.text_heads,
        layers=a.text_layers,
        mlp_ratio=a.mlp_ratio,
        pool_type="argmax",  # CLIP's end-of-text pooling: end-of-text has the highest id (vocab-1)
    )
    return CLIP(embed_dim=a.embed_dim, vision_cfg=vision, text_cfg=text, output_dict=True)


def adamw(model, a):
    """OpenCLIP's training/main.py grouping: no weight decay on gains, biases, embeddings' 1-D params."""
    exclude = lambda n, p: p.ndim < 2 or "bn" in n or "ln" in n or "bias" in n or "logit_scale" in n  # noqa: E731
    decay = [p for n, p in model.named_parameters() if not exclude(n, p) and p.requires_grad]
    no_decay = [p for n, p in model.named_parameters() if exclude(n, p) and p.requires_grad]
    return torch.optim.AdamW(
        [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": a.wd}],
        lr=a.lr, betas=(a.beta1, a.beta2), eps=a.eps)


class HashTokenizer:
    """Words -> ids by a stable hash into the vocabulary, so no tokenizer file is downloaded.

    Hand-written on purpose: the benchmark measures training speed, and any fixed-length id sequence with
    CLIP's layout (start, words, end-of-text, padding) costs the model the same.
    """

    def __init__(self, vocab_size, context_length):
        self.vocab_size = vocab_size
        self.context_length = context_length
        self.eot_id = vocab_size - 1

    def word_id(self, word):
        return FIRST_WORD_ID + zlib.crc32(word.encode("utf-8")) % (self.vocab_size - 3)

    def __call__(self, caption):
        words = re.findall(r"\w+", caption.lower())[: self.context_length - 2]
        ids = [SOT_ID] + [self.word_id(w) for w in words] + [self.eot_id]
        return torch.tensor(ids + [PAD_ID] * (self.context_length - len(ids)), dtype=torch.long)


def synthetic_batches(a, count, gen):
    """Random images and captions of random length; made before timing so only training is timed."""
    tok = HashTokenizer(a.vocab_size, a.context_length)
    batches = []
    for _ in range(count):
        images = torch.randn(a.batch, 3, a.image_size, a.image_size, generator=gen)
        texts = torch.full((a.batch, a.context_length), PAD_ID, dtype=torch.long)
        lengths = torch.randint(1, a.context_length - 1, (a.batch,), generator=gen)
        for i, n in enumerate(lengths.tolist()):
            texts[i, 0] = SOT_ID
            texts[i, 1:n + 1] = torch.randint(FIRST_WORD_ID, tok.eot_id, (n,), generator=gen)
            texts[i, n + 1] = tok.eot_id
        batches.append((images, texts))
    return batches


def shard_urls(spec):
    if os.path.isdir(spec):
        urls = sorted(glob.glob(os.path.join(spec, "*.tar")))
        if not urls:
            raise SystemExit(f"--data {spec}: folder holds no *.tar shard")
        return urls
    if "{" not in spec and not os.path.isfile(spec):
        raise SystemExit(f"--data {spec}: no such file or folder")
    return spec  # a file, or a brace pattern that webdataset expands


def to_rgb_on_white(image):
    """Emoji PNGs are RGBA: composite on white instead of letting convert('RGB') turn clear to black."""
    from PIL import Image

    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        canvas = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(canvas, image).convert("RGB")
    return image.convert("RGB")


def shard_batches(a, count):
    """Decode img2dataset shards (<key>.png|jpg|webp + <key>.txt) into `count` batches, cycling the shards.

    Decoding happens before the timed loop, so step times measure training alone, like the synthetic path;
    the decode rate is reported separately.
    """
    import webdataset as wds

    tok = HashTokenizer(a.vocab_size, a.context_length)
    preprocess = open_clip.image_transform(a.image_size, is_train=False)  # resize, centre crop, normalise
    need = count * a.batch
    images, texts = [], []
    start = time.perf_counter()
    while len(images) < need:
        before = len(images)
        dataset = wds.WebDataset(shard_urls(a.data), shardshuffle=False) \
            .decode("pil").to_tuple("png;jpg;jpeg;webp", "txt")
        for image, caption in dataset:
            images.append(preprocess(to_rgb_on_white(image)))
            texts.append(tok(caption))
            if len(images) == need:
                break
        if len(images) == before:
            raise SystemExit(f"--data {a.data}: no sample with an image (png/jpg/webp) and a .txt caption")
    seconds = time.perf_counter() - start
    batches = [(torch.stack(images[i:i + a.batch]), torch.stack(texts[i:i + a.batch]))
               for i in range(0, need, a.batch)]
    return batches, need / seconds


def main(argv=None):
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(a.interop_threads)
    torch.manual_seed(a.seed)

    model = build_model(a)
    model.train()
    optimizer = adamw(model, a)
    loss_fn = ClipLoss()
    params = sum(p.numel() for p in model.parameters())

    # What the vision encoder really sees, read off its input once, so the JSON proves the masking.
    seen = {}

    def record_vision_tokens(_module, args):
        seen.setdefault("vision_tokens", args[0].shape[1])  # (batch, tokens, width); returns None: no change

    model.visual.transformer.register_forward_pre_hook(record_vision_tokens)

    if a.synthetic:
        gen = torch.Generator().manual_seed(a.seed)
        batches, decode_rate = synthetic_batches(a, min(a.steps, 4), gen), None
    else:
        batches, decode_rate = shard_batches(a, a.steps)
        log(f"decoded {a.steps * a.batch} samples at {decode_rate:.0f} samples/s")
    log(f"OpenCLIP CLIP, {params / 1e6:.2f} M parameters, mask {a.mask_ratio}, batch {a.batch}, "
        f"threads {a.threads}, {a.steps} steps ({a.warmup} warmup)")

    times, losses = [], []
    phases = {"forward": [], "backward": [], "optimizer": []}  # the same split flipflow reports
    for step in range(a.steps):
        images, texts = batches[step % len(batches)]
        start = time.perf_counter()
        out = model(images, texts)
        loss = loss_fn(out["image_features"], out["text_features"], out["logit_scale"])
        forward_done = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        losses.append(loss.item())
        backward_done = time.perf_counter()
        optimizer.step()
        with torch.no_grad():  # CLIP/FLIP clamp the learnable temperature at 100 (OpenCLIP's main.py)
            model.logit_scale.clamp_(0, math.log(100))
        end = time.perf_counter()
        times.append(end - start)
        phases["forward"].append(forward_done - start)
        phases["backward"].append(backward_done - forward_done)
        phases["optimizer"].append(end - backward_done)
        if not math.isfinite(losses[-1]):
            raise SystemExit(f"loss is {losses[-1]} at step {step}")
        log(f"step {step:3d}  loss {losses[-1]:.4f}  {times[-1]:.3f} s")

    timed = times[a.warmup:]
    median = statistics.median(timed)
    result = {
        "impl": "openclip",
        "mask_ratio": a.mask_ratio,
        "batch": a.batch,
        "threads": a.threads,
        "steps": a.steps,
        "median_step_s": round(median, 5),
        "samples_per_s": round(a.batch / median, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "torch": torch.__version__,
        "open_clip": open_clip.__version__,
        "warmup": a.warmup,
        "timed_steps": len(timed),
        "min_step_s": round(min(timed), 5),
        **{f"median_{k}_s": round(statistics.median(v[a.warmup:]), 5) for k, v in phases.items()},
        "vision_tokens": seen.get("vision_tokens"),
        "params": params,
        "data": "synthetic" if a.synthetic else "webdataset",
        "decode_samples_per_s": None if decode_rate is None else round(decode_rate, 1),
        "first_loss": round(losses[0], 4),
        "last_loss": round(losses[-1], 4),
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
