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
- manual:    the same from other standard-library modules (a disjoint pool: os, asyncio, unittest, ...)
- reference: sentences of the Python language reference (pydoc_data.topics, shipped with every CPython)
- mixed:     runs of 3-12 sentences, each run in another of the styles above (a haystack that changes voice)
- ledger:    held out: procedurally built narrative sentences (name, verb, object, place) never seen in training
manual, reference and mixed are new in round 5 (training only): more voices, so the router cannot key on what the
first pooled tokens look like. EVAL_STYLES, the held-out set's, stay round 4's five so its prompts do not change.
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

TRAIN_STYLES = ["classic", "cycle", "shuffled", "docs", "manual", "reference", "mixed"]
HELD_OUT_STYLES = ["ledger"]
STYLES = TRAIN_STYLES + HELD_OUT_STYLES
EVAL_STYLES = ["classic", "cycle", "shuffled", "docs", "ledger"]  # the held-out set's (round 4's), in this order

_DOC_MODULES = ["argparse", "collections", "csv", "json", "textwrap", "string", "shutil", "tempfile", "logging",
                "pathlib", "random", "statistics", "difflib", "email", "http", "urllib", "zipfile", "tarfile",
                "sqlite3", "threading", "queue", "heapq", "bisect", "functools", "itertools", "contextlib",
                "dataclasses", "enum", "typing", "calendar", "fractions", "decimal", "gettext", "locale", "pickle"]
# Training only (round 5): other modules' docstrings, a pool disjoint from _DOC_MODULES' (the held-out set's docs).
_MANUAL_MODULES = ["os", "subprocess", "asyncio", "unittest", "socket", "ssl", "inspect", "ast", "re", "datetime",
                   "configparser", "codecs", "io", "pprint", "traceback", "warnings", "weakref", "copy", "types",
                   "operator", "abc", "numbers", "hashlib", "secrets", "struct", "signal", "multiprocessing",
                   "concurrent.futures", "sched", "mailbox", "smtplib", "ftplib", "xmlrpc.client", "pdb", "doctest",
                   "timeit", "trace", "tracemalloc", "pkgutil", "importlib", "runpy", "sysconfig", "platform",
                   "getopt", "optparse", "cmd", "shlex", "glob", "fnmatch", "filecmp", "fileinput", "linecache",
                   "tokenize", "dis", "pickletools", "code", "base64", "mimetypes", "uuid", "ipaddress", "gzip",
                   "bz2", "lzma", "imaplib", "poplib", "selectors", "socketserver", "http.client", "http.server",
                   "html.parser", "xml.dom.minidom", "xml.sax", "email.message", "plistlib", "netrc", "zipapp",
                   "compileall", "py_compile", "graphlib", "reprlib", "shelve", "contextvars", "pstats", "profile"]
_pools = {}


def _clean_sentences(texts, seen, out):
    """Sentences of 6-30 words, letters and simple punctuation only (no digits, so a needle's number is the only
    number; no ". " inside), each once."""
    for text in texts:
        for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
            s = s.rstrip(".")
            words = s.split()
            if 6 <= len(words) <= 30 and re.fullmatch(r"[A-Za-z ,;'()-]+", s) and s[0].isupper() and s not in seen:
                seen.add(s)
                out.append(s)
    return out


def _docstrings(modules):
    for name in modules:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        objs = [mod] + [v for _, v in sorted(vars(mod).items()) if inspect.isclass(v) or inspect.isfunction(v)]
        for o in objs:
            yield inspect.getdoc(o) or ""


def _pool(name):
    """The sentence pool of a prose style; a stripped Python falls back to the everyday pool, not a tiny cycle."""
    if name not in _pools:
        if name == "docs":
            out = _clean_sentences(_docstrings(_DOC_MODULES), set(), [])
        elif name == "manual":
            out = _clean_sentences(_docstrings(_MANUAL_MODULES), set(_pool("docs")), [])
            out = [s for s in out if "--" not in s]  # reST rules and option names, not prose
        else:  # reference
            try:
                from pydoc_data.topics import topics
                texts = [topics[k] for k in sorted(topics)]
            except ImportError:
                texts = []
            out = [s for s in _clean_sentences(texts, set(_pool("docs")) | set(_pool("manual")), []) if "--" not in s]
        if len(out) < 50:
            out.extend(EVERYDAY)
        _pools[name] = out
    return _pools[name]


def _doc_sentences():
    return _pool("docs")


_LENGTHS = {}  # id(tokenizer) -> sentence -> its token count, shared by all fillers (training draws ~2000 prompts)


class Filler:
    """fill(n_tokens) -> filler text of about n_tokens tokens in one style (whole sentences, ". "-joined, ending
    in ". "). The style's choices (cycle members, draws) come from rng, so a task is reproducible from its seed."""

    def __init__(self, tok, style, rng):
        if style not in STYLES:
            raise ValueError(f"unknown filler style {style!r} (one of {STYLES})")
        self.tok, self.style, self.rng = tok, style, rng
        self._lengths = _LENGTHS.setdefault(id(tok), {})

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
        elif self.style in ("docs", "manual", "reference"):
            docs = _pool(self.style)
            i = rng.randrange(len(docs))
            while True:  # a contiguous run from a random start, like reading a manual
                yield docs[i % len(docs)]
                i += 1
        elif self.style == "mixed":
            voices = [Filler(self.tok, s, rng)._sentences() for s in TRAIN_STYLES if s != "mixed"]
            while True:
                voice = rng.choice(voices)
                for _ in range(rng.randint(3, 12)):
                    yield next(voice)
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
