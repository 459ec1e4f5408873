"""Conceptual diagrams, drawn by code: a neuron, networks, backpropagation, a convolution, a
cluster and a requeued job.

Each function returns a new matplotlib Figure; every number written in one is computed from
the arguments. Shapes and hatching, not colour alone, carry the meaning, so the pictures read in
black and white.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyBboxPatch, Patch, Rectangle

NODE_RADIUS = 0.22
EDGE_COLOUR = "0.55"


def _canvas(
    xlim: tuple[float, float], ylim: tuple[float, float], scale: float = 0.6
) -> tuple[Figure, plt.Axes]:
    """Return a figure whose one bare axes spans xlim × ylim at scale inches a unit."""
    width, height = xlim[1] - xlim[0], ylim[1] - ylim[0]
    fig = plt.figure(figsize=(scale * width, scale * height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.axis("off")
    return fig, ax


def _arrow(ax, start, end, *, style="-|>", linestyle="-", colour="black"):
    """Draw an arrow from start to end in data coordinates."""
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops={
            "arrowstyle": style,
            "color": colour,
            "linestyle": linestyle,
            "linewidth": 1.3,
            "shrinkA": 0,
            "shrinkB": 0,
        },
    )


def _box(ax, x, y, width, height, text, *, hatch=None, fontsize=10):
    """Draw a rounded box centred on (x, y) with text inside."""
    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - height / 2),
            width,
            height,
            boxstyle="round,pad=0.02,rounding_size=0.1",
            facecolor="white",
            edgecolor="black",
            hatch=hatch,
            linewidth=1.3,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def neuron(n_inputs: int = 3, activation: str = r"\sigma") -> Figure:
    """Return one neuron: inputs, weights, weighted sum plus bias, activation, output."""
    if not 1 <= n_inputs <= 6:
        raise ValueError(f"n_inputs must be between 1 and 6, got {n_inputs}")
    half = 0.4 * (n_inputs - 1)
    fig, ax = _canvas((-0.4, 8.8), (-max(half, 1.0) - 0.3, half + 0.4), 0.85)
    ys = np.linspace(half, -half, n_inputs)
    sum_x, act_x, out_x = 3.2, 5.8, 7.2
    ax.add_patch(Circle((sum_x, 0), 0.45, facecolor="white", edgecolor="black"))
    ax.text(sum_x, 0, r"$\Sigma$", ha="center", va="center", fontsize=16)
    for i, y in enumerate(ys, start=1):
        ax.text(0, y, f"$x_{i}$", ha="center", va="center", fontsize=12)
        # Each input's arrow ends on the circle's rim, pointing at its centre.
        angle = np.arctan2(y, sum_x - 0.3)
        rim = (sum_x - 0.45 * np.cos(angle), 0.45 * np.sin(angle))
        _arrow(ax, (0.3, y), rim)
        # The weight sits on its arrow, a little above it.
        at = 1.55
        on_line = y + (rim[1] - y) * (at - 0.3) / (rim[0] - 0.3)
        ax.text(at, on_line + 0.1, f"$w_{i}$", ha="center", fontsize=11)
    ax.text(sum_x, -0.95, "$+\\, b$", ha="center", va="center", fontsize=12)
    _arrow(ax, (sum_x, -0.75), (sum_x, -0.45))
    _box(ax, act_x, 0, 0.9, 0.7, f"${activation}$", fontsize=14)
    _arrow(ax, (sum_x + 0.45, 0), (act_x - 0.45, 0))
    ax.text(
        (sum_x + act_x) / 2,
        0.12,
        r"$z = \mathbf{w}^\top \mathbf{x} + b$",
        ha="center",
        va="bottom",
        fontsize=10,
    )
    _arrow(ax, (act_x + 0.45, 0), (out_x - 0.3, 0))
    ax.text(
        out_x, 0, f"$y = {activation}(z)$", ha="left", va="center", fontsize=12
    )
    return fig


def _layer_rows(width: int, shown: int) -> tuple[list[float], bool]:
    """Return the heights of a layer's drawn nodes and whether a gap stands for the rest."""
    drawn = min(width, shown)
    elided = width > shown
    slots = drawn + (1 if elided else 0)
    positions = list(np.linspace((slots - 1) / 2, -(slots - 1) / 2, slots))
    if elided:  # the second-last slot holds the dots
        del positions[-2]
    return positions, elided


