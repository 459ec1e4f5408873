"""Tests of dlcourse.diagrams."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

from dlcourse import diagrams

FIVE_LAYERS = (784, 200, 100, 60, 30, 10)


def circles(fig: Figure, kind: str) -> dict[int, int]:
    """Return how many circles of a kind ('node' or 'dropped') each layer has."""
    counts: dict[int, int] = {}
    for patch in fig.axes[0].patches:
        gid = patch.get_gid() or ""
        if gid.startswith(f"{kind}-"):
            layer = int(gid.split("-")[1])
            counts[layer] = counts.get(layer, 0) + 1
    return counts


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts]


@pytest.mark.parametrize(
    "draw",
    [
        diagrams.neuron,
        diagrams.layered_network,
        diagrams.thinned_network,
        diagrams.backprop_flow,
        diagrams.convolution,
        diagrams.cluster,
        diagrams.requeue_timeline,
    ],
)
def test_each_diagram_returns_a_new_figure_and_closes_no_other(draw):
    other = plt.figure()
    try:
        fig = draw()
        assert isinstance(fig, Figure)
        assert fig is not other
        assert plt.fignum_exists(other.number)
        assert plt.fignum_exists(fig.number)
        fig.canvas.draw()  # lays out every text; fails on bad mathtext
        plt.close(fig)
    finally:
        plt.close(other)


def test_layered_network_draws_the_requested_nodes_and_true_widths():
    fig = diagrams.layered_network((784, 200, 3, 10), shown=5)
    assert circles(fig, "node") == {0: 5, 1: 5, 2: 3, 3: 5}
    assert {"784", "200", "3", "10"} <= set(texts(fig))
    assert texts(fig).count("⋮") == 3  # all but the layer of three
    plt.close(fig)


def test_thinned_network_drops_round_rate_n_hidden_units_by_seed():
    fig = diagrams.thinned_network(FIVE_LAYERS, rate=0.25, seed=1, shown=8)
    dropped = circles(fig, "dropped")
    assert dropped == {layer: round(0.25 * 8) for layer in (1, 2, 3, 4)}
    kept = circles(fig, "node")
    assert kept[0] == kept[5] == 8  # input and output are never dropped
    same = diagrams.thinned_network(FIVE_LAYERS, rate=0.25, seed=1, shown=8)
    other = diagrams.thinned_network(FIVE_LAYERS, rate=0.25, seed=2, shown=8)

    def where(f):
        return sorted(
            (p.get_gid(), p.center[1])
            for p in f.axes[0].patches
            if (p.get_gid() or "").startswith("dropped")
        )

    assert where(fig) == where(same)
    assert where(fig) != where(other)
    for f in (fig, same, other):
        plt.close(f)


def test_thinned_network_removes_the_connections_of_dropped_units():
    full = diagrams.layered_network((4, 6, 3), shown=8)
    thinned = diagrams.thinned_network((4, 6, 3), rate=0.5, seed=0, shown=8)
    # Three of six hidden units go, and with them their 4 + 3 connections each.
    assert len(full.axes[0].lines) == 4 * 6 + 6 * 3
    edges = [line for line in thinned.axes[0].lines if line.get_linewidth() < 1]
    assert len(edges) == 4 * 3 + 3 * 3
    plt.close(full)
    plt.close(thinned)


@pytest.mark.parametrize(
    ("image", "kernel", "stride", "padding"),
    [(5, 3, 1, 0), (5, 3, 2, 1), (7, 3, 2, 0), (6, 4, 3, 2), (3, 5, 1, 1)],
)
def test_convolution_writes_the_output_size_torch_computes(
    image, kernel, stride, padding
):
    out = torch.nn.functional.conv2d(
        torch.zeros(1, 1, image, image),
        torch.zeros(1, 1, kernel, kernel),
        stride=stride,
        padding=padding,
    ).shape[-1]
    fig = diagrams.convolution(image, kernel, stride, padding)
    formula = next(t for t in texts(fig) if "W_\\mathrm{out}" in t)
    assert int(re.search(r"= (\d+)\$$", formula).group(1)) == out
    cells = [p for p in fig.axes[0].patches if p.get_gid() == "output-cell"]
    assert len(cells) == out * out
    padded = [p for p in fig.axes[0].patches if p.get_gid() == "padding-cell"]
    assert len(padded) == (image + 2 * padding) ** 2 - image**2
    plt.close(fig)


def test_convolution_rejects_impossible_sizes():
    with pytest.raises(ValueError, match="larger than the padded image"):
        diagrams.convolution(image=3, kernel=5, padding=0)
    with pytest.raises(ValueError, match="at least 1"):
        diagrams.convolution(stride=0)
    with pytest.raises(ValueError, match="outside the 3 × 3 output"):
        diagrams.convolution(at=(3, 0))


def test_bad_arguments_raise_value_errors_that_say_why():
    with pytest.raises(ValueError, match=r"drop rate must be in \[0, 1\)"):
        diagrams.thinned_network(rate=1.0)
    with pytest.raises(ValueError, match="drop rate"):
        diagrams.thinned_network(rate=-0.1)
    with pytest.raises(ValueError, match="at least two layers"):
        diagrams.layered_network((784,))
    with pytest.raises(ValueError, match="positive integers"):
        diagrams.layered_network((784, 0, 10))
    with pytest.raises(ValueError, match="between 1 and 6"):
        diagrams.neuron(n_inputs=0)
    with pytest.raises(ValueError, match="between 1 and 3"):
        diagrams.backprop_flow(n_layers=4)
    with pytest.raises(ValueError, match="n_nodes"):
        diagrams.cluster(n_nodes=0)


def test_backprop_flow_names_every_layer_value_and_gradient():
    fig = diagrams.backprop_flow(n_layers=3)
    written = " ".join(texts(fig))
    for layer in (1, 2, 3):
        assert f"z_{layer}" in written
        assert f"\\delta_{layer}" in written
        assert f"\\partial W_{layer}" in written
    assert "$a_3$" not in written  # the last layer's logits go to the softmax
    plt.close(fig)


def test_requeue_plan_completes_every_epoch_once_in_order():
    plan = diagrams.requeue_plan(5, 25 * 60, 3600, 300)
    assert plan == [[1, 2], [3, 4], [5]]
    assert diagrams.requeue_plan(4, 180, 600, 120) == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match="requeued for ever"):
        diagrams.requeue_plan(3, 500, 600, 120)
    with pytest.raises(ValueError, match="within the walltime"):
        diagrams.requeue_plan(3, 60, 600, 600)


def test_requeue_timeline_marks_a_checkpoint_per_epoch_and_the_resume():
    fig = diagrams.requeue_timeline(5, 25 * 60, 3600, 300)
    marks = [
        line for line in fig.axes[0].lines if line.get_gid() == "checkpoint"
    ]
    assert len(marks) == 5
    written = texts(fig)
    assert sum("resumes from\nepoch 2's checkpoint" in t for t in written) == 1
    assert sum("5 min before the limit" in t for t in written) == 2
    plt.close(fig)
