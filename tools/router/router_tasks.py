"""Procedural tasks for training and evaluating the Layer Router (no downloads).

Two kinds, as in Flux Attention's task-dependent sparsity targets (each task type gets its own λ pair in training):
- "needle" (sparsity-sensitive; RULER-style): single key (passkey, variable), multi-key, multi-value, variable
  tracking, frequent-word extraction, QA over a synthetic document — the fact lies far outside a streaming window,
  so all-SA layers cannot see it.
- "robust" (sparsity-tolerant): continuation (count), summarise-style, local copy, recent facts, in-context
  classification — the answer follows from the last few hundred tokens, so SA layers lose nothing.
One template family per kind (HELD_OUT_TEMPLATES) and one filler style (router_fillers.HELD_OUT_STYLES) are never
trained on.
Contrast families (round 5, CONTRAST_TASKS, training only): the same fact and the same question once far from the
question (needle) and once right before it (robust: near_*), and round 4's "recent" facts moved far (far_*). The
question's wording then no longer tells the kind; only where the fact lies does — what decides whether streaming
attention can answer, on any filler and any template. Every task is a user message plus the expected answer(s); lengths are set in tokens with the model's
tokenizer. A task function takes `fill` (router_fillers.Filler: n_tokens -> haystack text in the task's style).
"""
import random

from router_fillers import EVAL_STYLES, HELD_OUT_STYLES, TRAIN_STYLES, Filler

NAMES = ["Alice", "Bruno", "Chen", "Dara", "Emil", "Farah", "Goran", "Hana", "Ivo", "Jun", "Kemal", "Lina"]
COLORS = ["red", "blue", "green", "orange", "purple", "silver", "golden", "black"]
OBJECTS = ["lamp", "kite", "boat", "clock", "drum", "chair", "glove", "vase"]
CITIES = ["Paris", "Berlin", "Madrid", "Rome", "Vienna", "Lisbon", "Prague", "Oslo", "Dublin", "Athens"]
JOBS = ["baker", "pilot", "doctor", "teacher", "farmer", "painter", "lawyer", "nurse"]
# Distance of a training needle before the question, in tokens: more than the SA window (512) plus one block (128),
# so an all-SA model cannot see it.
FAR_TOKENS = 640


def _with_needle(fill, context_tokens, depth, needle):
    """Filler of ~context_tokens tokens with `needle` inserted at fraction `depth` (sentence boundary)."""
    sentences = fill(context_tokens).split(". ")
    at = int(round(depth * len(sentences)))
    sentences.insert(at, needle.rstrip("."))
    return ". ".join(sentences)


def needle_passkey(fill, rng, context_tokens, depth):
    key = str(rng.randint(10000, 99999))
    body = _with_needle(fill, context_tokens, depth, f"The pass key is {key}. Remember it. {key} is the pass key.")
    msg = ("There is an important piece of information hidden inside a lot of irrelevant text. Find it and "
           "memorize it.\n\n" + body + "\n\nWhat is the pass key? Answer with the number only.")
    return msg, key


def needle_variable(fill, rng, context_tokens, depth):
    value = str(rng.randint(100, 999))
    var = rng.choice(["X", "Y", "Z", "Q", "K"])
    body = _with_needle(fill, context_tokens, depth, f"Note: the variable {var} is set to {value}.")
    msg = (body + f"\n\nWhat value was the variable {var} set to? Answer with the number only.")
    return msg, value


def needle_docqa(fill, rng, context_tokens, depth):
    """QA over a synthetic document: a two-sentence biography inside the filler."""
    name, city, job = rng.choice(NAMES), rng.choice(CITIES), rng.choice(JOBS)
    body = _with_needle(fill, context_tokens, depth, f"{name} was born in {city}. {name} works as a {job}.")
    msg = body + f"\n\nIn which city was {name} born? Answer with the city name only."
    return msg, city


KEY_KINDS = ["secret code", "room number", "locker number", "ticket number", "pin"]


