"""
More data: one-pixel shifts
===========================

Every training digit plus four copies moved by one pixel make a training set five times larger,
on which the convolutional network is trained again. The page shows the shifted copies, where
and how long the network trained, and its result beside the network trained on the original
data; :doc:`/book/more_data` also shows how today's libraries augment on the fly.
"""

# dlcourse: gpu
# This example takes a GPU when there is one and runs on a CPU otherwise, more slowly.

# %%
# Shifted copies of a digit
# -------------------------
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from dlcourse import augment, data, experiments, plots, report

mnist = data.load_mnist()
copies, labels = augment.expand_with_shifts(mnist.train_images[:1], mnist.train_labels[:1])
fig = plots.plot_digits(copies, ["original", "down", "up", "right", "left"], ncols=5)

# %%
# Train on the expanded set
# -------------------------
result = experiments.run("cnn_expanded", device="auto")
print(report.describe_run(result))
baseline = experiments.run("cnn", device="auto")

# %%
# Compare with the 2018 course
# ----------------------------
report.require_in_band(experiments.get("cnn_expanded"), result)
report.comparison_table(
    [(experiments.get("cnn"), baseline), (experiments.get("cnn_expanded"), result)]
)

# %%
# Learning curves
# ---------------
fig = plots.plot_history(result.history_dict(), title="CNN on the expanded training set")
