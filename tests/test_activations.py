"""Tests of dlcourse.activations: every function and derivative against PyTorch."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

from dlcourse import activations

# Points on both sides of every kink, but none exactly on one, where derivatives are a convention.
Z = np.concatenate([np.linspace(-6, 6, 120), [-40.0, 40.0, 1e-3, -1e-3]])

TORCH = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "ReLU": torch.relu,
    "leaky ReLU": lambda t: torch.nn.functional.leaky_relu(
        t, negative_slope=0.1
    ),
    "maxout": lambda t: torch.maximum(1.0 * t + 0.0, -0.5 * t + 0.5),
    "ELU": lambda t: torch.nn.functional.elu(t, alpha=1.0),
}


@pytest.mark.parametrize("name", list(activations.ACTIVATIONS))
def test_function_and_derivative_match_pytorch_autograd(name):
    t = torch.tensor(Z, dtype=torch.float64, requires_grad=True)
    expected = TORCH[name](t)
    expected.sum().backward()
    activation = activations.ACTIVATIONS[name]
    np.testing.assert_allclose(
        activation.function(Z), expected.detach().numpy(), atol=1e-12
    )
    np.testing.assert_allclose(
        activation.derivative(Z), t.grad.numpy(), atol=1e-12
    )


def test_sigmoid_does_not_overflow_and_saturates():
    with np.errstate(over="raise"):
        values = activations.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(values, [0.0, 0.5, 1.0])
    assert activations.sigmoid_grad(np.array(0.0)) == pytest.approx(0.25)
    assert activations.sigmoid_grad(np.array(20.0)) < 1e-8


def test_step_is_the_perceptrons_decision():
    np.testing.assert_array_equal(
        activations.step(np.array([-2.0, 0.0, 3.0])), [0, 0, 1]
    )


def test_maxout_picks_the_largest_piece_for_any_shape():
    x = np.array([[-2.0, 0.0], [1.0, 3.0]])
    out = activations.maxout(x, weights=(1.0, -1.0), biases=(0.0, 0.0))
    np.testing.assert_array_equal(out, np.abs(x))
    np.testing.assert_array_equal(
        activations.maxout_grad(x, weights=(1.0, -1.0), biases=(0.0, 0.0)),
        [[-1, 1], [1, 1]],
    )


def test_plot_activations_draws_function_and_derivative_per_panel():
    fig = activations.plot_activations(["sigmoid", "ReLU", "ELU"], ncols=2)
    drawn = [ax for ax in fig.axes if ax.lines]
    assert [ax.get_title() for ax in drawn] == ["sigmoid", "ReLU", "ELU"]
    assert all(ax.get_xlabel() == "z" and ax.get_ylabel() for ax in drawn)
    assert [line.get_label() for line in drawn[0].lines[:2]] == [
        "f(z)",
        "f'(z)",
    ]
    assert (
        len(fig.axes) == 4 and not fig.axes[3].axison
    )  # the unused panel is blank
