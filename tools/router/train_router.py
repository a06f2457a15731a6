#!/usr/bin/env python3
"""Trains a Flux-family Layer Router for a frozen HF Llama/Qwen3 model (ALGORITHMS.md §5–6, the authors' recipe)
and exports our router format (family "flux").

  python3 tools/router/train_router.py --model /root/smol-hf --out router.safetensors [--steps 600] [--seed 0]

What it does:
1. Generates procedural tasks (router_tasks.py): "needle" (sparsity-sensitive) and "robust" (sparsity-tolerant)
   types, the held-out template families and filler style left out.
2. Runs the frozen model with full attention (HF generate) to get its own answer to each prompt; keeps the prompts it
   answers correctly, drawing candidates until --train-kept / --eval-needle / --eval-robust are kept. The router is
   trained to keep THAT output (cross-entropy on the FA answer tokens) while sending as many layers to SA as the task
   type allows. `--prepare DATA.json` does this step (and the layer ranking of 4) once for several variants, which
   then train with `--data DATA.json` (tools/router/train_on_gpu.sh).
3. Replaces every attention forward with: the router's two logits from the ctx_q-pooled pre-RoPE queries (mean over
   query heads) → Gumbel-softmax with a straight-through one-hot, the FA component r_FA → output =
   r_FA·FA + (1 − r_FA)·SA, SA = streaming in its 128-token block form (the engine's definition). τ: cosine 1.5 → 1.0
   over the first 60 % of the steps. Loss = CE + λ1[type]·|Ω − t| + λ2[type]·(Ω − t)² with Ω the SA fraction and t
   the type's target; the λ pairs (one per task type) are maximised by AdamW (lr 1e-3), as the authors' trainer does.
   One prompt per step, needle and robust in turn.
   Only the router trains: the base model stays frozen (the authors' default also trains q/k/v; we do not).
4. Ranks the layers by the loss of sending that one layer to SA on the training split (the "best fixed set"
   baseline: route files for every SA count), evaluates the validation tasks under all-FA, all-SA, the router's hard
   decisions and the best fixed set with the router's needle SA share (teacher-forced exact match of the FA answer =
   what greedy decoding would produce), exports the router and a JSON log.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import router_tasks  # noqa: E402
from router_model import Router, pool_queries  # noqa: E402


def streaming_block_mask(n, sink, window, block, device):
    """Engine's block-form streaming mask: key block kb visible to query block qb iff kb < ceil(sink/B) or
    qb − kb < ceil(window/B), causal at token level."""
    sink_blocks, local_blocks = math.ceil(sink / block), math.ceil(window / block)
    i = torch.arange(n, device=device)
    qb, kb = (i // block)[:, None], (i // block)[None, :]
    return (i[None, :] <= i[:, None]) & ((kb < sink_blocks) | (qb - kb < local_blocks))


class RoutedAttention:
    """Shared state of all patched attention layers for one forward pass."""

    def __init__(self, router, sink, window, block, pool_size):
        self.router, self.sink, self.window, self.block, self.pool_size = router, sink, window, block, pool_size
        # train | fa | sa | hard | stats (fa, recording pooled queries) | fixed (the layers in `fixed_layers` SA,
        # the rest FA: one layer for the ranking, the best fixed set for the validation baseline)
        self.mode = "train"
        self.fixed_layers = set()
        self.pooled = []
        self.n_prompt = 0
        self.tau = 1.0
        self.r = []       # per layer r = the SA weight 1 − r_FA (train: straight-through), in layer order
        self.probs = []   # per layer P(FA) = softmax(logits)[1]
        self._mask = None

    def sa_mask(self, n, device):
        if self._mask is None or self._mask.shape[0] != n:
            self._mask = streaming_block_mask(n, self.sink, self.window, self.block, device)
        return self._mask

    def decide(self, layer, queries_pre_rope):
        """queries_pre_rope [n, Hq, d] → the SA mixing weight r (tensor scalar) of this layer."""
        pooled = pool_queries(queries_pre_rope, self.n_prompt, self.pool_size)
        if self.mode == "stats":
            self.pooled.append(pooled.detach())
        logits = self.router.layers[layer](pooled)  # [2]; index 1 = FA (the authors' "retrieval" side)
        self.probs.append(torch.softmax(logits.detach().float(), -1)[1])
        one = torch.ones((), device=logits.device)
        if self.mode in ("fa", "stats"):
            r = 0 * one
        elif self.mode == "sa":
            r = one
        elif self.mode == "fixed":
            r = one if layer in self.fixed_layers else 0 * one
        elif self.mode == "hard":  # the engine's rule: FA iff logit1 > logit0 (ties → SA)
            r = (logits[1] <= logits[0]).float()
        else:  # Gumbel-softmax, straight-through one-hot; the FA component r_FA, as the authors' router
            u = torch.rand_like(logits)
            g = -torch.log(-torch.log(u + 1e-8) + 1e-8)
            soft = torch.softmax((logits + g) / self.tau, -1)
            hard = torch.zeros_like(soft).scatter_(-1, soft.argmax(-1, keepdim=True), 1.0)
            r_fa = (hard + soft - soft.detach())[1]
            r = 1 - r_fa
        self.r.append(r)
        return r


def patch_attention(model, state):
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    for layer_idx, layer in enumerate(model.model.layers):
        attn = layer.self_attn

        def forward(hidden_states, position_embeddings=None, attention_mask=None, _attn=attn, _idx=layer_idx,
                    **_kwargs):
            b, n, _ = hidden_states.shape
            cfg = model.config
            d = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
            hq, hkv = cfg.num_attention_heads, cfg.num_key_value_heads
            q = _attn.q_proj(hidden_states).view(b, n, hq, d)
            k = _attn.k_proj(hidden_states).view(b, n, hkv, d)
            v = _attn.v_proj(hidden_states).view(b, n, hkv, d)
            if hasattr(_attn, "q_norm"):  # Qwen3 QK-norm, before RoPE (the router reads normed queries)
                q, k = _attn.q_norm(q), _attn.k_norm(k)
            r = state.decide(_idx, q[0])
            q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
            cos, sin = position_embeddings
            q, k = apply_rotary_pos_emb(q, k, cos, sin)
            k = k.repeat_interleave(hq // hkv, dim=1)
            v = v.repeat_interleave(hq // hkv, dim=1)
            # Training mixes both outputs (the gradient reaches the router through r); fixed modes compute one.
            mixed = state.mode in ("train", "hard")
            use_sa = state.mode == "sa" or (state.mode == "fixed" and _idx in state.fixed_layers)
            fa = F.scaled_dot_product_attention(q, k, v, is_causal=True) if mixed or not use_sa else None
            sa = (F.scaled_dot_product_attention(q, k, v, attn_mask=state.sa_mask(n, q.device))
                  if mixed or use_sa else None)
            o = r.to(q.dtype) * sa + (1 - r).to(q.dtype) * fa if mixed else (sa if use_sa else fa)
            o = o.transpose(1, 2).reshape(b, n, hq * d)
            return _attn.o_proj(o), None

        attn.forward = forward


def encode(tok, task, answer_text=None):
    ids = tok.apply_chat_template(task["messages"], add_generation_prompt=True, tokenize=True)
    if isinstance(ids, dict) or hasattr(ids, "input_ids"):
        ids = ids["input_ids"]
    ids = list(ids)
    ans = tok(answer_text, add_special_tokens=False)["input_ids"] if answer_text is not None else []
    return ids, ans


@torch.no_grad()
def fa_answers(model, tok, tasks, max_new, device, log, batch=8):
    """The frozen model's own greedy answer under its stock (full) attention; keeps tasks it gets right.
    Prompts of similar length are generated together (left padding): one by one, HF generate's per-token overhead
    made this phase longer than the training itself on the GPU."""
    t0 = time.time()
    for t in tasks:
        t["prompt_ids"], _ = encode(tok, t)
    order = sorted(range(len(tasks)), key=lambda i: len(tasks[i]["prompt_ids"]))
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    for at in range(0, len(order), batch):
        group = [tasks[i] for i in order[at:at + batch]]
        width = max(len(t["prompt_ids"]) for t in group)
        x = torch.full((len(group), width), pad, dtype=torch.long)
        mask = torch.zeros((len(group), width), dtype=torch.long)
        for row, t in enumerate(group):
            x[row, width - len(t["prompt_ids"]):] = torch.tensor(t["prompt_ids"])
            mask[row, width - len(t["prompt_ids"]):] = 1
        out = model.generate(x.to(device), attention_mask=mask.to(device), max_new_tokens=max_new, do_sample=False,
                             pad_token_id=pad)
        for row, t in enumerate(group):
            gen = out[row, width:].tolist()
            if tok.eos_token_id in gen:
                gen = gen[:gen.index(tok.eos_token_id) + 1]
            text = tok.decode(gen, skip_special_tokens=True)
            t["fa_text"], t["fa_ids"] = text, gen
            t["fa_correct"] = router_tasks.is_correct(t, text)
            t["answer_tokens"] = answer_token_positions(tok, gen, router_tasks.task_answers(t))
    kept = [t for t in tasks if t["fa_correct"]]
    by_task = {}
    for t in tasks:
        ok, n = by_task.get(t["task"], (0, 0))
        by_task[t["task"]] = (ok + t["fa_correct"], n + 1)
    log(f"FA answers: {len(kept)}/{len(tasks)} correct in {time.time() - t0:.0f}s ("
        + ", ".join(f"{k} {ok}/{n}" for k, (ok, n) in sorted(by_task.items())) + ")")
    for t in [t for t in tasks if not t["fa_correct"]][:3]:
        log(f"  missed {t['task']} ({len(t['prompt_ids'])} tokens): {t['fa_text'][:70]!r}, want {t['answer']!r}")
    return kept


def answer_token_positions(tok, gen, answers):
    """Indices of the generated tokens that spell the answers (the loss and the metric look only at these, so a
    rephrased but correct reply costs nothing); all tokens when an answer is not found."""
    text, spans = "", []
    for i in range(len(gen)):
        piece = tok.decode(gen[:i + 1], skip_special_tokens=True)
        spans.append((len(text), len(piece)))
        text = piece
    picked = set()
    for answer in answers:
        at = text.lower().find(answer.lower())
        if at < 0:
            return list(range(len(gen)))
        end = at + len(answer)
        picked.update(i for i, (b, e) in enumerate(spans) if e > at and b < end)
    return sorted(picked) or list(range(len(gen)))


def forward_loss(model, state, t, device):
    ids = t["prompt_ids"] + t["fa_ids"]
    x = torch.tensor([ids], device=device)
    state.n_prompt = len(t["prompt_ids"])
    state.r, state.probs = [], []
    logits = model(x).logits[0, len(t["prompt_ids"]) - 1:-1].float()
    pos = torch.tensor(t["answer_tokens"], device=device)
    target = torch.tensor(t["fa_ids"], device=device)[pos]
    logits = logits[pos]
    ce = F.cross_entropy(logits, target)
    exact = bool((logits.argmax(-1) == target).all())
    return ce, exact


@torch.no_grad()
def standardize_router_inputs(model, state, tasks, device, log):
    """Per-layer mean/std of the pooled queries over the training prompts → the routers' input standardization."""
    state.mode = "stats"
    per_layer = None
    for t in tasks:
        state.pooled = []
        forward_loss(model, state, t, device)
        if per_layer is None:
            per_layer = [[] for _ in state.pooled]
        for i, p in enumerate(state.pooled):
            per_layer[i].append(p.float())  # [d]
    for i, rows in enumerate(per_layer):
        x = torch.stack(rows, 0)
        state.router.layers[i].mu.copy_(x.mean(0))
        state.router.layers[i].sigma.copy_(x.std(0).clamp_min(1e-3))
    log(f"router input standardization from {len(tasks)} prompts")