def needle_multikey(fill, rng, context_tokens, depth):
    """Three different keys spread over the text, one asked for. The first lies at `depth`, the others between it
    and depth 0.85. (Three codes of the same kind, told apart by a colour, are beyond the 135M model: 1/6 under FA.)"""
    kinds = rng.sample(KEY_KINDS, 3)
    codes = [str(rng.randint(1000, 9999)) for _ in kinds]
    sentences = fill(context_tokens).split(". ")
    first = int(round(depth * len(sentences)))
    last = max(first + 3, int(0.85 * len(sentences)))
    spots = sorted([first] + rng.sample(range(first + 1, last), 2))
    for k in reversed(range(3)):
        sentences.insert(spots[k], f"The {kinds[k]} is {codes[k]}")
    ask = rng.randrange(3)
    msg = ". ".join(sentences) + f"\n\nWhat is the {kinds[ask]}? Answer with the number only."
    return msg, codes[ask]


def robust_count(fill, rng, context_tokens, _depth):
    # A short list and an explicit question: asked to "continue" a long sequence, the 135M model restarts it.
    start = rng.randint(1, 400)
    stop = start + rng.randint(5, 10)
    seq = ", ".join(str(i) for i in range(start, stop))
    body = fill(context_tokens)
    msg = body + f"\n\nHere is a list of numbers: {seq}.\nWhat number comes next in the list? Answer with the number only."
    return msg, str(stop)


def robust_recent_code(fill, rng, _context_tokens_unused, _depth):
    code = str(rng.randint(1000, 9999))
    body = fill(_context_tokens_unused)
    msg = body + f"\n\nLatest update: the access code is now {code}.\nWhat is the access code in the latest update?"
    return msg, code


def robust_recent_variable(fill, rng, context_tokens, _depth):
    value = str(rng.randint(100, 999))
    var = rng.choice(["A", "B", "C", "M", "N"])
    body = fill(context_tokens)
    msg = body + f"\n\nFinally, {var} = {value}.\nWhat is {var} equal to at the end? Reply with the number."
    return msg, value


def robust_repeat(fill, rng, context_tokens, _depth):
    sentence = f"The {rng.choice(COLORS)} {rng.choice(OBJECTS)} belongs to {rng.choice(NAMES)}"
    msg = fill(context_tokens) + f"\n\n{sentence}.\nRepeat the last sentence exactly."
    return msg, sentence


def robust_summary(fill, rng, context_tokens, _depth):
    """Summarize-style: the answer (the trip's destination) is in the last two sentences."""
    name, city = rng.choice(NAMES), rng.choice(CITIES)
    story = (f"Yesterday {name} took the train to {city}. In {city}, {name} bought a {rng.choice(COLORS)} "
             f"{rng.choice(OBJECTS)} at the market and then went home.")
    msg = fill(context_tokens) + f"\n\n{story}\nSummarize the last story in one sentence."
    return msg, city


WORDS = ["apple", "river", "stone", "cloud", "tiger", "piano", "candle", "forest", "mirror", "rocket", "garden",
         "pencil", "window", "ladder", "bottle", "castle", "dragon", "feather", "island", "jacket", "lemon", "magnet",
         "needle", "orange", "pepper", "quartz", "saddle", "tunnel", "violin", "walnut", "yogurt", "zipper"]


def needle_multivalue(fill, rng, context_tokens, depth):
    """RULER multi-value: one key with two values at two places; both must be named."""
    word = rng.choice(WORDS)
    values = [str(rng.randint(1000, 9999)) for _ in range(2)]
    sentences = fill(context_tokens).split(". ")
    first = int(round(depth * len(sentences)))
    second = rng.randint(first + 1, max(first + 2, int(0.85 * len(sentences))))
    sentences.insert(second, f"Another special magic number for {word} is {values[1]}")
    sentences.insert(first, f"One of the special magic numbers for {word} is {values[0]}")
    msg = (". ".join(sentences) + f"\n\nWhat are the two special magic numbers for {word}? "
           "Answer with the two numbers only.")
    return msg, values


