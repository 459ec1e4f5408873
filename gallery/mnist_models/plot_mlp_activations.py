"""
Five-layer network: sigmoid, tanh or ReLU
=========================================

The same five fully connected layers (784 → 200 → 100 → 60 → 30 → 10) trained three times, with
a different activation function in the hidden layers each time. The curves compare their test
accuracy and loss epoch by epoch, and the table puts each result beside the 2018 course's; the
discussion is in :doc:`/book/deeper_networks`.
"""

# %%
# Train the three networks
# ------------------------
# Each run is an experiment with the course's settings; runs made earlier are reused.
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from dlcourse import experiments, figures, report

names = {"mlp_sigmoid": "sigmoid", "mlp_tanh": "tanh", "mlp_relu": "ReLU"}
results = {name: experiments.run(name) for name in names}
for name, result in results.items():
    print(f"{names[name]}:\n{report.describe_run(result)}\n")

# %%
# Compare with the 2018 course
# ----------------------------
for name, result in results.items():
    report.require_in_band(experiments.get(name), result)
report.comparison_table((experiments.get(name), result) for name, result in results.items())

# %%
# Learning curves
# ---------------
# The sigmoid, whose slope is at most a quarter, learns slowest; tanh and ReLU end close.
fig = figures.plot_runs(
    {names[name]: result.history_dict() for name, result in results.items()},
    title="Five-layer network, three activations",
)