def evaluate(model, state, tasks, device, modes=("fa", "sa", "hard"), fixed_layers=(), name=None):
    """Per (kind, mode): accuracy, SA fraction, n, per-layer mean P(FA). Mode "fixed" runs `fixed_layers` as SA
    (reported under `name`, e.g. "fixed-k09")."""
    res = {}
    with torch.no_grad():
        for mode in modes:
            state.mode, state.fixed_layers = mode, set(fixed_layers)
            for t in tasks:
                _, exact = forward_loss(model, state, t, device)
                r = torch.stack(state.r).float()
                key = (t["kind"], name if mode == "fixed" and name else mode)
                acc = res.setdefault(key, {"n": 0, "correct": 0, "sa": 0.0, "probs": torch.zeros(len(state.r))})
                acc["n"] += 1
                acc["correct"] += int(exact and t["fa_correct"])
                acc["sa"] += float(r.mean())
                acc["probs"] += torch.stack(state.probs).float().cpu()
    out = {}
    for (kind, mode), a in sorted(res.items()):
        out[f"{kind}/{mode}"] = {"accuracy": a["correct"] / a["n"], "sa_fraction": a["sa"] / a["n"], "n": a["n"],
                                 "layer_prob": [round(float(p), 3) for p in a["probs"] / a["n"]]}
    return out


