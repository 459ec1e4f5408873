"""
More data: shifted and rotated digits
=====================================

The 2018 course's best result came from the same kind of convolutional network trained on a
training set made larger by moving its digits around. Here Keras draws a new small shift and
rotation of every training digit in every epoch, so the network never sees the same image
twice; :doc:`/book/more_data` explains why that helps.
"""

# sphinx_gallery_thumbnail_number = 2
# sphinx_gallery_dlcourse_gpu = True

# %%
# Settings
# --------
# Change any of these and run the script again.
batch_size = 128
epochs = 15
learning_rate = 0.001
max_shift = 2  # pixels, in any direction
max_rotation = 8  # degrees, either way
seed = 2018

# %%
# Load MNIST
# ----------
# Keras 3 runs on several backends; this example uses TensorFlow unless told otherwise.
import os

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
# Arithmetic
# ----------
# On a CPU that multiplies bfloat16 numbers in hardware (AVX-512 BF16 or AMX), Keras's mixed
# policy computes each layer in bfloat16 and keeps the weights in float32: about a third less
# time here, for the same accuracy. Elsewhere bfloat16 would be emulated, and slower, so float32
# stays; so it does on a GPU, which TensorFlow already drives with faster formats of its own.
from dlcourse import hardware


def cpu_multiplies_bfloat16():
    """Return True if this machine's CPU multiplies bfloat16 in hardware."""
    # oneDNN held below AVX-512 BF16 (ONEDNN_MAX_CPU_ISA) would emulate it.
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper()
    if cap in {"SSE41", "AVX", "AVX2", "AVX512_CORE", "AVX512_CORE_VNNI"}:
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            flags = set(cpuinfo.read().split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


if cpu_multiplies_bfloat16() and hardware.keras_device() == "CPU":
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
print("compute in", keras.mixed_precision.global_policy().compute_dtype)

# %%
# Shifts and rotations, drawn afresh every epoch
# ----------------------------------------------
# Random layers change the images only while the model trains; at test time they pass them on.
side = x_train.shape[1]
augment = keras.Sequential(
    [
        layers.RandomTranslation(
            max_shift / side, max_shift / side, fill_mode="constant"
        ),
        layers.RandomRotation(max_rotation / 360, fill_mode="constant"),
    ],
    name="augment",
)
import matplotlib.pyplot as plt

digit = x_train[:1].repeat(8, axis=0)
moved = keras.ops.convert_to_numpy(augment(digit, training=True)).astype(
    "float32"
)
fig, axes = plt.subplots(1, 8, figsize=(8, 1.3))
fig.suptitle("One training digit, as eight epochs might see it")
for ax, image in zip(axes, moved):
    ax.imshow(image[..., 0], cmap="gray_r")
    ax.axis("off")

# %%
# The network
# -----------
# The course's convolutional network, with the random layers in front of it.
model = keras.Sequential(
    [
        keras.Input(shape=(side, side, 1)),
        augment,
        layers.Conv2D(32, 3, activation="relu"),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(256, activation="relu"),
        layers.Dropout(0.25),
        # The probabilities in float32, whatever the policy: they feed the
        # logarithm of the loss.
        layers.Dense(10, activation="softmax", dtype="float32"),
    ],
    name="cnn_expanded",
)
model.summary()

# %%
# Train
# -----
# Adam's step shrinks along a cosine over the run, so the last epochs settle the weights.
# BackupAndRestore saves the run after every epoch: if it is stopped (a job's time limit),
# running the script again resumes where it was; the library's version is Keras's, stopped by
# a job's warning signal only between backups. CSVLogger keeps every epoch's numbers in a log.
import time

from dlcourse import backup

steps = epochs * -(-len(x_train) // batch_size)
schedule = keras.optimizers.schedules.CosineDecay(
    learning_rate, decay_steps=steps
)
model.compile(
    optimizer=keras.optimizers.Adam(schedule),
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
        keras.callbacks.CSVLogger("cnn_expanded_log.csv", append=True),
        backup.BackupAndRestore("cnn_expanded_backup"),
    ],
    verbose=2,
)
train_seconds = time.perf_counter() - start

# ``history`` holds only the epochs since the last resume; the log holds them
# all, each epoch once (the last row of an epoch that ran twice wins).
import csv

with open("cnn_expanded_log.csv", newline="") as f:
    logged = {row["epoch"]: row for row in csv.DictReader(f)}
os.remove("cnn_expanded_log.csv")
history.history = {
    key: [float(row[key]) for row in logged.values()] for key in history.history
}

# %%
# Evaluate
# --------
test_loss, test_accuracy = model.evaluate(
    x_test, y_test, batch_size=1000, verbose=0
)
print(f"test accuracy: {test_accuracy:.2%} (2018 course: about 99.6%)")
print(f"trained in {train_seconds:.0f} s on {keras.config.backend()}")

# %%
# Learning curves
# ---------------
# The training accuracy stays below the test accuracy: the moved digits are harder than the
# originals, and dropout is on while training.
from dlcourse import plots

fig = plots.plot_history(
    history.history, title="CNN trained on shifted and rotated digits"
)

# %%
# Save the model and its numbers
# ------------------------------
import json

from dlcourse import hardware

model.save("cnn_expanded.keras")
with open("cnn_expanded.json", "w") as f:
    results = {"test_accuracy": test_accuracy, "train_seconds": train_seconds}
    results.update(train_images=len(x_train), test_images=len(x_test))
    # The device that did the work, as Keras reports it: a GPU's name, or CPU.
    results["device"] = hardware.keras_device()
    json.dump({**results, "history": history.history}, f, indent=1)
