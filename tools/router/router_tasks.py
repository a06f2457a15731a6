"""Procedural tasks for training and evaluating the Layer Router (no downloads).

Two kinds, as in Flux/Elastic Attention's task-dependent sparsity targets:
- "needle" (sparsity-sensitive): a fact hidden at some depth of a long filler text, asked for at the end; the answer is
  far outside a streaming window, so all-SA layers cannot see it.
- "robust" (sparsity-tolerant): the answer follows from the last few hundred tokens (continue a count, recall a
  fact stated in the last lines), so SA layers lose nothing.
Every task is a user message plus the expected answer string; lengths are set in tokens with the model's tokenizer.
"""
import random

FILLER = ("The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. ")
NAMES = ["Alice", "Bruno", "Chen", "Dara", "Emil", "Farah", "Goran", "Hana", "Ivo", "Jun", "Kemal", "Lina"]
COLORS = ["red", "blue", "green", "orange", "purple", "silver", "golden", "black"]
OBJECTS = ["lamp", "kite", "boat", "clock", "drum", "chair", "glove", "vase"]
CITIES = ["Paris", "Berlin", "Madrid", "Rome", "Vienna", "Lisbon", "Prague", "Oslo", "Dublin", "Athens"]
JOBS = ["baker", "pilot", "doctor", "teacher", "farmer", "painter", "lawyer", "nurse"]
# Distance of a training needle before the question, in tokens: more than the SA window (512) plus one block (128),
# so an all-SA model cannot see it.
FAR_TOKENS = 640