def needle_vartrack(fill, rng, context_tokens, depth):
    """RULER variable tracking, two hops: VAR A = value at `depth`, VAR B = VAR A later; asked for VAR B."""
    value = str(rng.randint(10000, 99999))
    a, b = rng.sample(["ALPHA", "BRAVO", "DELTA", "ECHO", "KILO", "OSCAR", "SIERRA", "TANGO"], 2)
    sentences = fill(context_tokens).split(". ")
    first = int(round(depth * len(sentences)))
    second = rng.randint(first + 1, max(first + 2, int(0.85 * len(sentences))))
    sentences.insert(second, f"VAR {b} = VAR {a}")
    sentences.insert(first, f"VAR {a} = {value}")
    msg = ". ".join(sentences) + f"\n\nWhat number is VAR {b} equal to? Answer with the number only."
    return msg, value


def needle_freqword(fill, rng, context_tokens, depth):
    """Frequent-word extraction: a word list at `depth` in which one word appears 12 times and every other word at
    most twice; asked at the end which word is the most frequent."""
    target, others = rng.choice(WORDS), [w for w in WORDS]
    others.remove(target)
    items = [target] * 12 + [w for w in rng.sample(others, 20) for _ in range(rng.randint(1, 2))]
    rng.shuffle(items)
    sentences = fill(context_tokens).split(". ")
    sentences.insert(int(round(depth * len(sentences))), "Word list: " + " ".join(items))
    msg = ". ".join(sentences) + "\n\nWhich word appears most often in the word list? Answer with the word only."
    return msg, target


def needle_kv_record(fill, rng, context_tokens, depth):
    """Held-out template family (never trained on): a table of records at `depth`, one asked by its id."""
    ids = rng.sample(range(100, 999), 6)
    values = [rng.choice(WORDS) for _ in ids]
    table = "; ".join(f"record R{i} holds the word {v}" for i, v in zip(ids, values))
    sentences = fill(context_tokens).split(". ")
    sentences.insert(int(round(depth * len(sentences))), "Archive table: " + table)
    ask = rng.randrange(len(ids))
    msg = ". ".join(sentences) + f"\n\nWhich word does record R{ids[ask]} hold? Answer with the word only."
    return msg, values[ask]


def robust_icl_classify(fill, rng, context_tokens, _depth):
    """In-context classification: labelled examples right before the question."""
    fruit = ["apple", "pear", "cherry", "banana", "mango", "plum", "grape", "peach"]
    animal = ["dog", "cat", "horse", "tiger", "mouse", "sheep", "goat", "zebra"]
    shots = [(w, "fruit") for w in rng.sample(fruit, 3)] + [(w, "animal") for w in rng.sample(animal, 3)]
    rng.shuffle(shots)
    label = rng.choice(["fruit", "animal"])
    query = rng.choice([w for w in (fruit if label == "fruit" else animal) if w not in dict(shots)])
    lines = "\n".join(f"{w}: {c}" for w, c in shots)
    msg = (fill(context_tokens) + f"\n\nClassify each word as fruit or animal.\n{lines}\n{query}:"
           "\nAnswer with fruit or animal only.")
    return msg, label


def robust_list_item(fill, rng, context_tokens, _depth):
    """Held-out template family (never trained on): an item of a short list given at the end."""
    items = rng.sample(["eggs", "milk", "bread", "apples", "rice", "butter", "cheese", "onions"], 4)
    k = rng.randrange(4)
    nth = ["first", "second", "third", "fourth"][k]
    msg = (fill(context_tokens) + f"\n\nShopping list: {', '.join(items)}.\n"
           f"What is the {nth} item on the shopping list? Answer with the item only.")
    return msg, items[k]


