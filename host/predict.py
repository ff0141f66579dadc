"""Paddle inference reference: ``python -m host.predict IMAGE...``.

    python -m host.predict [--model build/model/en_PP-OCRv3_rec] IMAGE... \
        [--labels FILE] [--limit N] [--json reference.json] [--onnx model.qdq.onnx]

Reads each image with model.inference.Recognizer (PaddleOCR's preprocessing
and greedy CTC decode on Paddle Inference, images decoded exactly as the
device's image blob is made) and prints ``path<TAB>text<TAB>score``; ``--json``
writes ``{"model":..., "images": [{"path","text","score","label"}, ...]}``, the
reference the device report compares the firmware's output with.
``--onnx`` runs that ONNX file with onnxruntime instead (the int8 QDQ model of
codegen.quantize: the reference of a precision=int8 firmware); meta.json and
dict.txt still come from --model.
"""
import argparse
import sys

DEFAULT_MODEL = "build/model/en_PP-OCRv3_rec"


def onnx_recognizer(model_dir, onnx_path):
    """A model.inference.Recognizer whose network is an ONNX file run by
    onnxruntime (one thread: the same numbers on any machine)."""
    import onnxruntime as ort
    from model.errors import ModelError
    from model.inference import Recognizer

    class OnnxRecognizer(Recognizer):
        def load_network(self):
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            try:
                self.session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
            except Exception as err:  # onnxruntime raises its own types for bad files
                raise ModelError("%s: not a model onnxruntime can run (%s)"
                                 % (onnx_path, str(err).splitlines()[0])) from None
            self.input_name = self.session.get_inputs()[0].name

        def run_network(self, batch):
            return self.session.run(None, {self.input_name: batch})[0]
    return OnnxRecognizer(model_dir)


def main(argv=None):
    from model.errors import ModelError
    from model.files import write_json
    from model.inference import Recognizer, read_labels
    from model.labelfile import recorded_path
    ap = argparse.ArgumentParser(prog="python -m host.predict", description=__doc__.split("\n")[0])
    ap.add_argument("images", nargs="*", help="image files")
    ap.add_argument("--model", default=DEFAULT_MODEL, help="inference model directory")
    ap.add_argument("--labels", help="also read the images of a PaddleOCR label file")
    ap.add_argument("--limit", type=int, help="at most this many label-file images")
    ap.add_argument("--json", help="write the results as JSON (host.report's --reference)")
    ap.add_argument("--onnx", help="run this ONNX file (onnxruntime) instead of the Paddle model")
    a = ap.parse_args(argv)
    try:
        entries = [(p, None) for p in a.images]
        if a.labels:
            entries += [(recorded_path(p), label) for p, label in read_labels(a.labels)[:a.limit]]
        if not entries:
            raise ModelError("no images given")
        rec = onnx_recognizer(a.model, a.onnx) if a.onnx else Recognizer(a.model)
        results = []
        for path, label in entries:
            text, score = rec.read_file(path)
            results.append({"path": path, "text": text, "score": score, "label": label})
            if not a.json:
                print("%s\t%s\t%.6f" % (path, text, score), flush=True)
        if a.json:
            write_json(a.json, {"model": a.onnx or a.model, "images": results}, sort_keys=False)
            print("host reference: %d images -> %s" % (len(results), a.json))
    except ModelError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    from model.errors import run_main
    sys.exit(run_main(main))
