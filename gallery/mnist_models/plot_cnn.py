"""
A convolutional network on MNIST
================================

Two convolutional layers of 32 filters, max-pooling and a dense layer of 256 neurons: the 2018
course's network, the first of its models past 99 % test accuracy. The page shows where and how
long it trained, its learning curves and its 32 learned first-layer filters; the ideas behind it
are in :doc:`/book/convolutional_networks`.
"""

# dlcourse: gpu
# This example takes a GPU when there is one and runs on a CPU otherwise, more slowly.

# %%
# Train
# -----
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from dlcourse import experiments, figures, plots, report, train

experiment = experiments.get("cnn")
result = experiments.run("cnn", device="auto")
print(report.describe_run(result))

# %%
# Compare with the 2018 course
# ----------------------------
report.require_in_band(experiment, result)
report.comparison_table([(experiment, result)])

# %%
# Learning curves
# ---------------
fig = plots.plot_history(result.history_dict(), title="Convolutional network")

# %%
# The learned filters
# -------------------
# Each 3 × 3 filter of the first layer responds to one kind of local pattern, often an edge.
kernels, _ = train.load_model(result).layers[0].get_weights()
fig = figures.plot_filters(kernels)
