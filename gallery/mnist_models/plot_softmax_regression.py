"""
Softmax regression on MNIST
===========================

One dense layer of ten neurons followed by a softmax turns the 784 pixel intensities of a digit
into ten probabilities, one per digit. Trained with plain stochastic gradient descent on the
cross-entropy loss, it gets roughly nine test digits in ten right; the curves below show
accuracy and loss on the training and the test data after every epoch. The data are introduced
in :doc:`/book/mnist_data`.
"""

# %%
# Load the data
# -------------
# Each image becomes a row of 784 intensities in [0, 1]; each label a one-hot row of ten.
import os

# Keras 3 runs on several backends; this example uses TensorFlow unless told otherwise.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras

from dlcourse import data, plots

mnist = data.load_mnist()
x_train, x_test = data.flatten(mnist.train_images), data.flatten(mnist.test_images)
y_train, y_test = data.one_hot(mnist.train_labels), data.one_hot(mnist.test_labels)
print("training:", x_train.shape, y_train.shape, " test:", x_test.shape, y_test.shape)

# %%
# Build the model
# ---------------
# Softmax regression is a single ``Dense`` layer, y = softmax(x·W + b), with W of shape
# [784, 10] and b of shape [10].
keras.utils.set_random_seed(0)
model = keras.Sequential(
    [keras.Input(shape=(x_train.shape[1],)), keras.layers.Dense(10, activation="softmax")]
)
# Plain SGD at Keras's default learning rate of 0.01, as in the 2018 course.
model.compile(
    optimizer=keras.optimizers.SGD(learning_rate=0.01),
    loss="categorical_crossentropy",
    metrics=["accuracy"],
)
model.summary()

# %%
# Train
# -----
# Every epoch visits all 60,000 training images once, in mini-batches; the test set is
# evaluated after each epoch to draw the curves, never used to update the weights.
EPOCHS, BATCH_SIZE = 15, 32
history = model.fit(
    x_train,
    y_train,
    epochs=EPOCHS,
    batch_size=BATCH_SIZE,
    validation_data=(x_test, y_test),
    verbose=2,
)

# %%
# Measure
# -------
test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"Test accuracy: {test_accuracy:.2%} (the 2018 course reported 91.7%)")
print(f"Test loss: {test_loss:.4f}")

# %%
# Learning curves
# ---------------
# Training and test accuracy rise together and stay close: a model this small has too few
# parameters to memorise the training set.
fig = plots.plot_history(history.history, title="Softmax regression on MNIST")
