"""Tests of dlcourse.baselines on a small slice of the real MNIST."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse import baselines, data


@pytest.fixture(scope="module")
def split(mnist):
    return baselines.mnist_subset(mnist, n_train=2000, n_test=1000, seed=0)


def test_mnist_subset_shapes_and_reproducibility(mnist, split):
    assert split.x_train.shape == (2000, 784) and split.y_train.shape == (2000,)
    assert split.x_test.shape == (1000, 784)
    assert 0.0 <= split.x_train.min() and split.x_train.max() <= 1.0
    np.testing.assert_array_equal(split.y_test, mnist.test_labels[:1000])
    again = baselines.mnist_subset(mnist, n_train=2000, n_test=1000, seed=0)
    np.testing.assert_array_equal(again.y_train, split.y_train)
    other = baselines.mnist_subset(mnist, n_train=2000, n_test=1000, seed=1)
    assert not np.array_equal(other.y_train, split.y_train)
    assert len(np.unique(split.y_train)) == 10


def test_full_test_set_by_default(mnist):
    split = baselines.mnist_subset(mnist, n_train=10)
    assert len(split.x_test) == len(mnist.test_images) == 10_000


def test_every_classifier_beats_guessing_by_far(split):
    scores = baselines.compare(baselines.classifiers(seed=0), split)
    by_name = {score.name: score for score in scores}
    assert list(by_name) == [
        "linear model",
        "decision tree",
        "support vector machine",
        "k-nearest neighbours",
    ]
    for score in scores:
        assert score.accuracy > 0.6, score
        assert score.train_seconds > 0 and score.predict_seconds > 0
    # The kernel SVM and k-NN are the strong ones; a single tree the weakest.
    assert by_name["support vector machine"].accuracy > 0.9
    assert by_name["k-nearest neighbours"].accuracy > 0.85
    assert (
        by_name["decision tree"].accuracy
        < by_name["support vector machine"].accuracy
    )


def test_evaluate_counts_right_answers(split):
    from sklearn.dummy import DummyClassifier

    score = baselines.evaluate(
        "always the most frequent", DummyClassifier(), split
    )
    most_frequent = np.bincount(split.y_train).argmax()
    assert score.accuracy == pytest.approx(
        np.mean(split.y_test == most_frequent)
    )


def test_a_subset_larger_than_the_data_takes_all_of_it(mnist):
    small = data.MNIST(
        train_images=mnist.train_images[:300],
        train_labels=mnist.train_labels[:300],
        test_images=mnist.test_images[:50],
        test_labels=mnist.test_labels[:50],
        directory=mnist.directory,
    )
    split = baselines.mnist_subset(small, n_train=5_000, n_test=1_000)
    assert split.x_train.shape == (300, 784) and split.x_test.shape == (50, 784)