def _filler_tokens(tok, n_tokens):
    """Filler text of about n_tokens tokens (whole sentences)."""
    per = len(tok(FILLER, add_special_tokens=False)["input_ids"])
    return FILLER * max(0, n_tokens // per)


def _with_needle(tok, context_tokens, depth, needle):
    """Filler of ~context_tokens tokens with `needle` inserted at fraction `depth` (sentence boundary)."""
    sentences = _filler_tokens(tok, context_tokens).split(". ")
    at = int(round(depth * len(sentences)))
    sentences.insert(at, needle.rstrip("."))
    return ". ".join(sentences)


def needle_passkey(tok, rng, context_tokens, depth):
    key = str(rng.randint(10000, 99999))
    body = _with_needle(tok, context_tokens, depth, f"The pass key is {key}. Remember it. {key} is the pass key.")
    msg = ("There is an important piece of information hidden inside a lot of irrelevant text. Find it and "
           "memorize it.\n\n" + body + "\n\nWhat is the pass key? Answer with the number only.")
    return msg, key


def needle_variable(tok, rng, context_tokens, depth):
    value = str(rng.randint(100, 999))
    var = rng.choice(["X", "Y", "Z", "Q", "K"])
    body = _with_needle(tok, context_tokens, depth, f"Note: the variable {var} is set to {value}.")
    msg = (body + f"\n\nWhat value was the variable {var} set to? Answer with the number only.")
    return msg, value


def needle_docqa(tok, rng, context_tokens, depth):
    """QA over a synthetic document: a two-sentence biography inside the filler."""
    name, city, job = rng.choice(NAMES), rng.choice(CITIES), rng.choice(JOBS)
    body = _with_needle(tok, context_tokens, depth, f"{name} was born in {city}. {name} works as a {job}.")
    msg = body + f"\n\nIn which city was {name} born? Answer with the city name only."
    return msg, city


KEY_KINDS = ["secret code", "room number", "locker number", "ticket number", "pin"]


def needle_multikey(tok, rng, context_tokens, depth):
    """Three different keys spread over the text, one asked for. The first lies at `depth`, the others between it
    and depth 0.85. (Three codes of the same kind, told apart by a colour, are beyond the 135M model: 1/6 under FA.)"""
    kinds = rng.sample(KEY_KINDS, 3)
    codes = [str(rng.randint(1000, 9999)) for _ in kinds]
    sentences = _filler_tokens(tok, context_tokens).split(". ")
    first = int(round(depth * len(sentences)))
    last = max(first + 3, int(0.85 * len(sentences)))
    spots = sorted([first] + rng.sample(range(first + 1, last), 2))
    for k in reversed(range(3)):
        sentences.insert(spots[k], f"The {kinds[k]} is {codes[k]}")
    ask = rng.randrange(3)
    msg = ". ".join(sentences) + f"\n\nWhat is the {kinds[ask]}? Answer with the number only."
    return msg, codes[ask]


def robust_count(tok, rng, context_tokens, _depth):
    # A short list and an explicit question: asked to "continue" a long sequence, the 135M model restarts it.
    start = rng.randint(1, 400)
    stop = start + rng.randint(5, 10)
    seq = ", ".join(str(i) for i in range(start, stop))
    body = _filler_tokens(tok, context_tokens)
    msg = body + f"\n\nHere is a list of numbers: {seq}.\nWhat number comes next in the list? Answer with the number only."
    return msg, str(stop)


def robust_recent_code(tok, rng, _context_tokens_unused, _depth):
    code = str(rng.randint(1000, 9999))
    body = _filler_tokens(tok, _context_tokens_unused)
    msg = body + f"\n\nLatest update: the access code is now {code}.\nWhat is the access code in the latest update?"
    return msg, code


def robust_recent_variable(tok, rng, context_tokens, _depth):
    value = str(rng.randint(100, 999))
    var = rng.choice(["A", "B", "C", "M", "N"])
    body = _filler_tokens(tok, context_tokens)
    msg = body + f"\n\nFinally, {var} = {value}.\nWhat is {var} equal to at the end? Reply with the number."
    return msg, value


def robust_repeat(tok, rng, context_tokens, _depth):
    sentence = f"The {rng.choice(COLORS)} {rng.choice(OBJECTS)} belongs to {rng.choice(NAMES)}"
    msg = _filler_tokens(tok, context_tokens) + f"\n\n{sentence}.\nRepeat the last sentence exactly."
    return msg, sentence


def robust_summary(tok, rng, context_tokens, _depth):
    """Summarize-style: the answer (the trip's destination) is in the last two sentences."""
    name, city = rng.choice(NAMES), rng.choice(CITIES)
    story = (f"Yesterday {name} took the train to {city}. In {city}, {name} bought a {rng.choice(COLORS)} "
             f"{rng.choice(OBJECTS)} at the market and then went home.")
    msg = _filler_tokens(tok, context_tokens) + f"\n\n{story}\nSummarize the last story in one sentence."
    return msg, city


NEEDLE_TASKS = {"passkey": needle_passkey, "variable": needle_variable, "docqa": needle_docqa,
                "multikey": needle_multikey}
ROBUST_TASKS = {"count": robust_count, "recent_code": robust_recent_code, "recent_variable": robust_recent_variable,
                "repeat": robust_repeat, "summary": robust_summary}


def make_task(tok, rng, kind, name, context_tokens, depth):
    table = NEEDLE_TASKS if kind == "needle" else ROBUST_TASKS
    msg, answer = table[name](tok, rng, context_tokens, depth)
    return {"kind": kind, "task": name, "context_tokens": context_tokens, "depth": depth if kind == "needle" else None,
            "messages": [{"role": "user", "content": msg}], "answer": answer}


def sample_tasks(tok, seed, n, min_tokens=768, max_tokens=7680):
    """n tasks, half needle, half robust. A needle's depth is uniform over [0, 1 − FAR_TOKENS/context] so the fact
    lies more than a window + a block before the question (the SA layers cannot see it)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = "needle" if i % 2 == 0 else "robust"
        name = rng.choice(sorted(NEEDLE_TASKS if kind == "needle" else ROBUST_TASKS))
        ctx = rng.randint(min_tokens, max_tokens)
        depth = round(rng.uniform(0.0, max(0.0, 1.0 - FAR_TOKENS / ctx)), 2)
        out.append(make_task(tok, rng, kind, name, ctx, depth))
    return out


def needle_grid(tok, seed, contexts=(1024, 2048, 4096, 7680), depths=(0.0, 0.25, 0.5, 0.75, 1.0), per_cell=2,
                n_robust=20):
    """The sweep's held-out set: a context x depth needle grid plus robust prompts."""
    rng = random.Random(seed)
    out = []
    for ctx in contexts:
        for depth in depths:
            for _ in range(per_cell):
                out.append(make_task(tok, rng, "needle", rng.choice(sorted(NEEDLE_TASKS)), ctx, depth))
    for i in range(n_robust):
        ctx = contexts[i % len(contexts)]
        out.append(make_task(tok, rng, "robust", sorted(ROBUST_TASKS)[i % len(ROBUST_TASKS)], ctx, None))
    for i, t in enumerate(out):
        t["id"] = f"{t['kind']}-{t['task']}-{t['context_tokens']}-{i}"
    return out
