"""What the renderer writes: English words and the other strings signs carry.

Words come from Debian's ``wamerican`` list, filtered to dictionary characters.
Each word is assigned to one split by a hash of its lower-case form
(``split_of``), so validation/test words never occur in training, whatever the
seed.  Besides words the generator makes numbers, dates, times, prices, codes,
phone numbers, e-mail/web addresses, punctuated words and random-character
strings; the last kind guarantees every dictionary character appears in
training.  ``level`` (0..1) is the curriculum knob: at 0 only short single
words, at 1 the full mix of lengths and kinds.
"""
import functools
import hashlib
import os

from .errors import ModelError

SPLITS = ("train", "val", "test")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
          "Nov", "Dec", "January", "February", "March", "April", "June", "July",
          "August", "September", "October", "November", "December"]
TLDS = ["com", "org", "net", "io", "co.uk", "de", "info", "shop"]


def split_of(word):
    """Deterministic split of a word: 10% val, 10% test, 80% train."""
    h = int(hashlib.md5(word.lower().encode("utf-8")).hexdigest()[:8], 16) % 10
    return "val" if h == 0 else "test" if h == 1 else "train"


@functools.lru_cache(maxsize=4)
def load_words(alphabet, path=None):
    """{split: sorted words} from the word list (default: the one pinned in
    model/render.lock, Debian's wamerican), keeping words whose characters
    are all in ``alphabet`` (a string).  Possessives ("cat's") are dropped: they
    are a third of wamerican and would skew the apostrophe's frequency."""
    if path is None:
        from .fonts import wordlist
        path = wordlist()
    if not os.path.isfile(path):
        raise ModelError("word list not found: %s (install Debian's wamerican)" % path)
    allowed = set(alphabet)
    with open(path, encoding="utf-8") as f:
        words = sorted({w.strip() for w in f
                        if w.strip() and not w.strip().endswith("'s")
                        and set(w.strip()) <= allowed})
    out = {s: [] for s in SPLITS}
    for w in words:
        out[split_of(w)].append(w)
    return out


