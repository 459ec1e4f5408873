"""
Activation functions and their derivatives
==========================================

Six activation functions drawn with their derivatives, and the derivatives checked against
PyTorch's automatic differentiation. The plot shows where each function saturates, with a slope
near zero, and where it passes gradients on; the ideas are explained in
:doc:`/book/neurons_activations`.
"""

# %%
# Draw the functions
# ------------------
# The library holds each function with its hand-written derivative.
import numpy as np
import torch

from dlcourse import activations

fig = activations.plot_activations()

# %%
# Check the derivatives
# ---------------------
# Autograd differentiates the PyTorch version of each function; the two slopes must agree.
z = torch.linspace(-5, 5, 1001, dtype=torch.float64, requires_grad=True)
framework = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "ReLU": torch.relu,
    "leaky ReLU": lambda t: torch.nn.functional.leaky_relu(
        t, negative_slope=0.1
    ),
    "maxout": lambda t: torch.maximum(t, 0.5 - 0.5 * t),
    "ELU": torch.nn.functional.elu,
}
for name, function in framework.items():
    (slope,) = torch.autograd.grad(function(z).sum(), z)
    ours = activations.ACTIVATIONS[name].derivative(z.detach().numpy())
    print(
        f"{name:10s} largest difference from autograd: "
        f"{np.abs(ours - slope.numpy()).max():.1e}"
    )

# %%
# Takeaway
# --------
# Sigmoid and tanh pass on almost no gradient once their input is large; the ReLU family keeps
# a slope of 1 for positive inputs, which is why deep networks use it in their hidden layers.
for name in ("sigmoid", "tanh", "ReLU"):
    print(
        f"{name:8s} slope at z = 5: "
        f"{activations.ACTIVATIONS[name].derivative(np.array(5.0)):.4f}"
    )