FACTS = [  # (fact, question, answer) builders for the `fact` families: sentences the 135M model can retrieve
    lambda r: (f"The secret number is {(n := r.randint(100, 999))}", "What is the secret number?", str(n)),
    lambda r: (f"The magic word is {(w := r.choice(WORDS))}", "What is the magic word?", w),
    lambda r: (f"{(p := r.choice(NAMES))}'s favourite colour is {(c := r.choice(COLORS))}",
               f"What is {p}'s favourite colour?", c),
    lambda r: (f"The meeting will take place in {(c := r.choice(CITIES))}", "In which city will the meeting take place?",
               c),
    lambda r: (f"The train to {(c := r.choice(CITIES))} leaves from platform {(n := r.randint(10, 49))}",
               f"From which platform does the train to {c} leave?", str(n)),
    lambda r: (f"The {(o := r.choice(OBJECTS))} costs {(n := r.randint(20, 99))} dollars",
               f"How many dollars does the {o} cost?", str(n)),
    lambda r: (f"{(p := r.choice(NAMES))} keeps the spare key under the {(o := r.choice(OBJECTS))}",
               f"Where does {p} keep the spare key?", o),
    lambda r: (f"The name of the ship is {(w := r.choice(WORDS).capitalize())}", "What is the name of the ship?", w),
]


def needle_fact(fill, rng, context_tokens, depth):
    """One of FACTS at `depth`, its question at the end (needle); near_fact puts the same fact right before it."""
    fact, question, answer = rng.choice(FACTS)(rng)
    body = _with_needle(fill, context_tokens, depth, fact + ".")
    return body + f"\n\n{question} Answer in a few words.", answer


def _near(needle_fn):
    """The robust twin of a needle family: the same prompt with the fact(s) at depth 1 (right before the question,
    well inside a streaming window)."""
    def near(fill, rng, context_tokens, _depth):
        return needle_fn(fill, rng, context_tokens, 1.0)
    near.__doc__ = f"{needle_fn.__name__} with the fact right before the question (robust)."
    return near


def needle_far_code(fill, rng, context_tokens, depth):
    """robust_recent_code's update at `depth`, far from the question (needle)."""
    code = str(rng.randint(1000, 9999))
    body = _with_needle(fill, context_tokens, depth, f"Latest update: the access code is now {code}.")
    return body + "\n\nWhat is the access code in the latest update?", code


def needle_far_variable(fill, rng, context_tokens, depth):
    """robust_recent_variable's assignment at `depth`, far from the question (needle)."""
    value = str(rng.randint(100, 999))
    var = rng.choice(["A", "B", "C", "M", "N"])
    body = _with_needle(fill, context_tokens, depth, f"Finally, {var} = {value}.")
    return body + f"\n\nWhat is {var} equal to at the end? Reply with the number.", value


NEEDLE_TASKS = {"passkey": needle_passkey, "variable": needle_variable, "docqa": needle_docqa,
                "multikey": needle_multikey, "multivalue": needle_multivalue, "vartrack": needle_vartrack,
                "freqword": needle_freqword, "kv_record": needle_kv_record}
ROBUST_TASKS = {"count": robust_count, "recent_code": robust_recent_code, "recent_variable": robust_recent_variable,
                "repeat": robust_repeat, "summary": robust_summary, "icl_classify": robust_icl_classify,
                "list_item": robust_list_item}
# The held-out set's families (round 4's, in this order): new families go to training only, so its prompts stay
# the same and its tables comparable across rounds.
EVAL_NEEDLE_TASKS = sorted(NEEDLE_TASKS)
EVAL_ROBUST_TASKS = sorted(ROBUST_TASKS)
CONTRAST_NEEDLE = {"fact": needle_fact, "far_code": needle_far_code, "far_variable": needle_far_variable}
CONTRAST_ROBUST = {"near_fact": _near(needle_fact), "near_passkey": _near(needle_passkey),
                   "near_variable": _near(needle_variable), "near_docqa": _near(needle_docqa),
                   "near_multikey": _near(needle_multikey)}
NEEDLE_TASKS.update(CONTRAST_NEEDLE)
ROBUST_TASKS.update(CONTRAST_ROBUST)
CONTRAST_TASKS = set(CONTRAST_NEEDLE) | set(CONTRAST_ROBUST)
# Template families kept out of training (and of the trainer's validation split): the sweep's held-out set has
# them, so its table tells whether the router generalizes to a prompt form it never saw.
HELD_OUT_TEMPLATES = {"kv_record", "list_item"}
TASK_TYPES = sorted(NEEDLE_TASKS) + sorted(ROBUST_TASKS)  # one (λ1, λ2) pair each in training


