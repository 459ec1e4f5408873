"""Tests of dlcourse.models: the Keras and PyTorch versions of each model agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse import models

ARCHITECTURES = [
    models.Architecture("softmax"),
    models.Architecture("mlp", "sigmoid"),
    models.Architecture("mlp", "tanh"),
    models.Architecture("mlp", "relu", dropout=0.25),
    models.Architecture("cnn", dropout=0.25),
    models.Architecture("pytorch_example", dropout=0.5),
    models.Architecture("lenet"),
]


def _inputs(arch, framework, n=3):
    rng = np.random.default_rng(0)
    if not arch.takes_images:
        return rng.random((n, models.NUM_PIXELS), dtype=np.float32)
    shape = (n, 1, 28, 28) if framework == "torch" else (n, 28, 28, 1)
    return rng.random(shape, dtype=np.float32)


@pytest.mark.parametrize(
    "arch", ARCHITECTURES, ids=lambda a: f"{a.kind}-{a.activation}"
)
def test_keras_and_torch_models_match(arch):
    keras_net = models.keras_model(arch)
    torch_net = models.torch_model(arch)
    assert models.count_parameters(keras_net) == models.count_parameters(
        torch_net
    )
    keras_out = np.asarray(keras_net(_inputs(arch, "keras")))
    torch_out = (
        torch_net.eval()(torch.from_numpy(_inputs(arch, "torch")))
        .detach()
        .numpy()
    )
    assert keras_out.shape == torch_out.shape == (3, models.NUM_CLASSES)
    # Keras ends in a softmax; PyTorch gives logits for cross_entropy to normalise.
    np.testing.assert_allclose(keras_out.sum(axis=1), 1.0, rtol=1e-5)


def test_parameter_counts_follow_the_layer_sizes():
    softmax = models.torch_model(models.Architecture("softmax"))
    assert models.count_parameters(softmax) == 784 * 10 + 10
    widths = (784, *models.MLP_HIDDEN, 10)
    expected = sum(a * b + b for a, b in zip(widths, widths[1:], strict=False))
    assert (
        models.count_parameters(models.torch_model(models.Architecture("mlp")))
        == expected
    )


def test_dropout_layers_only_where_asked():
    plain = models.torch_model(models.Architecture("mlp", "relu"))
    dropped = models.torch_model(
        models.Architecture("mlp", "relu", dropout=0.25)
    )

    def count(net):
        return sum(isinstance(m, torch.nn.Dropout) for m in net.modules())

    assert count(plain) == 0
    assert count(dropped) == len(models.MLP_HIDDEN)


def test_conv_output_side():
    assert models.conv_output_side(28, 3) == 26
    assert models.conv_output_side(26, 3, pool=2) == 12
    assert models.conv_output_side(28, 5, pool=2) == 12


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "transformer"}, "unknown model kind"),
        ({"kind": "mlp", "activation": "swish"}, "unknown activation"),
        ({"kind": "mlp", "dropout": 1.0}, "dropout must lie"),
    ],
)
def test_architecture_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.Architecture(**kwargs)
