"""
Batch, stochastic and mini-batch gradient descent
=================================================

One linear least-squares problem solved exactly and by three kinds of gradient descent, with the
same learning rate. The curves show the loss on all the data after every step: many noisy steps
against few exact ones, as discussed in :doc:`/book/ml_fundamentals`.
"""

# %%
# Make the data and solve it exactly
# ----------------------------------
# y = 2 x1 - 3 x2 + 1 plus noise; the normal equations give the best possible fit.
import matplotlib.pyplot as plt

from dlcourse import gradient_descent as gd

x, y = gd.make_linear_data(
    200, weights=(2.0, -3.0), bias=1.0, noise=0.5, seed=0
)
exact_weights, exact_bias = gd.least_squares(x, y)
exact_loss = gd.mse(x, y, exact_weights, exact_bias)
print(
    f"exact: w = {exact_weights.round(3)}, b = {exact_bias:.3f}, loss "
    f"{exact_loss:.4f}"
)

# %%
# Three kinds of gradient descent
# -------------------------------
# One epoch uses every example once: in one step, in batches of 20, or one example at a time.
EPOCHS, LEARNING_RATE = 20, 0.05
variants = {"batch": None, "mini-batch (20)": 20, "stochastic (1)": 1}
results = {
    name: gd.gradient_descent(
        x, y, learning_rate=LEARNING_RATE, epochs=EPOCHS, batch_size=batch_size
    )
    for name, batch_size in variants.items()
}
for name, result in results.items():
    print(
        f"{name:16s} {result.updates_per_epoch:3d} steps/epoch, final loss "
        f"{result.losses[-1]:.4f}"
    )

# %%
# Loss curves
# -----------
# Per epoch, small batches get close to the minimum long before batch descent does.
fig, ax = plt.subplots(figsize=(7, 3.6))
for name, result in results.items():
    ax.semilogy(result.epochs, result.losses, label=name, linewidth=1)
ax.axhline(exact_loss, color="black", linestyle="--", label="exact minimum")
ax.set_xlabel("epoch")
ax.set_ylabel("mean squared error (all data)")
ax.legend()
fig.tight_layout()