@torch.no_grad()
def layer_sensitivity(model, state, tasks, n_layers, device):
    """The answer-token CE of each layer sent alone to SA (all others FA), averaged over `tasks`, minus the all-FA
    CE: the ranking behind the "best fixed set" baseline (the k least harmful layers), found on the training split."""
    def mean_ce(mode, layers=()):
        state.mode, state.fixed_layers = mode, set(layers)
        return sum(float(forward_loss(model, state, t, device)[0]) for t in tasks) / len(tasks)
    base = mean_ce("fa")
    return [mean_ce("fixed", [layer]) - base for layer in range(n_layers)]


def write_fixed_sets(out_dir, ranking, sink, window):
    """Route files (the engine's route JSON) for the best fixed set of every size k: the k least harmful layers SA,
    the rest FA — `fluxscope-cli sweep --route-file`, `generate --route FILE`."""
    os.makedirs(out_dir, exist_ok=True)
    for k in range(1, len(ranking)):
        layers = sorted(ranking[:k])
        with open(os.path.join(out_dir, f"best-fixed-k{k:02d}.json"), "w") as f:
            json.dump({"preset": "fa", "overrides": ",".join(f"{l}=SA" for l in layers), "sa_kind": "streaming",
                       "sink": sink, "window": window}, f)
            f.write("\n")


