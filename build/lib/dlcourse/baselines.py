"""Classical scikit-learn classifiers on MNIST, timed and scored on the same split."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.decomposition import PCA
from sklearn.linear_model import RidgeClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from dlcourse import data


@dataclass(frozen=True)
class Split:
    """Flattened images (rows of intensities in [0, 1]) and integer labels for training and test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def mnist_subset(
    mnist: data.MNIST, n_train: int, n_test: int | None = None, *, seed: int = 0
) -> Split:
    """Return ``n_train`` random training images and the first ``n_test`` test
    images (or all).

    Asked for more images than ``mnist`` holds (a cut-down profile's subset), it
    takes them all.
    """
    rng = np.random.default_rng(seed)
    n_train = min(n_train, len(mnist.train_images))
    chosen = np.sort(
        rng.choice(len(mnist.train_images), size=n_train, replace=False)
    )
    n_test = (
        len(mnist.test_images)
        if n_test is None
        else min(n_test, len(mnist.test_images))
    )
    return Split(
        x_train=data.flatten(mnist.train_images[chosen]),
        y_train=np.asarray(mnist.train_labels[chosen]),
        x_test=data.flatten(mnist.test_images[:n_test]),
        y_test=np.asarray(mnist.test_labels[:n_test]),
    )


def classifiers(seed: int = 0) -> dict[str, ClassifierMixin]:
    """Return the four classical classifiers compared on MNIST, by name,
    untrained.
    """
    return {
        # Least squares onto the one-hot labels, one linear function per digit.
        "linear model": RidgeClassifier(alpha=1.0),
        "decision tree": DecisionTreeClassifier(random_state=seed),
        # An RBF-kernel SVM; 50 principal components keep the kernel sums cheap.
        "support vector machine": make_pipeline(
            PCA(50, random_state=seed), SVC(kernel="rbf")
        ),
        "k-nearest neighbours": KNeighborsClassifier(n_neighbors=5),
    }


@dataclass(frozen=True)
class Score:
    """One classifier's test accuracy and the seconds it took to train and to predict."""

    name: str
    accuracy: float
    train_seconds: float
    predict_seconds: float


def evaluate(name: str, model: ClassifierMixin, split: Split) -> Score:
    """Return the score of ``model`` after training it on the split's training
    data.
    """
    start = time.perf_counter()
    model.fit(split.x_train, split.y_train)
    trained = time.perf_counter()
    predictions = model.predict(split.x_test)
    done = time.perf_counter()
    return Score(
        name=name,
        accuracy=float(np.mean(predictions == split.y_test)),
        train_seconds=trained - start,
        predict_seconds=done - trained,
    )


def compare(models: dict[str, ClassifierMixin], split: Split) -> list[Score]:
    """Return the score of every model, in the order given."""
    return [evaluate(name, model, split) for name, model in models.items()]
