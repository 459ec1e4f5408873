"""What sphinx-gallery does between two examples, which all run in the build's one process."""

from __future__ import annotations

import sys


def reset_keras_policy(gallery_conf, fname) -> None:
    """Give each example Keras's default float32 policy, whatever the example before it set.

    An example that computes in bfloat16 sets Keras's global policy, which would otherwise
    carry over into the next one; a reader who runs an example alone starts from float32.
    """
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.mixed_precision.set_global_policy("float32")
