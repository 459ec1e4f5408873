"""
Classical classifiers on MNIST
==============================

A linear model, a decision tree, a support vector machine and k-nearest neighbours from
scikit-learn, trained on a few thousand MNIST digits and scored on held-out ones. The bar chart
compares their test accuracy; :doc:`/book/classical_baselines` runs the same comparison on more
data and discusses each model.
"""

# %%
# Load a subset of the data
# -------------------------
# A small training set keeps this example to seconds; more data raises every score.
import matplotlib.pyplot as plt

from dlcourse import baselines, data

mnist = data.load_mnist()
split = baselines.mnist_subset(mnist, n_train=5_000, n_test=2_000, seed=0)
print("training:", split.x_train.shape, " test:", split.x_test.shape)

# %%
# Train and score
# ---------------
# Each model is trained on the same images and timed.
scores = baselines.compare(baselines.classifiers(seed=0), split)
for score in scores:
    print(
        f"{score.name:24s} accuracy {score.accuracy:.1%}  "
        f"train {score.train_seconds:.2f} s  predict "
        f"{score.predict_seconds:.2f} s"
    )

# %%
# Compare
# -------
# The bars, and the ranking printed after them, are this run's on this subset of the data.
fig, ax = plt.subplots(figsize=(7, 3.2))
ax.barh(
    [s.name for s in scores],
    [100 * s.accuracy for s in scores],
    color="tab:blue",
)
for row, score in enumerate(scores):
    ax.annotate(
        f"{score.accuracy:.1%}",
        (100 * score.accuracy + 1, row),
        va="center",
        fontsize=9,
    )
ax.set_xlim(0, 110)
ax.set_xlabel("test accuracy (%)")
ax.set_ylabel("classifier")
fig.tight_layout()
ranking = sorted(scores, key=lambda score: score.accuracy, reverse=True)
print("from best to worst:", ", ".join(score.name for score in ranking))