def collect_kept(model, tok, rng, want, a, log, deadline, label):
    """Candidates of each kind until `want[kind]` are answered right under FA (or --max-candidates drawn per kind,
    or the deadline): the kept prompts are what the router can learn from, and the frozen 135M model answers only
    about half, fewer for some families."""
    kept, drawn, have = [], {k: 0 for k in want}, {k: 0 for k in want}

    def open_kinds():
        return [k for k in want if have[k] < want[k] and drawn[k] < a.max_candidates]
    while open_kinds() and time.time() < deadline:
        for kind in open_kinds():  # kinds in turn, in chunks: a deadline cuts both short, not one
            # Top up by the observed keep rate (first guess 1/2), at least one batch, at most 6 per chunk.
            rate = max(0.15, have[kind] / drawn[kind]) if drawn[kind] else 0.5
            n = int((want[kind] - have[kind]) / rate * 1.1) + 1
            n = min(a.max_candidates - drawn[kind], 6 * a.fa_batch, max(a.fa_batch, n))
            batch = router_tasks.sample_kind(tok, rng, kind, n, a.min_tokens, a.max_tokens)
            drawn[kind] += n
            got = fa_answers(model, tok, batch, a.max_new, a.device, log, a.fa_batch)
            kept += got
            have[kind] += len(got)
    for kind in want:
        log(f"{label} {kind}: {have[kind]} kept of {drawn[kind]} drawn (wanted {want[kind]})")
    return kept


