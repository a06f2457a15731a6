#!/usr/bin/env python3
"""Trains a Layer Router for a frozen HF Llama/Qwen3 model (ALGORITHMS.md §5–6) and exports our router format.

  python3 tools/router/train_router.py --model /root/smol-hf --out router.safetensors [--steps 300] [--seed 0]

What it does:
1. Generates procedural tasks (router_tasks.py): "needle" (sparsity-sensitive) and "robust" (sparsity-tolerant).
2. Runs the frozen model with full attention (HF generate) to get its own answer to each prompt; keeps the prompts it
   answers correctly. The router is trained to keep THAT output (cross-entropy on the FA answer tokens) while sending
   as many layers to SA as the task kind allows.
3. Replaces every attention forward with: router logit from boundary-pooled pre-RoPE keys → Gumbel-sigmoid with a
   straight-through hard decision r → output = r·SA + (1−r)·FA, SA = streaming in its 128-token block form (the
   engine's definition). Loss = CE + λ1·v + λ2·v² with v the one-sided violation of the task's SA-fraction target,
   λ by gradient ascent. Only the router trains.
4. Evaluates held-out tasks under all-FA, all-SA and the router's hard decisions (teacher-forced exact match of the
   FA answer = what greedy decoding would produce), exports the router and a JSON log.
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
from router_model import Router, pool_keys  # noqa: E402


def streaming_block_mask(n, sink, window, block, device):
    """Engine's block-form streaming mask: key block kb visible to query block qb iff kb < ceil(sink/B) or
    qb − kb < ceil(window/B), causal at token level."""
    sink_blocks, local_blocks = math.ceil(sink / block), math.ceil(window / block)
    i = torch.arange(n, device=device)
    qb, kb = (i // block)[:, None], (i // block)[None, :]
    return (i[None, :] <= i[:, None]) & ((kb < sink_blocks) | (qb - kb < local_blocks))


class RoutedAttention:
    """Shared state of all patched attention layers for one forward pass."""

    def __init__(self, router, sink, window, block):
        self.router, self.sink, self.window, self.block = router, sink, window, block
        self.mode = "train"  # train | fa | sa | hard | stats (fa, recording pooled keys)
        self.pooled = []
        self.n_prompt = 0
        self.tau = 1.0
        self.r = []       # per layer r (train: straight-through), in layer order
        self.probs = []   # per layer sigmoid(logit)
        self._mask = None

    def sa_mask(self, n, device):
        if self._mask is None or self._mask.shape[0] != n:
            self._mask = streaming_block_mask(n, self.sink, self.window, self.block, device)
        return self._mask

    def decide(self, layer, keys_pre_rope):
        """keys_pre_rope [n, Hkv, d] → the mixing weight r (tensor scalar) of this layer."""
        pooled = pool_keys(keys_pre_rope, self.n_prompt)
        if self.mode == "stats":
            self.pooled.append(pooled.detach())
        logit = self.router.layers[layer](pooled)
        prob = torch.sigmoid(logit)
        self.probs.append(prob.detach())
        if self.mode in ("fa", "stats"):
            r = torch.zeros((), device=logit.device)
        elif self.mode == "sa":
            r = torch.ones((), device=logit.device)
        elif self.mode == "hard":
            r = (logit > 0).float()
        else:  # Gumbel-sigmoid, straight-through
            u = torch.rand((), device=logit.device)
            g = -torch.log(-torch.log(u + 1e-9) + 1e-9)
            soft = torch.sigmoid((logit + g) / self.tau)
            hard = (soft > 0.5).float()
            r = hard + soft - soft.detach()
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
            if hasattr(_attn, "q_norm"):  # Qwen3 QK-norm, before RoPE (the router reads normed keys)
                q, k = _attn.q_norm(q), _attn.k_norm(k)
            r = state.decide(_idx, k[0])
            q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
            cos, sin = position_embeddings
            q, k = apply_rotary_pos_emb(q, k, cos, sin)
            k = k.repeat_interleave(hq // hkv, dim=1)
            v = v.repeat_interleave(hq // hkv, dim=1)
            outs = {}
            if state.mode != "sa":  # fa, stats, train, hard
                outs["fa"] = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            if state.mode not in ("fa", "stats"):
                outs["sa"] = F.scaled_dot_product_attention(q, k, v, attn_mask=state.sa_mask(n, q.device))
            if state.mode in ("fa", "stats"):
                o = outs["fa"]
            elif state.mode == "sa":
                o = outs["sa"]
            else:
                o = r.to(q.dtype) * outs["sa"] + (1 - r).to(q.dtype) * outs["fa"]
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
            t["fa_correct"] = t["answer"].lower() in text.lower()
            t["answer_tokens"] = answer_token_positions(tok, gen, t["answer"])
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


def answer_token_positions(tok, gen, answer):
    """Indices of the generated tokens that spell the answer (the loss and the metric look only at these, so a
    rephrased but correct reply costs nothing); all tokens when the answer is not found."""
    text, spans = "", []
    for i in range(len(gen)):
        piece = tok.decode(gen[:i + 1], skip_special_tokens=True)
        spans.append((len(text), len(piece)))
        text = piece
    at = text.lower().find(answer.lower())
    if at < 0:
        return list(range(len(gen)))
    end = at + len(answer)
    return [i for i, (b, e) in enumerate(spans) if e > at and b < end] or list(range(len(gen)))


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
    """Per-layer mean/std of the pooled keys over the training prompts → the routers' input standardization."""
    state.mode = "stats"
    per_layer = None
    for t in tasks:
        state.pooled = []
        forward_loss(model, state, t, device)
        if per_layer is None:
            per_layer = [[] for _ in state.pooled]
        for i, p in enumerate(state.pooled):
            per_layer[i].append(p.float())  # [n_kv_heads, d]
    for i, rows in enumerate(per_layer):
        x = torch.cat(rows, 0)
        state.router.layers[i].mu.copy_(x.mean(0))
        state.router.layers[i].sigma.copy_(x.std(0).clamp_min(1e-3))
    log(f"router input standardization from {len(tasks)} prompts")


