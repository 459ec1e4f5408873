"""
Training fast
=============

Three of the course's networks again, softmax regression, the five-layer ReLU network and the
convolutional network, trained by the fastest path this machine allows. Nothing about the
networks changes; what changes is how they are fed and how they learn: the whole data set held
as tensors in memory (on the GPU when there is one), a one-cycle learning rate that reaches the
2018 accuracies in a few epochs, digits shifted by a pixel as they are drawn, bfloat16
arithmetic where the processor computes it in hardware, and channels-last images for the
convolutions. Each result and its time stand beside those of the 2018 recipe, trained by the
other examples of this gallery in the same folder.
"""

# sphinx_gallery_thumbnail_number = 1
# sphinx_gallery_dlcourse_gpu = True

# %%
# Settings
# --------
# The convolutional network's recipe: four epochs instead of the 2018 twelve. The learning rate
# is the peak of the one-cycle schedule; label smoothing aims at 0.9 rather than 1 for the right
# class, which keeps a network that trains this fast from growing overconfident.
batch_size = 128
epochs = 4
learning_rate = 0.003
label_smoothing = 0.1
max_shift = 1  # pixels, in each direction
seed = 2018
# The smaller networks need fewer epochs; softmax regression, a single layer
# that cannot overfit, takes larger batches and steps, and no smoothing.
softmax_epochs, softmax_batch_size, softmax_learning_rate = 2, 256, 0.01
mlp_epochs = 6
# torch.compile turns the network into fused machine code: faster steps after a
# first one that takes a minute to compile, and it needs a C compiler on the
# machine. Worth it on long runs.
compile_model = False
# Train the convolutional network again with each change undone, one at a time,
# to see what each is worth: four more runs of the recipe.
measure_each_change = True

# %%
# The device and its arithmetic
# -----------------------------
# bfloat16 keeps float32's range with fewer digits, so it needs no loss scaling, and it runs
# about twice as fast where the processor multiplies it in hardware: GPUs since 2020, and CPUs
# with AVX-512 BF16 or AMX. Elsewhere it would be emulated, and slower than float32.
import os

import torch

torch.manual_seed(seed)
device = "cuda" if torch.cuda.is_available() else "cpu"


def has_fast_bfloat16(device):
    """Return True where ``device`` multiplies bfloat16 in hardware."""
    if device == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            flags = next(
                line for line in cpuinfo if line.startswith("flags")
            ).split()
    except (OSError, StopIteration):
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


bfloat16 = has_fast_bfloat16(device)
if device == "cpu":
    # One thread per core this process may use: a cluster job may get fewer than
    # the node has.
    cores = (
        os.sched_getaffinity(0)
        if hasattr(os, "sched_getaffinity")
        else range(os.cpu_count())
    )
    torch.set_num_threads(len(cores))
    print(f"device: cpu, {torch.get_num_threads()} threads")
else:
    # Let cuDNN time its algorithms once and keep the fastest for these shapes.
    torch.backends.cudnn.benchmark = True
    print("device:", torch.cuda.get_device_name())
print(
    "arithmetic:",
    "bfloat16 where it is safe, float32 elsewhere" if bfloat16 else "float32",
)

# %%
# The data as tensors
# -------------------
# Every image goes into one tensor once, on the device that trains: a batch is then a slice of
# it, with no loader, no copies between processes and, on a GPU, no transfer per step.
import time

from dlcourse import data

start = time.perf_counter()
mnist = data.load_mnist()


def as_images(pixels):
    """Return the digits as floats in [0, 1], shaped (images, 1, 28, 28)."""
    # torch.tensor copies: the library's arrays are read-only, and a tensor may
    # be written to.
    return torch.tensor(pixels).float().div(255).unsqueeze(1).to(device)


train_images, test_images = (
    as_images(mnist.train_images),
    as_images(mnist.test_images),
)
train_labels = torch.tensor(mnist.train_labels).long().to(device)
test_labels = torch.tensor(mnist.test_labels).long().to(device)
load_seconds = time.perf_counter() - start
print(
    "training:", tuple(train_images.shape), " test:", tuple(test_images.shape)
)
print(f"read, checked and placed on the {device} in {load_seconds:.2f} s")


# %%
# Shifted digits, drawn on the fly
# --------------------------------
# A digit moved by a pixel is still the same digit. Each batch gets fresh random moves, so the
# network never sees exactly the same training image twice, at the cost of one gather.
from torch.nn import functional as F


