"""host.report.evaluate: the device test's verdict (accuracy threshold, device =
host agreement), on synthetic rows."""
from host import report


def rows_and_reference(texts_device, texts_host, labels):
    rows = [{"path": "img%d.png" % i, "label": lab, "device_text": d, "device_score": 0.9,
             "instructions": 100} for i, (d, lab) in enumerate(zip(texts_device, labels))]
    reference = {"images": [{"path": "img%d.png" % i, "text": h, "score": 0.9}
                            for i, h in enumerate(texts_host)]}
    return rows, reference


def test_every_image_must_agree_by_default():
    rows, ref = rows_and_reference(["a", "b", "c"], ["a", "b", "x"], ["a", "b", "c"])
    summary, failures = report.evaluate(rows, ref, 0.5, 1e-4)
    assert not summary["passed"] and len(failures) == 1 and "img2.png" in failures[0]
    assert abs(summary["agreement"] - 2 / 3) < 1e-9


def test_min_agreement_allows_a_fraction_and_lists_the_rest():
    """The int8 build against onnxruntime's QDQ run: >= 99% of the texts equal."""
    n = 200
    host = ["w%d" % i for i in range(n)]
    device = list(host)
    device[7] = "other"
    rows, ref = rows_and_reference(device, host, host)
    summary, failures = report.evaluate(rows, ref, 0.9, 1.0, min_agreement=0.99)
    assert summary["passed"] and not failures and summary["agreement"] == 0.995
    device[8] = device[9] = "other"
    rows, ref = rows_and_reference(device, host, host)
    summary, failures = report.evaluate(rows, ref, 0.9, 1.0, min_agreement=0.99)
    assert not summary["passed"] and len(failures) == 1
    assert "below 99.00%" in failures[0] and "img7.png, img8.png, img9.png" in failures[0]