def _check_widths(widths: Sequence[int], shown: int) -> None:
    if len(widths) < 2:
        raise ValueError(
            f"a network needs at least two layers, got {list(widths)}"
        )
    if any(int(w) != w or w < 1 for w in widths):
        raise ValueError(
            f"layer widths must be positive integers, got {list(widths)}"
        )
    if shown < 2:
        raise ValueError(
            f"shown must be at least 2 nodes per layer, got {shown}"
        )


def _network(
    widths: Sequence[int],
    shown: int,
    dropped: dict[int, set[int]],
    title: str | None = None,
) -> Figure:
    """Draw a fully connected network; nodes in dropped[layer] are crossed out, unconnected."""
    _check_widths(widths, shown)
    spacing = 1.9
    rows = [_layer_rows(w, shown) for w in widths]
    tallest = max(len(r) + e for r, e in rows)
    top = (tallest - 1) / 2
    fig, ax = _canvas(
        (-0.6, (len(widths) - 1) * spacing + 0.6),
        (-top - 1.2, top + (2.0 if title else 1.2)),
        scale=0.55,
    )
    if title:
        ax.text((len(widths) - 1) * spacing / 2, top + 1.5, title, ha="center")
    for layer in range(len(widths) - 1):
        for i, y0 in enumerate(rows[layer][0]):
            for j, y1 in enumerate(rows[layer + 1][0]):
                if i in dropped.get(layer, ()) or j in dropped.get(
                    layer + 1, ()
                ):
                    continue
                ax.plot(
                    [layer * spacing, (layer + 1) * spacing],
                    [y0, y1],
                    color=EDGE_COLOUR,
                    linewidth=0.6,
                    zorder=1,
                )
    for layer, (width, (ys, elided)) in enumerate(
        zip(widths, rows, strict=True)
    ):
        x = layer * spacing
        for i, y in enumerate(ys):
            off = i in dropped.get(layer, ())
            ax.add_patch(
                Circle(
                    (x, y),
                    NODE_RADIUS,
                    facecolor="white",
                    edgecolor="0.5" if off else "black",
                    linestyle="--" if off else "-",
                    linewidth=1.2,
                    zorder=2,
                    gid=f"{'dropped' if off else 'node'}-{layer}",
                )
            )
            if off:
                r = NODE_RADIUS * 0.9
                for sign in (1, -1):
                    ax.plot(
                        [x - r, x + r],
                        [y - sign * r, y + sign * r],
                        color="black",
                        linewidth=1.6,
                        zorder=3,
                    )
        if elided:
            ax.text(
                x,
                (ys[-2] + ys[-1]) / 2,
                "⋮",
                ha="center",
                va="center",
                fontsize=14,
            )
        if layer == 0:
            name = "input"
        elif layer == len(widths) - 1:
            name = "output"
        else:
            name = f"hidden {layer}"
        ax.text(x, top + 0.65, name, ha="center", va="bottom", fontsize=9)
        ax.text(
            x,
            -top - 0.6,
            f"{width:,}",
            ha="center",
            va="top",
            fontsize=10,
            fontweight="bold",
        )
    return fig


def layered_network(
    widths: Sequence[int] = (784, 200, 100, 60, 30, 10), shown: int = 8
) -> Figure:
    """Return a fully connected network, ``shown`` nodes a layer at most, true widths below."""
    return _network(widths, shown, {})