def make_task(tok, rng, kind, name, context_tokens, depth, filler="classic"):
    table = NEEDLE_TASKS if kind == "needle" else ROBUST_TASKS
    msg, answer = table[name](Filler(tok, filler, rng), rng, context_tokens, depth)
    answers = answer if isinstance(answer, list) else [answer]
    task = {"kind": kind, "task": name, "context_tokens": context_tokens,
            "depth": depth if kind == "needle" else None, "held_out_template": name in HELD_OUT_TEMPLATES,
            "filler": filler, "held_out_filler": filler in HELD_OUT_STYLES,
            "messages": [{"role": "user", "content": msg}], "answer": answers[0]}
    if len(answers) > 1:
        task["answers"] = answers  # all must appear in the output (the sweep and the trainer score so)
    return task


def task_answers(task):
    return task.get("answers") or [task["answer"]]


def is_correct(task, text):
    """The one scoring rule (the sweep's too): every expected answer appears in the output, case-insensitive."""
    low = text.lower()
    return all(a.lower() in low for a in task_answers(task))


def training_families(kind, contrast=True):
    """The template families training samples for a kind: all but the held-out ones (and the contrast ones when
    contrast is off)."""
    table = NEEDLE_TASKS if kind == "needle" else ROBUST_TASKS
    return sorted(n for n in table if n not in HELD_OUT_TEMPLATES and (contrast or n not in CONTRAST_TASKS))


def sample_kind(tok, rng, kind, n, min_tokens=768, max_tokens=7680, families=None):
    """n tasks of one kind from the trained template families and filler styles only (a style drawn per task, for
    both kinds, so the filler alone never tells needle from robust). A needle's depth is uniform over
    [0, 1 − FAR_TOKENS/context] so the fact lies more than a window + a block before the question (the SA layers
    cannot see it)."""
    families = families or training_families(kind)
    out = []
    for _ in range(n):
        name = rng.choice(families)
        ctx = rng.randint(min_tokens, max_tokens)
        depth = round(rng.uniform(0.0, max(0.0, 1.0 - FAR_TOKENS / ctx)), 2)
        out.append(make_task(tok, rng, kind, name, ctx, depth, rng.choice(TRAIN_STYLES)))
    return out


def sample_tasks(tok, seed, n, min_tokens=768, max_tokens=7680):
    """n training/validation tasks, needle and robust alternating (sample_kind)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        out += sample_kind(tok, rng, "needle" if i % 2 == 0 else "robust", 1, min_tokens, max_tokens)
    return out


def needle_grid(tok, seed, contexts=(1024, 2048, 4096, 7680), depths=(0.0, 0.25, 0.5, 0.75, 1.0), per_cell=2,
                n_robust=20):
    """The sweep's held-out set: a context x depth needle grid plus robust prompts, over round 4's template families
    and filler styles (the held-out ones included, marked held_out_template / held_out_filler; the training-only
    round-5 ones not), both cycled so every cell of the grid mixes them."""
    rng = random.Random(seed)
    out = []
    needle_names, robust_names = EVAL_NEEDLE_TASKS, EVAL_ROBUST_TASKS
    at = 0
    for ctx in contexts:
        for depth in depths:
            for _ in range(per_cell):
                out.append(make_task(tok, rng, "needle", needle_names[at % len(needle_names)], ctx, depth,
                                     EVAL_STYLES[at % len(EVAL_STYLES)]))
                at += 1
    for i in range(n_robust):
        ctx = contexts[i % len(contexts)]
        out.append(make_task(tok, rng, "robust", robust_names[i % len(robust_names)], ctx, None,
                             EVAL_STYLES[i % len(EVAL_STYLES)]))
    for i, t in enumerate(out):
        t["id"] = f"{t['kind']}-{t['task']}-{t['context_tokens']}-{i}"
    return out
