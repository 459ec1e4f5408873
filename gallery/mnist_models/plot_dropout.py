"""
Dropout against overfitting
===========================

The five-layer ReLU network trained without and with dropout 0.25 after every hidden layer.
Without it the training loss keeps falling while the test loss turns upwards; with it the two
stay together. The idea and a NumPy version of dropout are in :doc:`/book/dropout`.
"""

# %%
# Train both networks
# -------------------
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from dlcourse import experiments, figures, report

runs = {"without dropout": "mlp_relu", "dropout 0.25": "mlp_dropout"}
results = {label: experiments.run(name) for label, name in runs.items()}
for label, result in results.items():
    print(f"{label}:\n{report.describe_run(result)}\n")

# %%
# Training loss against test loss
# -------------------------------
# The gap between the two panels is overfitting; dropout keeps it small.
fig = figures.plot_runs(
    {label: result.history_dict() for label, result in results.items()},
    metrics=("loss", "val_loss"),
)

# %%
# Compare with the 2018 course
# ----------------------------
for label, result in results.items():
    report.require_in_band(experiments.get(runs[label]), result)
report.comparison_table((experiments.get(runs[label]), r) for label, r in results.items())