def evaluate(model, state, tasks, device):
    res = {}
    with torch.no_grad():
        for mode in ("fa", "sa", "hard"):
            state.mode = mode
            for t in tasks:
                _, exact = forward_loss(model, state, t, device)
                r = torch.stack(state.r).float()
                key = (t["kind"], mode)
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="HF directory (fluxscope-cli convert --to safetensors)")
    ap.add_argument("--out", required=True, help="router file to write (our safetensors format)")
    ap.add_argument("--log", default=None, help="JSON log summary (default: OUT with .json)")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--train-tasks", type=int, default=160)
    ap.add_argument("--eval-tasks", type=int, default=48)
    ap.add_argument("--min-tokens", type=int, default=768)
    ap.add_argument("--max-tokens", type=int, default=7680)
    ap.add_argument("--sink", type=int, default=128)
    ap.add_argument("--window", type=int, default=512)
    ap.add_argument("--block", type=int, default=128)
    ap.add_argument("--target-robust", type=float, default=0.9, help="SA-fraction floor on robust tasks")
    ap.add_argument("--target-needle", type=float, default=0.3, help="SA-fraction ceiling on needle tasks")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--lr-lambda", type=float, default=0.05)
    ap.add_argument("--tau-end", type=float, default=0.3)
    ap.add_argument("--max-new", type=int, default=24)
    ap.add_argument("--time-budget-s", type=float, default=1e9,
                    help="whole-run budget (from start, model load included): training stops in time to evaluate "
                         "and export within it")
    ap.add_argument("--eval-reserve-s", type=float, default=40, help="part of the budget kept for evaluation")
    ap.add_argument("--model-name", default=None, help="the router config's model name (default: the HF dir name)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()

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
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    log(f"model {a.model}: {n_layers} layers, {cfg.num_key_value_heads} kv heads, head_dim {head_dim}, {a.device}")

    train = router_tasks.sample_tasks(tok, a.seed * 1000 + 1, a.train_tasks, a.min_tokens, a.max_tokens)
    held = router_tasks.sample_tasks(tok, a.seed * 1000 + 2, a.eval_tasks, a.min_tokens, a.max_tokens)
    train = fa_answers(model, tok, train, a.max_new, a.device, log)
    held = fa_answers(model, tok, held, a.max_new, a.device, log)
    if not train:
        sys.exit("error: the model answered none of the training tasks under full attention")

    router = Router(n_layers, cfg.num_key_value_heads, head_dim).to(a.device)
    state = RoutedAttention(router, a.sink, a.window, a.block)
    patch_attention(model, state)
    standardize_router_inputs(model, state, train, a.device, log)
    opt = torch.optim.AdamW(router.parameters(), lr=a.lr, betas=(0.9, 0.95), weight_decay=0.1)
    # The schedules (warmup + cosine LR, τ annealing) run over `plan["total"]` steps: --steps, or fewer when the
    # time budget cannot fit them (estimated from steps 10-30), so a budget-limited run still ends annealed.
    plan = {"total": a.steps}

    def lr_factor(s):
        total = plan["total"]
        warm = max(1, total // 5)
        return (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * min(1.0, (s - warm) / max(1, total - warm))))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
    lam = {"robust": [0.0, 0.0], "needle": [0.0, 0.0]}
    target = {"robust": a.target_robust, "needle": a.target_needle}
    rng = random.Random(a.seed)
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
        state.mode = "train"
        state.tau = max(a.tau_end, (a.tau_end / 1.0) ** (step / max(1, plan["total"] - 1)))
        t = rng.choice(train)
        ce, _ = forward_loss(model, state, t, a.device)
        omega = torch.stack(state.r).mean()
        kind = t["kind"]
        # One-sided violation: robust wants Ω ≥ target, needle wants Ω ≤ target.
        viol = F.relu(target[kind] - omega) if kind == "robust" else F.relu(omega - target[kind])
        l1, l2 = lam[kind]
        loss = ce + l1 * viol + l2 * viol * viol
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(router.parameters(), 1.0)
        opt.step()
        sched.step()
        v = float(viol.detach())
        lam[kind][0] += a.lr_lambda * v  # gradient ascent on the multipliers
        lam[kind][1] += a.lr_lambda * v * v
        hist.append({"step": step, "kind": kind, "ce": float(ce.detach()), "loss": float(loss.detach()),
                     "omega": float(omega.detach())})
        steps_done = step + 1
        if step % 25 == 0 or step == plan["total"] - 1:
            recent = hist[-50:]
            by = {k: [h for h in recent if h["kind"] == k] for k in ("robust", "needle")}
            msg = " ".join(f"{k}: ce {sum(h['ce'] for h in v) / len(v):.3f} Ω {sum(h['omega'] for h in v) / len(v):.2f}"
                           for k, v in by.items() if v)
            log(f"step {step:4d} τ {state.tau:.2f} λ r{lam['robust'][0]:.2f} n{lam['needle'][0]:.2f} | {msg} "
                f"| {time.time() - t_train:.0f}s")
    train_s = time.time() - t_train

    ev = evaluate(model, state, held, a.device)
    config = {"pooling": "boundary", "pool_first": 100, "pool_last": 100, "temperature": 1.0, "threshold": 0.5,
              "sa_kind": "streaming", "sink": a.sink, "window": a.window, "block": a.block, "n_last": 128,
              "n_layers": n_layers, "n_kv_heads": cfg.num_key_value_heads, "head_dim": head_dim,
              "model": a.model_name or os.path.basename(os.path.normpath(a.model))}
    router.export(a.out, config)
    log(f"wrote {a.out}")
    log("held-out (teacher-forced: the answer tokens of the FA reply all argmax, counted where FA was right):")
    log(f"{'kind/mode':<16} {'accuracy':>8} {'SA frac':>8} {'n':>4}")
    for k, r in ev.items():
        log(f"{k:<16} {r['accuracy']:8.2f} {r['sa_fraction']:8.2f} {r['n']:4d}")
    last = {k: [h for h in hist[-100:] if h["kind"] == k] for k in ("robust", "needle")}
    final = {k: {"ce": round(sum(h["ce"] for h in v) / len(v), 4), "loss": round(sum(h["loss"] for h in v) / len(v), 4),
                 "omega": round(sum(h["omega"] for h in v) / len(v), 3), "steps": len(v)}
             for k, v in last.items() if v}
    held_probs = {k: ev[f"{k}/hard"]["layer_prob"] for k in ("robust", "needle") if f"{k}/hard" in ev}
    summary = {"command": " ".join(sys.argv), "seed": a.seed, "steps_done": steps_done,
               "steps_planned": plan["total"], "train_seconds": round(train_s, 1),
               "total_seconds": round(time.time() - t_start, 1), "train_tasks_kept": len(train),
               "eval_tasks_kept": len(held), "targets": target, "lambda": lam, "router_config": config,
               "final_last_100_steps": final, "heldout_layer_prob_router": held_probs, "eval": ev, "log": lines}
    with open(a.log or os.path.splitext(a.out)[0] + ".json", "w") as f:
        json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
