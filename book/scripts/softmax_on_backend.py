"""Train softmax regression on MNIST with Keras on the backend named by
KERAS_BACKEND.

Usage: KERAS_BACKEND=torch python softmax_on_backend.py [EPOCHS] Prints one line
of JSON: the backend, test accuracy and loss, training time.
"""

import json
import sys
import time

import keras

from dlcourse import data

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
batch_size = 32
learning_rate = 0.01

keras.utils.set_random_seed(0)
mnist = data.load_mnist(progressbar=False)
x_train = mnist.train_images.reshape(-1, 28 * 28).astype("float32") / 255
x_test = mnist.test_images.reshape(-1, 28 * 28).astype("float32") / 255

model = keras.Sequential(
    [keras.Input(shape=(784,)), keras.layers.Dense(10, activation="softmax")]
)
model.compile(
    optimizer=keras.optimizers.SGD(learning_rate),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
start = time.perf_counter()
model.fit(
    x_train, mnist.train_labels, batch_size=batch_size, epochs=epochs, verbose=0
)
seconds = time.perf_counter() - start
loss, accuracy = model.evaluate(
    x_test, mnist.test_labels, batch_size=1000, verbose=0
)
result = {
    "backend": keras.config.backend(),
    "accuracy": accuracy,
    "loss": loss,
    "seconds": seconds,
    "n_train": len(x_train),
    "n_test": len(x_test),
}
print(json.dumps(result))
