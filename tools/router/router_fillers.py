"""Haystack filler for the router's procedural tasks: several styles, so the router learns where the question's
facts lie and not what one filler looks like.

Why: trained on one filler (FILLER below, the classic passkey text), the round-3 router sent the app's own haystack
(eight narrative sentences in a cycle, ui/haystack_prompt.cpp) to SA like all-SA streaming and lost the needle in
the middle (bench/RESULTS.md, round 3). Every style yields whole sentences joined by ". ", so a needle can be put at
a sentence boundary by splitting on ". ".

Styles (TRAIN_STYLES are sampled in training; HELD_OUT_STYLES only appear in the sweep's held-out set):
- classic:   "The grass is green. The sky is blue. ..." repeated (RULER's passkey filler)
- cycle:     a few everyday sentences from a pool, repeated in a fixed cycle (the app's kind of haystack, other text)
- shuffled:  everyday sentences drawn at random from the pool (no period)
- docs:      sentences from the docstrings of Python's standard library (real technical prose; no digits)
- ledger:    held out: procedurally built narrative sentences (name, verb, object, place) never seen in training
"""
import importlib
import inspect
import re

FILLER = ("The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. ")

EVERYDAY = [
    "The morning train left the station a few minutes late",
    "A small dog slept under the kitchen table all afternoon",
    "The teacher wrote the date on the board before the lesson began",
    "Rain tapped against the windows of the quiet farmhouse",
    "The market opened early and the stalls filled with fresh bread",
    "Two children built a tower of blocks on the living room floor",
    "The painter mixed blue and white to get the colour of the sky",
    "A cold wind blew across the harbour and rattled the boats",
    "The gardener trimmed the hedges along the narrow path",
    "Music drifted from an open window on the third floor",
    "The postman whistled as he walked from door to door",
    "Old letters were stored in a wooden box in the attic",
    "The cook tasted the soup and added a pinch of salt",
    "Snow covered the roofs of the village during the night",
    "A tired traveller asked for directions at the corner shop",
    "The museum guard checked the doors before closing time",
    "Leaves floated slowly down the river towards the bridge",
    "The students gathered in the hall for the evening concert",
    "A lighthouse keeper climbed the stairs to light the lamp",
    "The bicycle leaned against the fence beside the garden gate",
    "Bees moved from flower to flower in the warm sunshine",
    "The carpenter measured the board twice before cutting it",
    "A pot of tea cooled on the table next to an open book",
    "The town clock struck noon as the shops began to close for lunch",
]

LEDGER_NAMES = ["Marta", "Tobias", "Ingrid", "Rafael", "Yusuf", "Colette", "Anders", "Priya", "Matteo", "Sofia"]
LEDGER_VERBS = ["carried", "repaired", "painted", "wrapped", "cleaned", "sold", "borrowed", "polished"]
LEDGER_OBJECTS = ["a wooden chest", "the old lantern", "a basket of apples", "the broken chair", "a pair of boots",
                  "the iron gate", "a roll of cloth", "the copper kettle"]
LEDGER_PLACES = ["near the mill", "behind the chapel", "at the harbour", "in the orchard", "by the well",
                 "on the hillside", "at the crossroads", "inside the barn"]

TRAIN_STYLES = ["classic", "cycle", "shuffled", "docs"]
HELD_OUT_STYLES = ["ledger"]
STYLES = TRAIN_STYLES + HELD_OUT_STYLES

_DOC_MODULES = ["argparse", "collections", "csv", "json", "textwrap", "string", "shutil", "tempfile", "logging",
                "pathlib", "random", "statistics", "difflib", "email", "http", "urllib", "zipfile", "tarfile",
                "sqlite3", "threading", "queue", "heapq", "bisect", "functools", "itertools", "contextlib",
                "dataclasses", "enum", "typing", "calendar", "fractions", "decimal", "gettext", "locale", "pickle"]
_doc_cache = []


def _doc_sentences():
    """Sentences of 6-30 words from the stdlib docstrings, letters and simple punctuation only (no digits, so a
    needle's number is the only number; no ". " inside)."""
    if _doc_cache:
        return _doc_cache
    seen = set()
    for name in _DOC_MODULES:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        objs = [mod] + [v for _, v in sorted(vars(mod).items()) if inspect.isclass(v) or inspect.isfunction(v)]
        for o in objs:
            doc = inspect.getdoc(o) or ""
            for s in re.split(r"(?<=[.!?])\s+", " ".join(doc.split())):
                s = s.rstrip(".")
                words = s.split()
                if 6 <= len(words) <= 30 and re.fullmatch(r"[A-Za-z ,;'()-]+", s) and s[0].isupper() and s not in seen:
                    seen.add(s)
                    _doc_cache.append(s)
    if len(_doc_cache) < 50:  # a stripped Python: fall back to the everyday pool rather than a tiny cycle
        _doc_cache.extend(EVERYDAY)
    return _doc_cache


class Filler:
    """fill(n_tokens) -> filler text of about n_tokens tokens in one style (whole sentences, ". "-joined, ending
    in ". "). The style's choices (cycle members, draws) come from rng, so a task is reproducible from its seed."""

    def __init__(self, tok, style, rng):
        if style not in STYLES:
            raise ValueError(f"unknown filler style {style!r} (one of {STYLES})")
        self.tok, self.style, self.rng = tok, style, rng
        self._lengths = {}

    def _tokens(self, s):
        if s not in self._lengths:
            self._lengths[s] = len(self.tok(s + ". ", add_special_tokens=False)["input_ids"])
        return self._lengths[s]

    def _sentences(self):
        """An endless sentence stream in this style."""
        rng = self.rng
        if self.style == "classic":
            base = [s for s in FILLER.split(". ") if s.strip()]
            while True:
                yield from (s.rstrip(". ") for s in base)
        elif self.style == "cycle":
            pool = rng.sample(EVERYDAY, rng.randint(5, 10))
            while True:
                yield from pool
        elif self.style == "shuffled":
            while True:
                yield rng.choice(EVERYDAY)
        elif self.style == "docs":
            docs = _doc_sentences()
            i = rng.randrange(len(docs))
            while True:  # a contiguous run from a random start, like reading a manual
                yield docs[i % len(docs)]
                i += 1
        else:  # ledger
            while True:
                yield (f"{rng.choice(LEDGER_NAMES)} {rng.choice(LEDGER_VERBS)} {rng.choice(LEDGER_OBJECTS)} "
                       f"{rng.choice(LEDGER_PLACES)}")

    def __call__(self, n_tokens):
        out, total = [], 0
        for s in self._sentences():
            if total >= n_tokens:
                break
            out.append(s)
            total += self._tokens(s)
        return ". ".join(out) + ". " if out else ""