def shifted(images, max_shift):
    """Return the images, each moved up to ``max_shift`` pixels each way."""
    count, _, height, width = images.shape
    padded = F.pad(images, (max_shift,) * 4)
    moves = torch.randint(
        0, 2 * max_shift + 1, (2, count, 1), device=images.device
    )
    rows = torch.arange(height, device=images.device) + moves[0]
    cols = torch.arange(width, device=images.device) + moves[1]
    picked = torch.arange(count, device=images.device)[:, None, None]
    return padded[picked, 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)


# %%
# The networks
# ------------
# The course's three architectures, unchanged: softmax regression, the five-layer network with
# ReLU, and the convolutional network of two 3 × 3 convolutions, max-pooling and 256 neurons.
from torch import nn

softmax_regression = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
five_layer_relu = nn.Sequential(
    nn.Flatten(),
    nn.Linear(784, 200),
    nn.ReLU(),
    nn.Linear(200, 100),
    nn.ReLU(),
    nn.Linear(100, 60),
    nn.ReLU(),
    nn.Linear(60, 30),
    nn.ReLU(),
    nn.Linear(30, 10),
)


class ConvNet(nn.Module):
    def __init__(self, dropout=0.25):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3)
        self.conv2 = nn.Conv2d(32, 32, kernel_size=3)
        self.dropout = nn.Dropout(dropout)
        # 28 → 26 → 24 (two convolutions) → 12 (pooling): 32 maps of 12 × 12.
        self.dense = nn.Linear(32 * 12 * 12, 256)
        self.out = nn.Linear(256, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv2(F.relu(self.conv1(x)))), 2)
        x = F.relu(self.dense(torch.flatten(self.dropout(x), 1)))
        return self.out(self.dropout(x))


# %%
# One cycle of the learning rate
# ------------------------------
# The rate climbs from a twenty-fifth of its peak over the first quarter of the steps, then falls to
# almost nothing: large steps while the weights are far from good, small ones to settle. The
# evidence z goes to ``cross_entropy``, which applies the softmax itself.


@torch.no_grad()
def evaluate(model, images, labels, batch_size=5000):
    """Return the mean loss and the accuracy on ``images``, in big batches."""
    model.eval()
    loss, correct = 0.0, 0
    for start in range(0, len(images), batch_size):
        x, y = (
            images[start : start + batch_size],
            labels[start : start + batch_size],
        )
        with torch.autocast(device, dtype=torch.bfloat16, enabled=bfloat16):
            logits = model(x)
        loss += F.cross_entropy(logits.float(), y, reduction="sum").item()
        correct += (logits.argmax(dim=1) == y).sum().item()
    return loss / len(images), correct / len(images)


