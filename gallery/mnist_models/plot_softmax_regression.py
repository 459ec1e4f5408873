"""
Softmax regression on MNIST
===========================

One dense layer of ten neurons followed by a softmax turns the 784 pixel intensities of a digit
into ten probabilities, one per digit. This script builds it in Keras, trains it with plain
mini-batch gradient descent as the 2018 course did, and draws its learning curves;
:doc:`/book/softmax_regression` builds the same model step by step.
"""

# %%
# Settings
# --------
# The optimiser and its rate are the 2018 course's (Keras's ``"sgd"``); its listing
# leaves the batch size and the epochs open, so those are this example's choice.
# Change any of them and run the script again.
batch_size = 32
epochs = 15
learning_rate = 0.01
seed = 2018

# %%
# Load MNIST
# ----------
# Each 28 × 28 image becomes a row of 784 intensities in [0, 1].
import os

# Keras 3 runs on several backends; this example uses TensorFlow unless told
# otherwise.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
from keras import layers

from dlcourse import data

keras.utils.set_random_seed(seed)
mnist = data.load_mnist()
x_train = mnist.train_images.reshape(-1, 28 * 28).astype("float32") / 255
x_test = mnist.test_images.reshape(-1, 28 * 28).astype("float32") / 255
y_train, y_test = mnist.train_labels, mnist.test_labels
print("training:", x_train.shape, " test:", x_test.shape)

# %%
# The model
# ---------
# y = softmax(x·W + b), with W of shape [784, 10] and b of shape [10].
model = keras.Sequential(
    [keras.Input(shape=(784,)), layers.Dense(10, activation="softmax")],
    name="softmax",
)
model.summary()

# %%
# Train
# -----
# Cross-entropy loss, plain SGD on batches of 32. After every epoch Keras also measures the
# test images, as the 2018 code did, to draw the curves below.
import time

model.compile(
    optimizer=keras.optimizers.SGD(learning_rate),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
start = time.perf_counter()
history = model.fit(
    x_train,
    y_train,
    batch_size=batch_size,
    epochs=epochs,
    validation_data=(x_test, y_test),
    verbose=2,
)
train_seconds = time.perf_counter() - start

# %%
# Evaluate
# --------
test_loss, test_accuracy = model.evaluate(
    x_test, y_test, batch_size=1000, verbose=0
)
print(f"test accuracy: {test_accuracy:.2%} (2018 course: 91.7%)")
print(f"trained in {train_seconds:.0f} s on {keras.config.backend()}")

# %%
# Learning curves
# ---------------
# Training and test accuracy rise together and stay close: a model this small has too few
# parameters to memorise the training set.
from dlcourse import plots

fig = plots.plot_history(history.history, title="Softmax regression on MNIST")

# %%
# Save the model and its numbers
# ------------------------------
# Load the model again with ``keras.saving.load_model("softmax.keras")``.
import json

from dlcourse import hardware

model.save("softmax.keras")
with open("softmax.json", "w") as f:
    results = {"test_accuracy": test_accuracy, "train_seconds": train_seconds}
    results.update(train_images=len(x_train), test_images=len(x_test))
    # The device that did the work, as Keras reports it: a GPU's name, or CPU.
    results["device"] = hardware.keras_device()
    json.dump({**results, "history": history.history}, f, indent=1)
