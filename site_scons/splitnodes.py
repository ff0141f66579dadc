"""How the graph stands for a rendered split's images.

``RenderSplits`` declares ``<split>/label.txt`` and ``<split>/images.sha256``
(model.dataset writes the digest of every image into it) instead of 2,000
image nodes per split: SCons's cost per no-op grows steeply with the number of
targets of one builder call. A builder that reads the images depends on the
manifest, so re-rendered images rebuild what was made from them.
"""
import os

MANIFEST = "images.sha256"  # model.dataset.MANIFEST


def split_manifest(env, labels):
    """[the manifest node] for a label file the graph renders; [] for a user's own
    label file, whose images are outside the graph."""
    if not labels.has_builder():
        return []
    return [env.File(os.path.join(os.path.dirname(labels.abspath), MANIFEST))]
