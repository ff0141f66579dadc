"""Recognition metrics as PaddleOCR's RecMetric defines them.

word accuracy = exact matches / samples;
character accuracy = 1 - mean(edit_distance / max(len(pred), len(label))).
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
    """{"word_acc", "char_acc", "count"} for parallel lists of strings."""
    if len(preds) != len(labels):
        raise ValueError("preds and labels differ in length")
    n = len(labels)
    if n == 0:
        return {"word_acc": 0.0, "char_acc": 0.0, "count": 0}
    correct = sum(p == l for p, l in zip(preds, labels))
    ned = sum(norm_edit_distance(p, l) for p, l in zip(preds, labels))
    return {"word_acc": correct / n, "char_acc": 1.0 - ned / n, "count": n}