def thinned_network(
    widths: Sequence[int] = (784, 200, 100, 60, 30, 10),
    rate: float = 0.25,
    seed: int = 0,
    shown: int = 8,
) -> Figure:
    """Return the network with round(rate × drawn) units of each hidden layer crossed out."""
    if not 0 <= rate < 1:
        raise ValueError(f"the drop rate must be in [0, 1), got {rate}")
    _check_widths(widths, shown)
    rng = np.random.default_rng(seed)
    dropped = {}
    for layer in range(1, len(widths) - 1):
        n = min(widths[layer], shown)
        dropped[layer] = {
            int(i) for i in rng.choice(n, round(rate * n), replace=False)
        }
    pairs = sorted(
        {(len(dropped[layer]), min(widths[layer], shown)) for layer in dropped}
    )
    counts = " or ".join(f"{k} of the {n}" for k, n in pairs)
    title = (
        f"drop rate p = {rate:g}: {counts} units drawn in each hidden layer "
        "are dropped"
    )
    return _network(widths, shown, dropped, title)


def backprop_flow(n_layers: int = 2) -> Figure:
    """Return the forward pass (values, above) and backward pass (gradients, below) of an MLP."""
    if not 1 <= n_layers <= 3:
        raise ValueError(f"n_layers must be between 1 and 3, got {n_layers}")
    # The boxes: each layer's linear map, the activation between layers, and
    # softmax with cross-entropy; each arrow carries a value forward and its
    # gradient back.
    ops, values, grads = [], [], []
    for layer in range(1, n_layers + 1):
        ops.append((rf"$\cdot W_{layer} + b_{layer}$", layer))
        values.append(f"$z_{layer}$")
        grads.append(
            rf"$\delta_{n_layers}$" "\n" r"$= (p - \mathrm{onehot}(y))\,/\,n$"
            if layer == n_layers
            else rf"$\delta_{layer}$"
            "\n"
            rf"$= \partial J/\partial a_{layer} \odot f\,'(z_{layer})$"
        )
        if layer < n_layers:
            ops.append(("$f$", None))
            values.append(f"$a_{layer}$")
            grads.append(
                rf"$\partial J/\partial a_{layer}$"
                "\n"
                rf"$= \delta_{layer + 1} W_{layer + 1}^\top$"
            )
    ops.append(("softmax\n+ cross-\nentropy", None))
    step, box_w, box_h = 3.2, 1.1, 0.9
    end = (len(ops) + 1) * step - 1.6
    fig, ax = _canvas((-0.6, end + 0.8), (-2.0, 1.4), scale=0.75)
    ax.text(0, 0, "$x = a_0$", ha="center", va="center", fontsize=11)
    ax.text(end + 0.1, 0, "$J$", ha="left", va="center", fontsize=12)
    _arrow(ax, (0.5, 0), (step - box_w / 2, 0))
    _arrow(ax, (len(ops) * step + box_w / 2, 0), (end, 0))
    for k, (text, layer) in enumerate(ops):
        x = (k + 1) * step
        size = 9 if text.startswith("softmax") else 12 if layer is None else 10
        _box(ax, x, 0, box_w, box_h, text, fontsize=size)
        if layer is not None:
            _arrow(ax, (x, -box_h / 2), (x, -1.35), linestyle="--")
            ax.text(
                x,
                -1.45,
                rf"$\partial J/\partial W_{layer} = "
                rf"a_{layer - 1}^\top \delta_{layer}$",
                ha="center",
                va="top",
                fontsize=10,
            )
        if k == len(ops) - 1:
            break
        left, right = x + box_w / 2, x + step - box_w / 2
        _arrow(ax, (left, 0.2), (right, 0.2))
        _arrow(ax, (right, -0.2), (left, -0.2), linestyle="--")
        middle = (left + right) / 2
        ax.text(middle, 0.3, values[k], ha="center", va="bottom", fontsize=11)
        ax.text(middle, -0.3, grads[k], ha="center", va="top", fontsize=9)
    ax.text(
        end / 2,
        1.0,
        "solid arrows carry values forward, dashed arrows carry gradients back",
        ha="center",
    )
    return fig


