"""Recognition metrics as PaddleOCR's RecMetric defines them.

word accuracy = exact matches / samples;
character accuracy = 1 - mean(edit_distance / max(len(pred), len(label)));
loose word accuracy = matches with case and spaces ignored (how scene-text
benchmarks are often scored, and how the released models' numbers on real
crops in the notes were measured).
"""


def edit_distance(a, b):
    """Levenshtein distance (pure Python; strings here are <= ~30 chars)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def norm_edit_distance(pred, label):
    return edit_distance(pred, label) / max(len(pred), len(label), 1)


def score(preds, labels):
    """{"word_acc", "char_acc", "loose_word_acc", "count"} for parallel lists of strings."""
    if len(preds) != len(labels):
        raise ValueError("preds and labels differ in length")
    n = len(labels)
    if n == 0:
        return {"word_acc": 0.0, "char_acc": 0.0, "loose_word_acc": 0.0, "count": 0}
    correct = sum(p == l for p, l in zip(preds, labels))
    loose = sum(_loose(p) == _loose(l) for p, l in zip(preds, labels))
    ned = sum(norm_edit_distance(p, l) for p, l in zip(preds, labels))
    return {"word_acc": correct / n, "char_acc": 1.0 - ned / n, "loose_word_acc": loose / n, "count": n}


def _loose(text):
    return text.replace(" ", "").lower()


# Glyphs that many fonts draw (nearly) alike; a misread that only swaps
# characters within one group is a "look-alike" error rather than a failure
# to read.  Case pairs are their own kind ("case") and are not listed here.
LOOK_ALIKES = ("lI1|!i", "O0oQD", ".,", "S5", "Z2", "B8", "G6", "'`", ":;", "-_")

# The kinds of misread, in the order they are tested (the first that fits wins).
MISREAD_KINDS = ("case", "spacing", "repeat", "look-alike", "one edit", "other")


def _collapse_runs(text):
    return "".join(c for i, c in enumerate(text) if i == 0 or c != text[i - 1])


def _alike(a, b):
    return any(a in group and b in group for group in LOOK_ALIKES)


def misread_kind(pred, label):
    """Which kind of error reading ``label`` as ``pred`` is (None when equal).

    "case": only letter case differs; "spacing": only spaces differ;
    "repeat": only the length of runs of one character differs ("Noreen" read
    as "Noren": CTC needs a blank frame between two equal letters, and a
    narrow image gives too few frames); "look-alike": same length, every
    differing pair in one LOOK_ALIKES group; "one edit": edit distance 1;
    "other": anything else."""
    if pred == label:
        return None
    if pred.lower() == label.lower():
        return "case"
    if pred.replace(" ", "") == label.replace(" ", ""):
        return "spacing"
    if _collapse_runs(pred) == _collapse_runs(label):
        return "repeat"
    if len(pred) == len(label) and all(p == l or _alike(p, l) for p, l in zip(pred, label)):
        return "look-alike"
    if edit_distance(pred, label) == 1:
        return "one edit"
    return "other"


def misread_kinds(preds, labels):
    """{kind: count} over the misread samples, every kind of MISREAD_KINDS present."""
    counts = dict.fromkeys(MISREAD_KINDS, 0)
    for p, l in zip(preds, labels):
        kind = misread_kind(p, l)
        if kind:
            counts[kind] += 1
    return counts


def format_misreads(counts):
    """"one edit 12, case 3, ..." (most frequent first), or "none"."""
    parts = ["%s %d" % (kind, n) for kind, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n]
    return ", ".join(parts) or "none"
