"""
Five-layer network: sigmoid, tanh, ReLU and dropout
===================================================

The same five fully connected layers (784 → 200 → 100 → 60 → 30 → 10) trained four times: with
sigmoid, tanh and ReLU in the hidden layers, and with ReLU plus dropout after every hidden
layer. The curves compare them epoch by epoch; :doc:`/book/deeper_networks` and
:doc:`/book/dropout` discuss what they show.
"""

# sphinx_gallery_thumbnail_number = 2

# %%
# Settings
# --------
# One recipe for all four networks: Adam from its usual step of 0.001, shrinking by 10 %
# after every epoch, batches of 128, 15 epochs.
batch_size = 128
epochs = 15
learning_rate = 0.001
decay_per_epoch = 0.9
seed = 2018

# The four networks: the activation of the hidden layers and the dropout rate
# after each.
networks = {
    "mlp_sigmoid": ("sigmoid", 0.0),
    "mlp_tanh": ("tanh", 0.0),
    "mlp_relu": ("relu", 0.0),
    "mlp_dropout": ("relu", 0.25),
}

# %%
# Load MNIST
# ----------
import os

# Keras 3 runs on several backends; this example uses TensorFlow unless told
# otherwise.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
from keras import layers

from dlcourse import data

mnist = data.load_mnist()
x_train = mnist.train_images.reshape(-1, 28 * 28).astype("float32") / 255
x_test = mnist.test_images.reshape(-1, 28 * 28).astype("float32") / 255
y_train, y_test = mnist.train_labels, mnist.test_labels


# %%
# The network
# -----------
# Four hidden layers that narrow towards the ten outputs; dropout, if any, after each.
def five_layer_network(activation, dropout, name):
    """Return an uncompiled five-layer network for rows of 784 pixels."""
    hidden = []
    for width in (200, 100, 60, 30):
        hidden.append(layers.Dense(width, activation=activation))
        if dropout:
            hidden.append(layers.Dropout(dropout))
    output = layers.Dense(10, activation="softmax")
    return keras.Sequential(
        [keras.Input(shape=(784,)), *hidden, output], name=name
    )


five_layer_network("relu", 0.25, "mlp_dropout").summary()

# %%
# Train the four networks
# -----------------------
# The same seed for each, so they start from equally drawn weights.
import time

from dlcourse import hardware

steps_per_epoch = -(-len(x_train) // batch_size)
histories, results = {}, {}
for name, (activation, dropout) in networks.items():
    keras.utils.set_random_seed(seed)
    model = five_layer_network(activation, dropout, name)
    schedule = keras.optimizers.schedules.ExponentialDecay(
        learning_rate,
        decay_steps=steps_per_epoch,
        decay_rate=decay_per_epoch,
        staircase=True,
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
        verbose=0,
    )
    train_seconds = time.perf_counter() - start
    test_loss, test_accuracy = model.evaluate(
        x_test, y_test, batch_size=1000, verbose=0
    )
    print(
        f"{name:12s} test accuracy {test_accuracy:.2%}, trained in "
        f"{train_seconds:.0f} s"
    )
    histories[name] = history.history
    results[name] = {
        "test_accuracy": test_accuracy,
        "train_seconds": train_seconds,
    }
    results[name].update(train_images=len(x_train), test_images=len(x_test))
    results[name]["device"] = hardware.keras_device()
    model.save(f"{name}.keras")

# %%
# Compare with the 2018 course
# ----------------------------
course = {
    "mlp_sigmoid": 97.35,
    "mlp_tanh": 98.06,
    "mlp_relu": 98.07,
    "mlp_dropout": 98.26,
}
for name, reported in course.items():
    print(
        f"{name:12s} 2018: {reported:.2f}%   here: "
        f"{100 * results[name]['test_accuracy']:.2f}%"
    )

# %%
# Sigmoid, tanh or ReLU
# ---------------------
# The sigmoid, whose slope is at most a quarter, learns slowest; tanh and ReLU end close.
from dlcourse import plots

activations = {"sigmoid": "mlp_sigmoid", "tanh": "mlp_tanh", "ReLU": "mlp_relu"}
fig = plots.plot_runs(
    {label: histories[name] for label, name in activations.items()},
    title="Five-layer network, three activations",
)

# %%
# Dropout against overfitting
# ---------------------------
# Without dropout the training loss keeps falling while the test loss turns upwards; with it
# the two stay together.
fig = plots.plot_runs(
    {
        "without dropout": histories["mlp_relu"],
        "dropout 0.25": histories["mlp_dropout"],
    },
    metrics=("loss", "val_loss"),
)

# %%
# Save the numbers
# ----------------
# One file per network, beside the saved models.
import json

for name in networks:
    with open(f"{name}.json", "w") as f:
        json.dump({**results[name], "history": histories[name]}, f, indent=1)
