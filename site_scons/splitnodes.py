"""How the graph stands for the images of a label file.

``RenderSplits`` declares ``<split>/label.txt`` and ``<split>/images.sha256``
(model.dataset writes the digest of every image into it) instead of 2,000
image nodes per split: SCons's cost per no-op grows steeply with the number of
targets of one builder call. ``RealData`` (model.realdata) does the same for
real crops: ``train.txt``, ``val.txt`` and their ``images.sha256``. A builder
that reads the images depends on the manifest, so changed images rebuild what
was made from them.

A label file of the user's (``real_data=``, ``eval labels=``) has no builder:
its images enter the graph as ``listed_images``, a Value of every listed
image's size and modification time (a stat of each, ~2 ms per thousand; no
file is read at parse time). A changed image changes the Value and reruns the
step that hashes or reads the images; a touched but unchanged one reruns only
that step, whose outputs come out the same, so nothing after it rebuilds.
"""
import os

MANIFEST = "images.sha256"  # model.dataset.MANIFEST, model.realdata.MANIFEST


def split_manifest(env, labels):
    """[the manifest node] for a label file the graph makes; [] for a user's own
    label file (see listed_images)."""
    if not labels.has_builder():
        return []
    return [env.File(os.path.join(os.path.dirname(labels.abspath), MANIFEST))]


def is_label_file(node):
    return node.name.endswith((".txt", ".tsv")) and node.name != "dict.txt"


def label_images(env, sources):
    """What stands for the images of every label file among ``sources``: the
    manifest of one the graph makes, the listed_images Value of a user's."""
    out = []
    for s in sources:
        if is_label_file(s):
            out += split_manifest(env, s) or [listed_images(env, s.abspath)]
    return out


def listed_images(env, labels_path):
    """A Value node standing for the images a user's label file lists."""
    base = os.path.dirname(os.path.abspath(labels_path))
    stats = []
    try:
        with open(labels_path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                rel = line.split("\t", 1)[0].strip()
                if not rel:
                    continue
                try:
                    st = os.stat(os.path.join(base, rel))
                    stats.append("%s %d %d" % (rel, st.st_size, st.st_mtime_ns))
                except OSError:
                    stats.append("%s missing" % rel)  # the step that reads it says so
    except OSError:
        stats.append("unreadable")
    return env.Value("\n".join(stats))


# The label-file names model.realdata looks for in a real_data= folder (model.realdata.LABEL_FILES).
LABEL_FILES = ("labels.tsv", "label.txt")


def label_file_of(source):
    """The label file a real_data= value names: the file itself, or the first of
    LABEL_FILES in the folder; None when the folder has none."""
    if os.path.isfile(source):
        return source
    for name in LABEL_FILES:
        if os.path.isfile(os.path.join(source, name)):
            return os.path.join(source, name)
    return None