def conv_output_size(image: int, kernel: int, stride: int, padding: int) -> int:
    """Return how many positions a kernel fits along one side: ⌊(W − K + 2P) / S⌋ + 1."""
    if image < 1 or kernel < 1 or stride < 1 or padding < 0:
        raise ValueError(
            "need image, kernel and stride of at least 1 and padding of at "
            f"least 0, got {image=}, {kernel=}, {stride=}, {padding=}"
        )
    if kernel > image + 2 * padding:
        raise ValueError(
            f"a {kernel} × {kernel} kernel is larger than the padded image, "
            f"{image} + 2 × {padding} = {image + 2 * padding} pixels a side"
        )
    return (image - kernel + 2 * padding) // stride + 1


def convolution(
    image: int = 5,
    kernel: int = 3,
    stride: int = 1,
    padding: int = 0,
    at: tuple[int, int] = (0, 0),
) -> Figure:
    """Return a kernel at one position on a padded image, the output grid, and its size."""
    out = conv_output_size(image, kernel, stride, padding)
    row, col = at
    if not (0 <= row < out and 0 <= col < out):
        raise ValueError(f"at={at} is outside the {out} × {out} output")
    side = image + 2 * padding
    gap = 1.6
    kernel_x = side + gap
    out_x = kernel_x + kernel + gap
    fig, ax = _canvas((-0.2, out_x + out + 0.2), (-1.0, side + 1.2), 0.55)
    for i in range(side):
        for j in range(side):
            pad = not (
                padding <= i < side - padding and padding <= j < side - padding
            )
            ax.add_patch(
                Rectangle(
                    (j, side - 1 - i),
                    1,
                    1,
                    facecolor="0.9" if pad else "white",
                    edgecolor="0.5",
                    linestyle=":" if pad else "-",
                    gid="padding-cell" if pad else "image-cell",
                )
            )
            if pad:
                ax.text(
                    j + 0.5,
                    side - 0.5 - i,
                    "0",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="0.3",
                )
    # The window that produces output (row, col), and the next one along the row.
    top, left = row * stride, col * stride
    ax.add_patch(
        Rectangle(
            (left, side - top - kernel),
            kernel,
            kernel,
            facecolor="none",
            edgecolor="black",
            linewidth=2.5,
            hatch="//",
        )
    )
    if col + 1 < out:
        ax.add_patch(
            Rectangle(
                (left + stride, side - top - kernel),
                kernel,
                kernel,
                facecolor="none",
                edgecolor="black",
                linewidth=1.5,
                linestyle="--",
            )
        )
    k_bottom = (side - kernel) / 2
    for i in range(kernel):
        for j in range(kernel):
            ax.add_patch(
                Rectangle(
                    (kernel_x + j, k_bottom + i),
                    1,
                    1,
                    facecolor="white",
                    edgecolor="black",
                    hatch="//",
                    gid="kernel-cell",
                )
            )
    o_bottom = (side - out) / 2
    for i in range(out):
        for j in range(out):
            here = (i, j) == (row, col)
            ax.add_patch(
                Rectangle(
                    (out_x + j, o_bottom + out - 1 - i),
                    1,
                    1,
                    facecolor="white",
                    edgecolor="black",
                    linewidth=2.5 if here else 1,
                    hatch="//" if here else None,
                    gid="output-cell",
                )
            )
    ax.text(
        side + gap / 2, side / 2, "∗", ha="center", va="center", fontsize=20
    )
    ax.text(
        kernel_x + kernel + gap / 2,
        side / 2,
        "=",
        ha="center",
        va="center",
        fontsize=18,
    )
    captions = [
        (side / 2, f"input {image} × {image}, padding {padding}"),
        (kernel_x + kernel / 2, f"kernel {kernel} × {kernel}"),
        (out_x + out / 2, f"output {out} × {out}, stride {stride}"),
    ]
    for x, text in captions:
        ax.text(x, -0.3, text, ha="center", va="top", fontsize=10)
    ax.text(
        (out_x + out) / 2,
        side + 0.5,
        r"$W_\mathrm{out} = \lfloor (W - K + 2P)\,/\,S \rfloor + 1"
        rf" = \lfloor ({image} - {kernel} + 2 \cdot {padding})\,/\,{stride}"
        rf" \rfloor + 1 = {out}$",
        ha="center",
        fontsize=11,
    )
    return fig