def training_step(
    model, optimizer, x, y, label_smoothing, bfloat16, memory_format
):
    """Take one optimizer step on a batch; return the loss and the evidence."""
    x = x.contiguous(memory_format=memory_format)
    with torch.autocast(device, dtype=torch.bfloat16, enabled=bfloat16):
        logits = model(x)
        loss = F.cross_entropy(logits, y, label_smoothing=label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss, logits


def train(
    model,
    epochs,
    batch_size,
    learning_rate,
    label_smoothing=0.0,
    max_shift=0,
    one_cycle=True,
    optimizer_class=torch.optim.AdamW,
):
    """Train ``model`` on a one-cycle schedule (or a constant rate); return its
    history."""
    model = model.to(device, memory_format=torch.channels_last)
    step = torch.compile(model) if compile_model else model
    optimizer = optimizer_class(model.parameters(), lr=learning_rate)
    # The schedule sets the first rate itself, so a constant rate gets none.
    schedule = None
    if one_cycle:
        # Momentum rides the cycle too, where the optimizer has one.
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=learning_rate,
            total_steps=epochs * -(-len(train_images) // batch_size),
            pct_start=0.25,
            cycle_momentum="betas" in optimizer.defaults,
        )
    history = {
        "loss": [],
        "accuracy": [],
        "val_loss": [],
        "val_accuracy": [],
        "seconds": [],
    }
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        total_loss = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        for batch in torch.randperm(len(train_images), device=device).split(
            batch_size
        ):
            x, y = train_images[batch], train_labels[batch]
            if max_shift:
                x = shifted(x, max_shift)
            loss, logits = training_step(
                step,
                optimizer,
                x,
                y,
                label_smoothing,
                bfloat16,
                torch.channels_last,
            )
            if schedule:
                schedule.step()
            # Sums stay on the device: reading a number back each step would
            # wait for the GPU.
            total_loss += loss.detach() * len(batch)
            correct += (logits.argmax(dim=1) == y).sum()
        val_loss, val_accuracy = evaluate(model, test_images, test_labels)
        history["loss"].append(total_loss.item() / len(train_images))
        history["accuracy"].append(correct.item() / len(train_images))
        history["val_loss"].append(val_loss)
        history["val_accuracy"].append(val_accuracy)
        history["seconds"].append(time.perf_counter() - start)
        print(
            f"epoch {epoch}: test accuracy {val_accuracy:.2%}, "
            f"{history['seconds'][-1]:.1f} s"
        )
    return history, time.perf_counter() - start


# %%
# Train the three networks
# ------------------------
# Each time counts the training and the test after every epoch, as the 2018 recipes' do.
course = {
    "softmax": 0.917,
    "mlp_relu": 0.9807,
    "cnn": 0.9923,
}  # the 2018 test accuracies
recipes = {
    "softmax": (
        softmax_regression,
        softmax_epochs,
        softmax_batch_size,
        softmax_learning_rate,
        0,
    ),
    "mlp_relu": (
        five_layer_relu,
        mlp_epochs,
        batch_size,
        learning_rate,
        label_smoothing,
    ),
    "cnn": (ConvNet(), epochs, batch_size, learning_rate, label_smoothing),
}
runs = {}
for name, (model, *recipe) in recipes.items():
    print(f"-- {name}")
    history, seconds = train(
        model, *recipe, max_shift=max_shift if name == "cnn" else 0
    )
    runs[name] = {"history": history, "train_seconds": seconds, "model": model}
    accuracy = history["val_accuracy"][-1]
    print(
        f"{name}: test accuracy {accuracy:.2%} (2018 course: "
        f"{course[name]:.2%}),",
        end=" ",
    )
    print(f"trained in {seconds:.1f} s on {device}")

# %%
# Beside the 2018 recipes
# -----------------------
# The other examples of this gallery leave each 2018 recipe's numbers in ``NAME.json``; run
# them first in the same folder and this table sets the two side by side.
import json

from dlcourse import hardware

print(
    f"{'network':9} {'2018':>7} {'fast recipe':>17} {'2018 recipe':>18} "
    f"{'speed-up':>8}"
)
for name, run in runs.items():
    accuracy = run["history"]["val_accuracy"][-1]
    fast = f"{accuracy:.2%} in {run['train_seconds']:.1f} s"
    reference, speedup = "not run here", ""
    if os.path.exists(f"{name}.json"):
        with open(f"{name}.json") as f:
            saved = json.load(f)
        reference = (
            f"{saved['test_accuracy']:.2%} in {saved['train_seconds']:.1f} s"
        )
        speedup = f"{saved['train_seconds'] / run['train_seconds']:.1f}×"
    print(
        f"{name:9} {course[name]:>7.2%} {fast:>17} {reference:>18} {speedup:>8}"
    )

# %%
# Accuracy against time
# ---------------------
# The convolutional network's test accuracy after each epoch, placed at the time it was
# reached. The 2018 recipe's epochs are spread evenly over its training time.
import matplotlib.pyplot as plt
from matplotlib.ticker import MultipleLocator, PercentFormatter

fig, ax = plt.subplots(figsize=(6.4, 4), layout="constrained")
fast = runs["cnn"]["history"]
ax.plot(fast["seconds"], fast["val_accuracy"], "o-", label="fast recipe")
if os.path.exists("cnn.json"):
    with open("cnn.json") as f:
        reference = json.load(f)
    accuracies = reference["history"]["val_accuracy"]
    per_epoch = reference["train_seconds"] / len(accuracies)
    seconds = [per_epoch * epoch for epoch in range(1, len(accuracies) + 1)]
    ax.plot(seconds, accuracies, "s-", label="2018 recipe")
ax.axhline(
    course["cnn"], color="gray", linestyle="--", label="2018 course: 99.23%"
)
ax.set_ylim(0.98, 1.0)
ax.yaxis.set_major_locator(MultipleLocator(0.005))
ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
ax.set(
    xlabel="seconds of training",
    ylabel="test accuracy",
    title="Convolutional network",
)
ax.legend(loc="lower right")

# %%
# What each change is worth
# -------------------------
# Each change undone alone, everything else kept. Those that change what is
# learned (the schedule, the optimizer, the shifts, the smoothing) retrain the
# network; those that change only the arithmetic time thirty steps of the recipe,
# after three to warm up, and scale them to an epoch.
from torch.utils.data import DataLoader, TensorDataset


def seconds_per_epoch(
    bfloat16=bfloat16, memory_format=torch.channels_last, loader=False
):
    """Return the time an epoch of the CNN's recipe takes, from timed steps."""
    n_batches = -(-len(train_images) // batch_size)
    warmup = min(3, n_batches - 1)
    timed = min(30, n_batches - warmup)
    torch.manual_seed(seed)
    model = ConvNet().to(device, memory_format=memory_format)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    if loader:
        # The usual PyTorch way: a loader that gathers a batch image by image.
        batches = DataLoader(
            TensorDataset(train_images, train_labels),
            batch_size=batch_size,
            shuffle=True,
        )
    else:
        order = torch.randperm(len(train_images), device=device)
        batches = (
            (train_images[b], train_labels[b]) for b in order.split(batch_size)
        )
    model.train()
    for i, (x, y) in enumerate(batches):
        if i == warmup:
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        if i == warmup + timed:
            break
        args = (label_smoothing, bfloat16, memory_format)
        training_step(model, optimizer, shifted(x, max_shift), y, *args)
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / timed * n_batches


changes = []
if measure_each_change:
    undone = {
        "one-cycle learning rate": (
            "AdamW's default constant rate, 0.001",
            dict(learning_rate=0.001, one_cycle=False),
        ),
        "AdamW": (
            "Adadelta, the 2018 optimizer, on the same cycle up to 1.0",
            dict(learning_rate=1.0, optimizer_class=torch.optim.Adadelta),
        ),
        "shifted digits": ("the digits as they are", dict(max_shift=0)),
        "label smoothing": ("targets of exactly 1", dict(label_smoothing=0.0)),
    }
    for change, (instead, settings) in undone.items():
        print(f"-- without {change}: {instead}")
        torch.manual_seed(seed)
        recipe = dict(
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            label_smoothing=label_smoothing,
            max_shift=max_shift,
        )
        history, seconds = train(ConvNet(), **{**recipe, **settings})
        changes.append(
            {
                "change": change,
                "instead": instead,
                "test_accuracy": history["val_accuracy"][-1],
                "train_seconds": seconds,
            }
        )
    speed = {
        "bfloat16 arithmetic": ("float32", dict(bfloat16=False)),
        "channels-last images": (
            "channels-first images",
            dict(memory_format=torch.contiguous_format),
        ),
        "batches sliced from one tensor": (
            "a DataLoader",
            dict(loader=True),
        ),
    }
    recipe_epoch = seconds_per_epoch()
    for change, (instead, settings) in speed.items():
        if change == "bfloat16 arithmetic" and not bfloat16:
            continue  # float32 already: this processor has no fast bfloat16
        changes.append(
            {
                "change": change,
                "instead": instead,
                "seconds_per_epoch": seconds_per_epoch(**settings),
            }
        )
    fast_accuracy = runs["cnn"]["history"]["val_accuracy"][-1]
    print(f"the recipe: {fast_accuracy:.2%}, {recipe_epoch:.1f} s an epoch")
    for row in changes:
        if "test_accuracy" in row:
            points = 100 * (row["test_accuracy"] - fast_accuracy)
            effect = f"{row['test_accuracy']:.2%} ({points:+.2f} points)"
        else:
            ratio = row["seconds_per_epoch"] / recipe_epoch
            effect = f"{row['seconds_per_epoch']:.1f} s an epoch ({ratio:.2f}×)"
        print(f"without {row['change']} ({row['instead']}): {effect}")

# %%
# Save the weights and the numbers
# --------------------------------
# Each network's weights and numbers, under names of their own so they never replace the 2018
# recipes' files. The weights load back with ``weights_only=True``: tensors, never code.
for name, run in runs.items():
    torch.save(run["model"].state_dict(), f"fast_{name}.pt")
    run["model"].load_state_dict(
        torch.load(f"fast_{name}.pt", weights_only=True)
    )
    with open(f"fast_{name}.json", "w") as f:
        results = {
            "test_accuracy": run["history"]["val_accuracy"][-1],
            "train_seconds": run["train_seconds"],
            "train_images": len(train_images),
            "test_images": len(test_images),
            "load_seconds": load_seconds,
            "device": hardware.torch_device(train_labels),
            "bfloat16": bfloat16,
        }
        json.dump({**results, "history": run["history"]}, f, indent=1)
if changes:
    with open("fast_cnn_changes.json", "w") as f:
        measured = {
            "device": hardware.torch_device(train_labels),
            "bfloat16": bfloat16,
            "train_images": len(train_images),
            "recipe_test_accuracy": fast_accuracy,
            "recipe_seconds_per_epoch": recipe_epoch,
            "changes": changes,
        }
        json.dump(measured, f, indent=1)
