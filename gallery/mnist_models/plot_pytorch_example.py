"""
PyTorch's MNIST example
=======================

The convolutional network of the PyTorch repository's MNIST example, which the 2018 course ran:
two convolutions of 5 × 5, max-pooling, dropout and two dense layers, trained with SGD and
momentum. The page shows the network, where and how long it trained, and its result beside the
course's; :doc:`/book/frameworks` puts it beside Keras and Caffe.
"""

# dlcourse: gpu
# This example takes a GPU when there is one and runs on a CPU otherwise, more slowly.

# %%
# The network
# -----------
# The last layer outputs the evidence z; PyTorch's cross_entropy loss applies the softmax.
from dlcourse import experiments, models, plots, report

experiment = experiments.get("pytorch_example")
net = models.torch_model(experiment.config.arch)
print(net)
print(f"{models.count_parameters(net):,} parameters")

# %%
# Train
# -----
result = experiments.run("pytorch_example", device="auto")
print(report.describe_run(result))

# %%
# Compare with the 2018 course
# ----------------------------
report.require_in_band(experiment, result)
report.comparison_table([(experiment, result)])

# %%
# Learning curves
# ---------------
fig = plots.plot_history(result.history_dict(), title="PyTorch's MNIST example")