def cluster(n_nodes: int = 3, gpus_per_node: int = 2) -> Figure:
    """Return a cluster: ssh, login node, sbatch/qsub, scheduler, GPU nodes, shared storage."""
    if not 1 <= n_nodes <= 6 or not 0 <= gpus_per_node <= 8:
        raise ValueError(
            "n_nodes must be 1 to 6 and gpus_per_node 0 to 8, got "
            f"{n_nodes} and {gpus_per_node}"
        )
    node_w, node_h, node_gap = 2.8, 1.0, 0.35
    nodes_h = n_nodes * node_h + (n_nodes - 1) * node_gap
    fs_y = 0.0
    mid = fs_y + 1.4 + max(nodes_h, 1.6) / 2
    laptop, login, sched, nodes_x = 1.0, 4.0, 7.9, 11.9
    fig, ax = _canvas((0, 14.0), (fs_y - 0.6, mid + nodes_h / 2 + 0.4), 0.7)
    _box(ax, laptop, mid, 1.6, 0.9, "your\ncomputer")
    _box(ax, login, mid, 2.0, 1.0, "login node\n(edit, submit)")
    _box(ax, sched, mid, 2.2, 1.0, "scheduler\n(Slurm or PBS)")
    _arrow(ax, (laptop + 0.85, mid), (login - 1.05, mid))
    ax.text(
        (laptop + login) / 2 + 0.1, mid + 0.1, "ssh", ha="center", va="bottom"
    )
    _arrow(ax, (login + 1.05, mid), (sched - 1.15, mid))
    ax.text(
        (login + sched) / 2,
        mid + 0.1,
        "sbatch job.sh\nqsub job.pbs",
        ha="center",
        va="bottom",
        fontsize=9,
        family="monospace",
    )
    first = mid + nodes_h / 2 - node_h / 2
    for n in range(n_nodes):
        y = first - n * (node_h + node_gap)
        ax.add_patch(
            Rectangle(
                (nodes_x - node_w / 2, y - node_h / 2),
                node_w,
                node_h,
                facecolor="white",
                edgecolor="black",
                linewidth=1.3,
                gid="compute-node",
            )
        )
        ax.text(
            nodes_x - node_w / 2 + 0.1,
            y + node_h / 2 - 0.1,
            f"compute node {n + 1}",
            va="top",
            fontsize=9,
        )
        gpu_w = min(0.55, (node_w - 0.2) / max(gpus_per_node, 1) - 0.08)
        for g in range(gpus_per_node):
            ax.add_patch(
                Rectangle(
                    (nodes_x - node_w / 2 + 0.1 + g * (gpu_w + 0.08), y - 0.4),
                    gpu_w,
                    0.35,
                    facecolor="0.85",
                    edgecolor="black",
                    hatch="..",
                    gid="gpu",
                )
            )
        _arrow(ax, (sched + 1.15, mid), (nodes_x - node_w / 2, y))
    if gpus_per_node:
        ax.text(
            nodes_x + node_w / 2 + 0.1,
            first - 0.22,
            "GPUs",
            va="center",
            fontsize=9,
        )
    ax.text(
        sched,
        mid - 0.65,
        "starts each job on\nnodes that are free",
        ha="center",
        va="top",
        fontsize=9,
    )
    # The shared file systems, mounted on the login node and every compute node.
    left, right = login - 1.0, nodes_x + node_w / 2
    ax.add_patch(
        Rectangle(
            (left, fs_y - 0.4),
            right - left,
            0.8,
            facecolor="white",
            edgecolor="black",
            hatch="\\\\",
            linewidth=1.3,
        )
    )
    ax.text(
        (left + right) / 2,
        fs_y,
        "shared file systems: home, work or scratch, project",
        ha="center",
        va="center",
        bbox={"facecolor": "white", "edgecolor": "none"},
    )
    bottom_node = first - (n_nodes - 1) * (node_h + node_gap) - node_h / 2
    for x, y in ((login, mid - 0.5), (nodes_x, bottom_node)):
        ax.plot([x, x], [y, fs_y + 0.4], color="black", linestyle=":", lw=1.5)
    return fig