def prepare_data(model, tok, a, log, t_start):
    """The data every variant shares: validation and training prompts with the frozen model's FA answers, and the
    layer ranking behind the best fixed sets (both depend on the data only, not on a router)."""
    deadline = t_start + a.prepare_budget_s
    rng_held, rng_train = random.Random(a.data_seed * 1000 + 2), random.Random(a.data_seed * 1000 + 1)
    held = collect_kept(model, tok, rng_held, {"needle": a.eval_needle, "robust": a.eval_robust}, a, log, deadline,
                        "validation")
    half = a.train_kept // 2
    train = collect_kept(model, tok, rng_train, {"needle": half, "robust": a.train_kept - half}, a, log, deadline,
                         "training")
    if not train:
        sys.exit("error: the model answered none of the training tasks under full attention")
    by_task = {}
    for t in train:
        by_task[t["task"]] = by_task.get(t["task"], 0) + 1
    log("training prompts kept per family: " + ", ".join(f"{k} {n}" for k, n in sorted(by_task.items())))
    cfg = model.config
    router = Router(cfg.num_hidden_layers, cfg.num_key_value_heads, head_dim_of(cfg), family="flux").to(a.device)
    state = RoutedAttention(router, a.sink, a.window, a.block, a.pool_size)
    patch_attention(model, state)
    # The ranking's prompts alternate needle / robust, so neither kind decides it alone.
    kinds = {k: [t for t in train if t["kind"] == k] for k in ("needle", "robust")}
    sens = [t for pair in zip(kinds["needle"], kinds["robust"]) for t in pair][:a.sensitivity_tasks]
    sensitivity = layer_sensitivity(model, state, sens, cfg.num_hidden_layers, a.device)
    ranking = sorted(range(cfg.num_hidden_layers), key=lambda l: sensitivity[l])
    log(f"layer ranking (least harmful SA first, {len(sens)} training prompts): {ranking}")
    keep = ("kind", "task", "context_tokens", "depth", "filler", "answer", "answers", "prompt_ids", "fa_ids",
            "fa_text", "fa_correct", "answer_tokens")
    slim = lambda ts: [{k: t[k] for k in keep if k in t} for t in ts]  # noqa: E731
    return {"train": slim(train), "held": slim(held), "sensitivity": sensitivity, "ranking": ranking,
            "sensitivity_tasks": len(sens), "data_seed": a.data_seed}


def head_dim_of(cfg):
    return getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads


