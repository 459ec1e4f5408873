"""
Softmax regression on MNIST
===========================

One dense layer of ten neurons followed by a softmax turns the 784 pixel intensities of a digit
into ten probabilities, one per digit. The curves show accuracy and loss on the training and the
test images after every epoch, and the result is printed beside the one the 2018 course
reported; :doc:`/book/softmax_regression` builds the model step by step.
"""

# %%
# The model
# ---------
# Softmax regression is a single ``Dense`` layer, y = softmax(x·W + b), with W of shape
# [784, 10] and b of shape [10].
import os

# Keras 3 runs on several backends; this example uses TensorFlow unless told otherwise.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from dlcourse import experiments, models, plots, report

experiment = experiments.get("softmax")
models.keras_model(experiment.config.arch).summary()

# %%
# Train
# -----
# Plain SGD with the course's settings; a run made earlier with the same settings is reused.
result = experiments.run("softmax")
print(report.describe_run(result))

# %%
# Measure
# -------
print(f"Test accuracy: {result.test_accuracy:.2%} (2018 course: {experiment.reported_text()})")
report.require_in_band(experiment, result)
report.comparison_table([(experiment, result)])

# %%
# Learning curves
# ---------------
# Training and test accuracy rise together and stay close: a model this small has too few
# parameters to memorise the training set.
fig = plots.plot_history(result.history_dict(), title="Softmax regression on MNIST")
