"""
A convolutional network on MNIST
================================

Two convolutional layers of 32 filters, max-pooling and a dense layer of 256 neurons: the 2018
course's network, the first of its models past 99 % test accuracy. It trains on a GPU when
Keras finds one and on the CPU otherwise, more slowly; :doc:`/book/convolutional_networks`
explains the ideas behind it.
"""

# sphinx_gallery_thumbnail_number = 2
# sphinx_gallery_dlcourse_gpu = True

# %%
# Settings
# --------
# The optimiser and the dropout are the 2018 course's; its listing leaves the batch size and
# the epochs open, so those are this example's choice. Adadelta adapts each weight's step by
# itself; the rate 1.0 is what Keras's ``"adadelta"`` meant in 2018 (Keras 3 defaults to 0.001,
# which barely moves).
batch_size = 128
epochs = 12
learning_rate = 1.0
dropout = 0.25
seed = 2018

# %%
# Load MNIST
# ----------
# Convolutions read images, so each digit stays 28 × 28, with one colour channel.
import os

# Keras 3 runs on several backends; this example uses TensorFlow unless told
# otherwise.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
from keras import layers

from dlcourse import data

keras.utils.set_random_seed(seed)
mnist = data.load_mnist()
x_train = mnist.train_images[..., None].astype("float32") / 255
x_test = mnist.test_images[..., None].astype("float32") / 255
y_train, y_test = mnist.train_labels, mnist.test_labels
print("training:", x_train.shape, " test:", x_test.shape)
print("Keras", keras.__version__, "on", keras.config.backend())

# %%
# The network
# -----------
# Each 3 × 3 convolution without padding trims a pixel from every edge: 28 → 26 → 24; the
# pooling halves that to 12, so 32 maps of 12 × 12 reach the dense layer.
model = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Dropout(dropout),
        layers.Flatten(),
        layers.Dense(256, activation="relu"),
        layers.Dropout(dropout),
        layers.Dense(10, activation="softmax"),
    ],
    name="cnn",
)
model.summary()

# %%
# Train
# -----
# BackupAndRestore saves the run after every epoch: if it is stopped (a job's time limit), the
# same command resumes it from there, and removes the backup once training ends. The library's
# version is Keras's, stopped by a job's warning signal only between backups (exit status 75).
# CSVLogger appends each epoch's numbers to a log, so the curves survive a resume too.
import time

from dlcourse import backup

model.compile(
    optimizer=keras.optimizers.Adadelta(learning_rate, rho=0.95, epsilon=1e-7),
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
    callbacks=[
        keras.callbacks.CSVLogger("cnn_log.csv", append=True),
        backup.BackupAndRestore("cnn_backup"),
    ],
    verbose=2,
)
train_seconds = time.perf_counter() - start

# ``history`` holds only the epochs since the last resume; the log holds them
# all, each epoch once (the last row of an epoch that ran twice wins).
import csv

with open("cnn_log.csv", newline="") as f:
    logged = {row["epoch"]: row for row in csv.DictReader(f)}
os.remove("cnn_log.csv")
history.history = {
    key: [float(row[key]) for row in logged.values()] for key in history.history
}

# %%
# Evaluate
# --------
test_loss, test_accuracy = model.evaluate(
    x_test, y_test, batch_size=1000, verbose=0
)
print(f"test accuracy: {test_accuracy:.2%} (2018 course: 99.23%)")
print(f"trained in {train_seconds:.0f} s on {keras.config.backend()}")

# %%
# Learning curves
# ---------------
from dlcourse import plots

fig = plots.plot_history(history.history, title="Convolutional network")

# %%
# The learned filters
# -------------------
# Each 3 × 3 filter of the first layer responds to one kind of local pattern, often an edge.
kernels, biases = model.layers[0].get_weights()
fig = plots.plot_filters(kernels)

# %%
# Save the model and its numbers
# ------------------------------
import json

from dlcourse import hardware

model.save("cnn.keras")
with open("cnn.json", "w") as f:
    results = {"test_accuracy": test_accuracy, "train_seconds": train_seconds}
    results.update(train_images=len(x_train), test_images=len(x_test))
    # The device that did the work, as Keras reports it: a GPU's name, or CPU.
    results["device"] = hardware.keras_device()
    json.dump({**results, "history": history.history}, f, indent=1)