def cosine_tau(step, total, start=1.5, end=1.0, fraction=0.6):
    """The authors' temperature: cosine from `start` to `end` over the first `fraction` of the steps, then `end`."""
    span = max(1, math.ceil(total * fraction))
    return end if step >= span else end + 0.5 * (start - end) * (1 + math.cos(math.pi * step / span))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="HF directory (fluxscope-cli convert --to safetensors)")
    ap.add_argument("--out", default=None, help="router file to write (our safetensors format)")
    ap.add_argument("--log", default=None, help="JSON log summary (default: OUT with .json)")
    ap.add_argument("--fixed-sets", default=None,
                    help="folder for the best-fixed-set route files (default: OUT's folder/best-fixed)")
    ap.add_argument("--prepare", default=None, metavar="DATA.json",
                    help="only prepare the shared data (prompts, FA answers, layer ranking, best-fixed route files "
                         "next to it) and exit; variants then train from it with --data")
    ap.add_argument("--data", default=None, metavar="DATA.json", help="train from data written by --prepare")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--train-kept", type=int, default=400,
                    help="training prompts to keep (answered right under FA), half per kind")
    ap.add_argument("--eval-needle", type=int, default=64, help="validation needle prompts to keep")
    ap.add_argument("--eval-robust", type=int, default=48, help="validation robust prompts to keep")
    ap.add_argument("--max-candidates", type=int, default=1200, help="at most this many candidates per kind and split")
    ap.add_argument("--fa-batch", type=int, default=16, help="prompts per batched FA generation")
    ap.add_argument("--prepare-budget-s", type=float, default=1e9,
                    help="stop drawing candidates this long after the start (the kept ones so far are used)")
    ap.add_argument("--data-seed", type=int, default=None, help="seed of the prompts (default: --seed)")
    ap.add_argument("--sensitivity-tasks", type=int, default=48, help="training tasks for the layer ranking")
    ap.add_argument("--standardize-tasks", type=int, default=200, help="training tasks for the input statistics")
    ap.add_argument("--no-contrast", action="store_true",
                    help="train without the contrast families (router_tasks.CONTRAST_TASKS; validation keeps them)")
    ap.add_argument("--min-tokens", type=int, default=1024)
    ap.add_argument("--max-tokens", type=int, default=7680)
    ap.add_argument("--sink", type=int, default=128)
    ap.add_argument("--window", type=int, default=512)
    ap.add_argument("--block", type=int, default=128)
    ap.add_argument("--pool-size", type=int, default=100, help="ctx_q pool_size (the authors' config default)")
    ap.add_argument("--target-robust", type=float, default=1.0, help="SA-fraction target of robust types")
    ap.add_argument("--target-needle", type=float, default=0.25, help="SA-fraction target of needle (QA) types")
    ap.add_argument("--lr", type=float, default=5e-4, help="router learning rate")
    ap.add_argument("--lr-lambda", type=float, default=1e-3, help="multipliers' learning rate (gradient ascent)")
    ap.add_argument("--lambda-init", type=float, default=0.0,
                    help="initial multipliers (the authors' __init__: 0; their reset_parameters: uniform [0, 0.5))")
    ap.add_argument("--tau-start", type=float, default=1.5)
    ap.add_argument("--tau-end", type=float, default=1.0)
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--max-new", type=int, default=24)
    ap.add_argument("--time-budget-s", type=float, default=1e9,
                    help="whole-run budget (from start, model load included): training stops in time to evaluate "
                         "and export within it")
    ap.add_argument("--eval-reserve-s", type=float, default=60, help="part of the budget kept for the validation "
                    "(fa, sa, router, best fixed set) and the export")
    ap.add_argument("--export-dtype", choices=["f32", "f16"], default="f16",
                    help="tensor type of the router file (f16: 9 MB for SmolLM2 instead of 18 MB; the evaluation "
                         "below runs the fp32 weights, the sweep the file)")
    ap.add_argument("--model-name", default=None, help="the router config's model name (default: the HF dir name)")
    ap.add_argument("--seed", type=int, default=0, help="router initialization, Gumbel noise, sampling order")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    if a.data_seed is None:
        a.data_seed = a.seed
    if not a.prepare and not a.out:
        ap.error("--out is required (unless --prepare)")

    t_start = time.time()
    random.seed(a.seed)
    torch.manual_seed(a.seed)
    lines = []

    def log(msg):
        print(msg, flush=True)
        lines.append(msg)

    from transformers import AutoModelForCausalLM, AutoTokenizer
    dtype = torch.bfloat16 if a.device.startswith("cuda") else torch.float32
    tok = AutoTokenizer.from_pretrained(a.model)
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=dtype, attn_implementation="sdpa").to(a.device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    cfg = model.config
    n_layers = cfg.num_hidden_layers
    head_dim = head_dim_of(cfg)
    log(f"model {a.model}: {n_layers} layers, {cfg.num_attention_heads} query heads, head_dim {head_dim}, {a.device}")

    if a.data:
        with open(a.data) as f:
            data = json.load(f)
        log(f"data {a.data}: {len(data['train'])} training, {len(data['held'])} validation prompts (data seed "
            f"{data['data_seed']})")
    else:
        data = prepare_data(model, tok, a, log, t_start)
        data["log"] = list(lines)
    fixed_dir = a.fixed_sets or os.path.join(os.path.dirname(os.path.abspath(a.prepare or a.out)), "best-fixed")
    if a.prepare:
        write_fixed_sets(fixed_dir, data["ranking"], a.sink, a.window)
        data["fixed_sets"] = fixed_dir
        os.makedirs(os.path.dirname(os.path.abspath(a.prepare)), exist_ok=True)
        with open(a.prepare, "w") as f:
            json.dump(data, f)
        log(f"wrote {a.prepare} and the best-fixed route files in {fixed_dir} ({time.time() - t_start:.0f}s)")
        return
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    if a.data and not a.fixed_sets:  # the preparation wrote them
        fixed_dir = data.get("fixed_sets", fixed_dir)
    train, held = data["train"], data["held"]
    if a.no_contrast:
        train = [t for t in train if t["task"] not in router_tasks.CONTRAST_TASKS]
    for t in train + held:
        t.setdefault("fa_correct", True)

    router = Router(n_layers, cfg.num_key_value_heads, head_dim, family="flux").to(a.device)
    state = RoutedAttention(router, a.sink, a.window, a.block, a.pool_size)
    patch_attention(model, state)
    std_rng = random.Random(data["data_seed"])
    standardize_router_inputs(model, state, std_rng.sample(train, min(len(train), a.standardize_tasks)), a.device, log)
    types = router_tasks.TASK_TYPES
    target = {t: (a.target_needle if t in router_tasks.NEEDLE_TASKS else a.target_robust) for t in types}
    lam1 = torch.nn.Parameter(torch.full((len(types),), a.lambda_init, device=a.device))
    lam2 = torch.nn.Parameter(torch.full((len(types),), a.lambda_init, device=a.device))
    opt = torch.optim.AdamW([{"params": router.parameters(), "lr": a.lr},
                             {"params": [lam1, lam2], "lr": a.lr_lambda, "maximize": True}],
                            betas=(0.9, 0.95), weight_decay=0.1)
    # The schedules (warmup + cosine LR, τ) run over `plan["total"]` steps: --steps, or fewer when the time budget
    # cannot fit them (estimated from steps 10-30), so a budget-limited run still ends annealed.
    plan = {"total": a.steps}

    def lr_factor(s):
        total = plan["total"]
        warm = max(1, total // 5)
        return (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * min(1.0, (s - warm) / max(1, total - warm))))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
    rng = random.Random(a.seed)
    # Steps alternate needle / robust: the FA filter keeps fewer needles, and each kind's target must bind equally.
    pools = {k: [t for t in train if t["kind"] == k] for k in ("needle", "robust")}
    pools = {k: v for k, v in pools.items() if v}
    order = sorted(pools)
    t_train = time.time()
    deadline = t_start + a.time_budget_s - a.eval_reserve_s
    hist = []
    steps_done = 0
    for step in range(a.steps):
        if step >= plan["total"] or time.time() > deadline:
            log(f"time budget reached at step {step}")
            break
        if step == 10:
            t_10 = time.time()  # the first steps include warm-up (kernel autotuning, allocator growth)
        if step == 30:
            per_step = (time.time() - t_10) / 20
            fit = 30 + int((deadline - time.time()) / per_step)
            if fit < plan["total"]:
                plan["total"] = max(20, fit)
                log(f"{per_step:.2f}s/step: the time budget fits {plan['total']} steps; schedules shortened")
            if a.device.startswith("cuda"):
                log(f"peak GPU memory after 30 steps: {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
        state.mode = "train"
        state.tau = cosine_tau(step, plan["total"], a.tau_start, a.tau_end)
        t = rng.choice(pools[order[step % len(order)]])
        ce, _ = forward_loss(model, state, t, a.device)
        omega = torch.stack(state.r).mean()
        ti = types.index(t["task"])
        diff = omega - target[t["task"]]
        reg = lam1[ti] * diff.abs() + lam2[ti] * diff * diff
        loss = ce + reg
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(router.parameters(), a.clip)
        opt.step()
        sched.step()
        hist.append({"step": step, "kind": t["kind"], "task": t["task"], "ce": float(ce.detach()),
                     "loss": float(loss.detach()), "omega": float(omega.detach())})
        steps_done = step + 1
        if step % 25 == 0 or step == plan["total"] - 1:
            recent = hist[-50:]
            by = {k: [h for h in recent if h["kind"] == k] for k in ("robust", "needle")}
            msg = " ".join(f"{k}: ce {sum(h['ce'] for h in v) / len(v):.3f} Ω {sum(h['omega'] for h in v) / len(v):.2f}"
                           for k, v in by.items() if v)
            log(f"step {step:4d} τ {state.tau:.2f} λ1 max {float(lam1.detach().max()):.3f} | {msg} | {time.time() - t_train:.0f}s")
    train_s = time.time() - t_train

    sensitivity, ranking = data["sensitivity"], data["ranking"]
    if not a.data:
        write_fixed_sets(fixed_dir, ranking, a.sink, a.window)
    log(f"layer ranking (least harmful SA first, {data['sensitivity_tasks']} training prompts): {ranking}; route "
        f"files in {fixed_dir}")

    ev = evaluate(model, state, held, a.device)
    # The static baseline on validation: the best fixed set with the router's needle SA share (its layer count).
    if "needle/hard" in ev:
        k = min(n_layers - 1, max(1, round(ev["needle/hard"]["sa_fraction"] * n_layers)))
        ev.update(evaluate(model, state, held, a.device, modes=("fixed",), fixed_layers=ranking[:k], name="fixed"))
        ev["fixed_k"] = k
    config = {"pooling": "ctx_q", "pool_first": a.pool_size, "pool_last": a.pool_size, "temperature": 1.0,
              "threshold": 0.5, "fa_kind": "full", "sa_kind": "streaming", "sink": a.sink, "window": a.window,
              "block": a.block, "n_last": 128, "n_layers": n_layers, "n_kv_heads": cfg.num_key_value_heads,
              "head_dim": head_dim, "model": a.model_name or os.path.basename(os.path.normpath(a.model))}
    router.export(a.out, config, dtype=torch.float16 if a.export_dtype == "f16" else torch.float32)
    log(f"wrote {a.out}")
    log("validation (teacher-forced: the answer tokens of the FA reply all argmax, counted where FA was right; "
        f"fixed = the best fixed set of {ev.get('fixed_k', '-')} SA layers):")
    log(f"{'kind/mode':<16} {'accuracy':>8} {'SA frac':>8} {'n':>4}")
    for k, r in ev.items():
        if isinstance(r, dict):
            log(f"{k:<16} {r['accuracy']:8.2f} {r['sa_fraction']:8.2f} {r['n']:4d}")
    last = {k: [h for h in hist[-100:] if h["kind"] == k] for k in ("robust", "needle")}
    final = {k: {"ce": round(sum(h["ce"] for h in v) / len(v), 4), "loss": round(sum(h["loss"] for h in v) / len(v), 4),
                 "omega": round(sum(h["omega"] for h in v) / len(v), 3), "steps": len(v)}
             for k, v in last.items() if v}
    held_probs = {k: ev[f"{k}/hard"]["layer_prob"] for k in ("robust", "needle") if f"{k}/hard" in ev}
    by_task = {}
    for t in train:
        by_task[t["task"]] = by_task.get(t["task"], 0) + 1
    summary = {"command": " ".join(sys.argv), "seed": a.seed, "data_seed": data["data_seed"], "steps_done": steps_done,
               "steps_planned": plan["total"], "train_seconds": round(train_s, 1),
               "total_seconds": round(time.time() - t_start, 1), "train_tasks_kept": len(train),
               "eval_tasks_kept": len(held), "train_tasks_per_family": by_task, "targets": target,
               "lambda": {t: [round(float(lam1[i].detach()), 4), round(float(lam2[i].detach()), 4)] for i, t in enumerate(types)},
               "router_config": config, "layer_sensitivity": [round(x, 4) for x in sensitivity],
               "layer_ranking": ranking, "final_last_100_steps": final, "heldout_layer_prob_router_fa": held_probs,
               "eval": ev, "data_log": data.get("log", []), "log": lines}
    with open(a.log or os.path.splitext(a.out)[0] + ".json", "w") as f:
        json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
