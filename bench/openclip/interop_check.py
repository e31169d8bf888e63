"""OpenCLIP's side of flipflow's OpenCLIP equivalence tests (issue 16).

flipflow's Java tests call this with the venv's interpreter; it never downloads anything
(HF_HUB_OFFLINE=1). Commands, each printing progress to stderr and writing one JSON file:

  embed --model DIR --images DIR --captions FILE --out FILE [--variant NAME=SPEC ...]
      Loads DIR with open_clip.create_model_and_transforms('local-dir:DIR') and
      open_clip.get_tokenizer('local-dir:DIR'), as a user would, and embeds every *.png of
      --images (sorted by name; through the model's own preprocess) and every line of --captions.
      Writes {"tokens": [[...]], "pixel_sums": [[sum, sum_sq]], "logit_scale": s,
      "variants": {NAME: {"image": [[...]], "text": [[...]], "logits": [[...]]}}}, embeddings
      L2-normalised, logits = exp(logit_scale) * image @ text.T. The variant "base" is the model as
      loaded; SPEC makes a deliberately broken copy, so the caller can prove its comparison catches
      such faults: "transpose:KEY" (a square weight of the state dict transposed) or
      "drop:MODULE" (a LayerNorm module, e.g. visual.ln_post, replaced by identity).

  make-random --out DIR --config FILE --tokenizer-dir DIR [--seed N]
      A randomly initialised OpenCLIP CLIP from the model_cfg in --config (every LayerNorm gain and
      every bias perturbed too, so that none is the identity), saved as a local-dir model:
      open_clip_config.json, open_clip_model.safetensors (safetensors.torch.save_file of its state
      dict) and the tokenizer files copied from --tokenizer-dir.

  metrics --embeddings FILE --out FILE
      clip_benchmark's own zero-shot classification metrics (its accuracy() and sklearn's
      balanced_accuracy_score, as clip_benchmark.metrics.zeroshot_classification.evaluate applies
      them) on embeddings computed elsewhere: {"image": [[...]], "classes": [[...]], "labels": [...]}.
"""
import argparse
import json
import os
import shutil
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def embed(args):
    import torch
    import torch.nn as nn
    import open_clip
    from PIL import Image

    torch.set_num_threads(int(os.environ.get("FLIPFLOW_THREADS", "2")))
    name = "local-dir:" + args.model
    model, _, preprocess = open_clip.create_model_and_transforms(name)
    tokenizer = open_clip.get_tokenizer(name)
    model.eval()
    files = sorted(f for f in os.listdir(args.images) if f.endswith(".png"))
    images = torch.stack([preprocess(Image.open(os.path.join(args.images, f))) for f in files])
    with open(args.captions, encoding="utf-8") as f:
        captions = [line.rstrip("\n") for line in f]
    tokens = tokenizer(captions)
    out = {
        "files": files,
        "tokens": tokens.tolist(),
        "pixel_sums": [[float(x.double().sum()), float((x.double() ** 2).sum())] for x in images],
        "logit_scale": float(model.logit_scale.detach()),
        "variants": {},
    }
    base_state = {k: v.clone() for k, v in model.state_dict().items()}
    for variant in ["base=base"] + (args.variant or []):
        label, spec = variant.split("=", 1)
        m, _, _ = open_clip.create_model_and_transforms(name)
        m.eval()
        if spec.startswith("transpose:"):
            key = spec.split(":", 1)[1]
            state = dict(base_state)
            w = state[key]
            assert w.ndim == 2 and w.shape[0] == w.shape[1], f"{key} {tuple(w.shape)} is not square"
            state[key] = w.t().contiguous()
            m.load_state_dict(state)
        elif spec.startswith("drop:"):
            path = spec.split(":", 1)[1].split(".")
            parent = m
            for p in path[:-1]:
                parent = getattr(parent, p)
            assert isinstance(getattr(parent, path[-1]), nn.LayerNorm), f"{spec} is not a LayerNorm"
            setattr(parent, path[-1], nn.Identity())
        elif spec != "base":
            raise SystemExit(f"unknown variant {spec}")
        with torch.no_grad():
            img = m.encode_image(images, normalize=True)
            txt = m.encode_text(tokens, normalize=True)
            logits = m.logit_scale.exp() * img @ txt.t()
        out["variants"][label] = {"image": img.tolist(), "text": txt.tolist(), "logits": logits.tolist()}
        log(f"{label}: {len(files)} images, {len(captions)} captions")
    with open(args.out, "w") as f:
        json.dump(out, f)


def make_random(args):
    import torch
    import torch.nn as nn
    import open_clip
    from safetensors.torch import save_file

    torch.manual_seed(args.seed)
    with open(args.config) as f:
        config = json.load(f)
    model_cfg = config.get("model_cfg", config)
    model = open_clip.CLIP(**model_cfg)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.LayerNorm):
                module.weight.add_(0.2 * torch.randn_like(module.weight))
                module.bias.add_(0.1 * torch.randn_like(module.bias))
        for n, p in model.named_parameters():
            if n.endswith("bias") and p.requires_grad:
                p.add_(0.05 * torch.randn_like(p))
        model.logit_scale.fill_(2.5)
    os.makedirs(args.out, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(args.out, "open_clip_model.safetensors"))
    with open(os.path.join(args.out, "open_clip_config.json"), "w") as f:
        json.dump({"model_cfg": model_cfg, "preprocess_cfg": config.get("preprocess_cfg", {})}, f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(os.path.join(args.tokenizer_dir, name), os.path.join(args.out, name))
    log(f"random OpenCLIP model: {sum(p.numel() for p in model.parameters())} parameters, keys {len(state)}")


def metrics(args):
    import torch
    from sklearn.metrics import balanced_accuracy_score
    from clip_benchmark.metrics.zeroshot_classification import accuracy

    with open(args.embeddings) as f:
        e = json.load(f)
    image = torch.tensor(e["image"], dtype=torch.float32)
    classes = torch.tensor(e["classes"], dtype=torch.float32).t()
    target = torch.tensor(e["labels"])
    logits = 100.0 * image @ classes
    pred = logits.argmax(axis=1)
    acc1, acc5 = accuracy(logits, target, topk=(1, 5))
    out = {"acc1": acc1, "acc5": acc5, "mean_per_class_recall": float(balanced_accuracy_score(target, pred))}
    with open(args.out, "w") as f:
        json.dump(out, f)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("embed")
    e.add_argument("--model", required=True)
    e.add_argument("--images", required=True)
    e.add_argument("--captions", required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--variant", action="append")
    r = sub.add_parser("make-random")
    r.add_argument("--out", required=True)
    r.add_argument("--config", required=True)
    r.add_argument("--tokenizer-dir", required=True)
    r.add_argument("--seed", type=int, default=0)
    m = sub.add_parser("metrics")
    m.add_argument("--embeddings", required=True)
    m.add_argument("--out", required=True)
    args = p.parse_args()
    {"embed": embed, "make-random": make_random, "metrics": metrics}[args.command](args)


if __name__ == "__main__":
    main()