class TextSampler:
    """Draws label strings for one split from a ``numpy.random.Generator``."""

    def __init__(self, alphabet, split="train", max_len=25, wordlist=None,
                 exclude_random=False):
        if split not in SPLITS:
            raise ModelError("unknown split %r" % split)
        self.alphabet = "".join(sorted(set(alphabet)))
        self.visible = self.alphabet.replace(" ", "")
        self.punct = "".join(c for c in self.visible if not c.isalnum())
        self.words = load_words(self.alphabet, wordlist)[split]
        self.max_len = max_len
        self.kinds = [  # (weight at level 1, generator)
            (0.40, self.word), (0.12, self.phrase), (0.07, self.number),
            (0.05, self.date), (0.04, self.price), (0.07, self.code),
            (0.03, self.contact), (0.10, self.punctuated), (0.06, self.random_chars),
            (0.03, self.time_or_percent), (0.03, self.short_word),
        ]
        if exclude_random:
            self.kinds = [k for k in self.kinds if k[1] != self.random_chars]

    # -- building blocks --------------------------------------------------
    def _case(self, rng, w):
        r = rng.random()
        if r < 0.45:
            return w
        if r < 0.70:
            return w[:1].upper() + w[1:]
        if r < 0.90:
            return w.upper()
        return w.lower()

    def _word(self, rng, max_chars):
        for _ in range(20):
            w = self.words[rng.integers(len(self.words))]
            if len(w) <= max_chars:
                return w
        return w[:max_chars]

    # -- kinds ------------------------------------------------------------
    def word(self, rng, level):
        return self._case(rng, self._word(rng, int(6 + 14 * level)))

    def short_word(self, rng, level):
        return self._case(rng, self._word(rng, 4))

    def phrase(self, rng, level):
        n = int(rng.integers(2, 4))
        return " ".join(self._case(rng, self._word(rng, 10)) for _ in range(n))

    def number(self, rng, level):
        r = rng.random()
        v = int(10 ** rng.uniform(0, 7))
        if r < 0.4:
            return str(v)
        if r < 0.7:
            return "{:,}".format(v)
        if r < 0.85:
            return "%.*f" % (int(rng.integers(1, 4)), rng.uniform(0, 1000))
        return ("-" if rng.random() < 0.5 else "+") + str(v)

    def date(self, rng, level):
        y, m, d = int(rng.integers(1950, 2040)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
        fmt = int(rng.integers(6))
        mon = MONTHS[int(rng.integers(len(MONTHS)))]
        return ["%04d-%02d-%02d" % (y, m, d), "%02d/%02d/%04d" % (d, m, y),
                "%d.%d.%02d" % (d, m, y % 100), "%s %d, %d" % (mon, d, y),
                "%d %s %d" % (d, mon, y), "%s %d" % (mon.upper(), d)][fmt]

    def price(self, rng, level):
        v = rng.uniform(0, 2000) if rng.random() < 0.8 else rng.uniform(0, 20)
        cents = "%.2f" % v
        return ["$" + cents, "$%d" % v, cents + " USD", "USD " + cents,
                "$" + "{:,.2f}".format(v * 100), cents + "/kg", "%s%%" % int(v % 100),
                "#" + str(int(v))][int(rng.integers(8))]

    def code(self, rng, level):
        up, dig = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789"
        pick = lambda s, n: "".join(s[i] for i in rng.integers(len(s), size=n))
        return [pick(up, 2) + "-" + pick(dig, 4), pick(up, 3) + pick(dig, 3),
                "SKU#" + pick(dig + up, 6), pick(dig, 3) + "/" + pick(dig, 2),
                "No." + pick(dig, 3), pick(up + dig, 8), "A" + pick(dig, 2) + "_" + pick(up, 2),
                "v" + pick(dig, 1) + "." + pick(dig, 1) + "." + pick(dig, 2),
                pick(up, 1) + pick(dig, 1) + pick(up, 1) + " " + pick(dig, 1) + pick(up, 1) + pick(dig, 1),
                ][int(rng.integers(9))]

    def contact(self, rng, level):
        w = lambda: self._word(rng, 7).lower()
        tld = TLDS[int(rng.integers(len(TLDS)))]
        d = lambda n: "".join(str(x) for x in rng.integers(10, size=n))
        return ["%s@%s.%s" % (w(), w(), tld), "www.%s.%s" % (w(), tld),
                "(%s) %s-%s" % (d(3), d(3), d(4)), "+1 %s %s %s" % (d(3), d(3), d(4)),
                "@%s_%s" % (w(), d(2)), "%s.%s/%s" % (w(), tld, w())][int(rng.integers(6))]

    def punctuated(self, rng, level):
        w = self._case(rng, self._word(rng, 10))
        r = int(rng.integers(8))
        p = self.punct[int(rng.integers(len(self.punct)))]
        pairs = ["()", "[]", "{}", "<>", '""', "''", "**", "``"]
        a, b = pairs[int(rng.integers(len(pairs)))]
        return [w + p, p + w, a + w + b, w + p + p, w + "'s", "%s%s%s" % (w, p, self._word(rng, 6)),
                w + "!", w + "?"][r]

    def random_chars(self, rng, level):
        n = int(rng.integers(1, 4 + int(8 * level)))
        pool = self.visible if rng.random() < 0.5 else self.punct
        return "".join(pool[i] for i in rng.integers(len(pool), size=n))

    def time_or_percent(self, rng, level):
        h, m = int(rng.integers(24)), int(rng.integers(60))
        return ["%02d:%02d" % (h, m), "%d:%02d %s" % (h % 12 + 1, m, ["AM", "PM", "am", "pm"][h % 4]),
                "%d%%" % rng.integers(101), "%.1f%%" % rng.uniform(0, 100),
                "%d-%d" % (h, h + m), "%dx%d" % (h + 1, m + 1)][int(rng.integers(6))]

    # -- public -----------------------------------------------------------
    def sample(self, rng, level=1.0):
        """One label string, never empty, never longer than ``max_len``,
        without leading/trailing spaces (a crop cannot show them)."""
        if level < 0.15:  # curriculum start: plain short words only
            text = self._case(rng, self._word(rng, 6 + int(20 * level)))
        else:
            weights = [w for w, _ in self.kinds]
            i = rng.choice(len(self.kinds), p=[w / sum(weights) for w in weights])
            text = self.kinds[i][1](rng, level)
        text = " ".join(text.split())
        if len(text) > self.max_len:  # cut at a word boundary when there is one
            cut = text[: self.max_len + 1].rfind(" ")
            text = text[:cut] if cut > 0 else text[: self.max_len]
        return text or self.visible[int(rng.integers(len(self.visible)))]