def requeue_plan(
    epochs: int,
    epoch_seconds: float,
    walltime_seconds: float,
    warning_seconds: float,
) -> list[list[int]]:
    """Return, for each job in turn, the epochs it completes before its warning comes."""
    if epochs < 1 or epoch_seconds <= 0:
        raise ValueError(
            f"need at least one epoch of positive length, got {epochs=}, "
            f"{epoch_seconds=}"
        )
    if not 0 <= warning_seconds < walltime_seconds:
        raise ValueError(
            f"the warning ({warning_seconds} s) must come within the walltime "
            f"({walltime_seconds} s)"
        )
    per_job = int((walltime_seconds - warning_seconds) // epoch_seconds)
    if per_job < 1:
        raise ValueError(
            f"an epoch ({epoch_seconds} s) does not fit before the warning, "
            f"{walltime_seconds - warning_seconds} s into the job: it would be "
            "requeued for ever"
        )
    done = list(range(1, epochs + 1))
    return [done[i : i + per_job] for i in range(0, epochs, per_job)]


def requeue_timeline(
    epochs: int = 4,
    epoch_seconds: float = 180,
    walltime_seconds: float = 600,
    warning_seconds: float = 120,
) -> Figure:
    """Return one bar per job: epochs, checkpoints, the warning, the requeue, the resume."""
    plan = requeue_plan(
        epochs, epoch_seconds, walltime_seconds, warning_seconds
    )
    minutes = walltime_seconds / 60
    unit = 10 / walltime_seconds  # ten drawing units span the walltime
    span = epoch_seconds * unit
    warn = (walltime_seconds - warning_seconds) * unit
    rows = len(plan)
    fig, ax = _canvas((-2.8, 11.8), (-1.6 * rows + 0.6, 1.3), 0.62)
    for r, done in enumerate(plan):
        y = -1.6 * r
        label = f"job {r + 1}"
        if r:
            label += f"\nresumes from\nepoch {done[0] - 1}'s checkpoint"
        ax.text(-0.2, y, label, ha="right", va="center", fontsize=9)
        # The walltime is the whole bar; the epochs trained fill it from the left.
        ax.add_patch(
            Rectangle(
                (0, y - 0.3), 10, 0.6, facecolor="white", edgecolor="black"
            )
        )
        ax.text(10.15, y, f"walltime\n{minutes:g} min", va="center", fontsize=9)
        for k, epoch in enumerate(done):
            ax.add_patch(
                Rectangle(
                    (k * span, y - 0.3), span, 0.6, facecolor="0.85", ec="black"
                )
            )
            ax.text(
                (k + 0.5) * span, y, f"epoch {epoch}", ha="center", va="center"
            )
            ax.plot(
                (k + 1) * span,
                y + 0.38,
                marker="v",
                color="black",
                markersize=8,
                gid="checkpoint",
            )
        end = len(done) * span
        if r == rows - 1:
            ax.text(end + 0.15, y, "done", va="center", fontsize=9)
            continue
        # The epoch cut short by the warning is lost and trained again.
        ax.add_patch(
            Rectangle(
                (end, y - 0.3),
                warn - end,
                0.6,
                facecolor="white",
                edgecolor="black",
                hatch="xx",
            )
        )
        ax.plot([warn, warn], [y - 0.5, y + 0.5], color="black", lw=2.5)
        ax.text(
            warn,
            y - 0.55,
            f"warning signal {warning_seconds / 60:g} min before the limit: "
            "the job stops and is requeued",
            ha="right" if warn > 5 else "left",
            va="top",
            fontsize=9,
        )
    handles = [
        Line2D(
            [], [], marker="v", color="black", ls="none", label="checkpoint"
        ),
        Patch(facecolor="0.85", edgecolor="black", label="epoch trained"),
        Patch(facecolor="white", ec="black", hatch="xx", label="lost, redone"),
    ]
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.19, 1.0),
        ncols=3,
        fontsize=9,
        frameon=False,
    )
    return fig
