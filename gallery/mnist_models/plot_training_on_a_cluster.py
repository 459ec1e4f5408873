"""
Training on a cluster
=====================

A plain PyTorch training loop with the three things a cluster asks of it: a checkpoint after
every epoch that a second run resumes from, a clean stop when the scheduler warns that the
time limit is near, and several processes that share each epoch, one per GPU.
:doc:`/book/running_on_a_cluster` shows the batch scripts around it.

On one GPU, or on the CPU where there is none (``DEVICE=cuda`` insists on a GPU)::

    python plot_training_on_a_cluster.py

On two GPUs of one node (or two CPU processes), each training on half of every epoch::

    torchrun --standalone --nproc_per_node=2 plot_training_on_a_cluster.py

In a Slurm job that is warned 2 minutes before its time limit (``srun`` passes the signal on)
and goes back in the queue when the script stops early, which it says with exit status 75::

    #!/bin/bash
    #SBATCH --gpus=1 --time=1:00:00 --signal=USR1@120 --requeue --open-mode=append
    srun python plot_training_on_a_cluster.py
    if [ $? -eq 75 ]; then scontrol requeue "$SLURM_JOB_ID"; fi
"""

# %%
# Settings
# --------
# Plain variables, as in every example: change one and run the script again. ``DEVICE=cpu``
# or ``DEVICE=cuda`` in the environment overrides the choice of device.
import os

batch_size = 128
epochs = 5
learning_rate = 0.05
momentum = 0.9
seed = 1
device = os.environ.get("DEVICE", "auto")
checkpoint = "cluster_example_checkpoint.pt"
# EX_TEMPFAIL of sysexits.h, "try again later": the job script requeues on it.
requeue_status = 75

# %%
# Processes and the device
# ------------------------
# ``torchrun`` starts one process per GPU and tells each its rank in the environment. A plain
# ``python`` run is a world of one. GPUs exchange gradients through NCCL, CPUs through gloo.
import sys

import torch
from torch import distributed as dist

if device == "cuda" and not torch.cuda.is_available():
    sys.exit("error: DEVICE=cuda, but PyTorch sees no GPU on this machine")
if device == "auto":
    device = "cuda" if torch.cuda.is_available() else "cpu"
distributed = "WORLD_SIZE" in os.environ
if distributed:
    dist.init_process_group("nccl" if device == "cuda" else "gloo")
    rank, world_size = dist.get_rank(), dist.get_world_size()
    if device == "cuda":
        device = f"cuda:{os.environ['LOCAL_RANK']}"
        torch.cuda.set_device(device)
else:
    rank, world_size = 0, 1
main_process = rank == 0  # only this one prints and writes files
torch.manual_seed(seed)  # the same first weights in every process
if main_process:
    print(f"{world_size} process(es) on {device}")

# %%
# Each process its slice of the data
# ----------------------------------
# ``DistributedSampler`` shuffles the training set by the seed and the epoch, the same way in
# every process, and hands process ``rank`` every ``world_size``-th image of that order.
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from dlcourse import data

mnist = data.load_mnist(progressbar=main_process)
train_set = TensorDataset(
    torch.tensor(mnist.train_images).float().div(255),
    torch.tensor(mnist.train_labels).long(),
)
test_set = TensorDataset(
    torch.tensor(mnist.test_images).float().div(255),
    torch.tensor(mnist.test_labels).long(),
)
sampler = DistributedSampler(train_set, world_size, rank, seed=seed)
train_loader = DataLoader(train_set, batch_size // world_size, sampler=sampler)
test_loader = DataLoader(test_set, batch_size=1000)

# %%
# The network
# -----------
# A small multilayer perceptron: the cluster's part of the script does not depend on it.
# ``DistributedDataParallel`` averages the gradients of all processes in ``backward()``, so
# every copy of the network takes the same step.
from torch import nn
from torch.nn import functional as F

net = nn.Sequential(
    nn.Flatten(), nn.Linear(28 * 28, 100), nn.ReLU(), nn.Linear(100, 10)
).to(device)
model = nn.parallel.DistributedDataParallel(net) if distributed else net
optimizer = torch.optim.SGD(
    model.parameters(), lr=learning_rate, momentum=momentum
)

# %%
# Resume from the checkpoint
# --------------------------
# A checkpoint holds the weights, the optimizer's momentum, the history, and how far the
# interrupted epoch got: its batches done and their summed loss and hits.
history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
start = {"epoch": 0, "step": 0, "sums": [0.0] * 3, "seconds": 0.0}
if os.path.exists(checkpoint):
    state = torch.load(checkpoint, map_location=device, weights_only=True)
    net.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    history, start = state["history"], state["start"]
    if main_process:
        print(f"resuming at epoch {start['epoch'] + 1}, batch {start['step']}")


def save_checkpoint(epoch, step, sums, seconds):
    """Write the checkpoint to a new file, then rename it over the old one."""
    state = {"model": net.state_dict(), "optimizer": optimizer.state_dict()}
    state["history"] = history
    state["start"] = dict(epoch=epoch, step=step, sums=sums, seconds=seconds)
    torch.save(state, checkpoint + ".tmp")
    os.replace(checkpoint + ".tmp", checkpoint)  # atomic: old file or new


# %%
# Stop when the scheduler warns
# -----------------------------
# The signal only raises a flag; the loop looks at it after each whole batch. All processes
# agree on it, so they stop after the same batch.
import signal

stop_signal = []


def request_stop(number, frame):
    stop_signal.append(number)


handlers = {
    s: signal.signal(s, request_stop) for s in (signal.SIGUSR1, signal.SIGTERM)
}


def should_stop():
    flag = torch.tensor(float(bool(stop_signal)), device=device)
    if distributed:
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return flag.item() > 0


@torch.no_grad()
def evaluate():
    net.eval()
    loss, hits = 0.0, 0
    for images, labels in test_loader:
        logits = net(images.to(device))
        labels = labels.to(device)
        loss += F.cross_entropy(logits, labels, reduction="sum").item()
        hits += (logits.argmax(1) == labels).sum().item()
    return loss / len(test_set), hits / len(test_set)


# %%
# Train
# -----
# The plain loop of every example, with a checkpoint after each epoch and a look at the flag
# after each batch. A stopped run saves where it was and exits with ``requeue_status``.
import time

began = time.perf_counter() - start["seconds"]
for epoch in range(start["epoch"], epochs):
    sampler.set_epoch(epoch)
    first_step = start["step"] if epoch == start["epoch"] else 0
    # summed loss, hits and images of this process's share of the epoch
    sums = torch.tensor(start["sums"] if first_step else [0.0] * 3).double()
    net.train()
    for step, (images, labels) in enumerate(train_loader):
        if step < first_step:
            continue  # trained before the interruption
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        logits = model(images)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        optimizer.step()
        hits = (logits.argmax(1) == labels).sum().item()
        sums += torch.tensor([loss.item() * len(labels), hits, len(labels)])
        if should_stop():
            seconds = time.perf_counter() - began
            if main_process:
                save_checkpoint(epoch, step + 1, sums.tolist(), seconds)
                print(f"stopped in epoch {epoch + 1}: checkpoint written")
            if distributed:
                dist.barrier()  # no process leaves before the file is written
            sys.exit(requeue_status)
    totals = sums.to(device)
    if distributed:
        dist.all_reduce(totals)  # the shares of all processes
    loss, accuracy = (totals[:2] / totals[2]).tolist()
    val_loss, val_accuracy = evaluate()
    for key, value in zip(history, (loss, accuracy, val_loss, val_accuracy)):
        history[key].append(value)
    if main_process:
        save_checkpoint(epoch + 1, 0, [0.0] * 3, time.perf_counter() - began)
        print(f"epoch {epoch + 1}: loss {loss:.4f}, test {val_accuracy:.2%}")
train_seconds = time.perf_counter() - began
for number, handler in handlers.items():
    signal.signal(number, handler)  # the handlers the script found

# %%
# Learning curves
# ---------------
from dlcourse import plots

if main_process:
    fig = plots.plot_history(history, title="Trained to survive a cluster")

# %%
# Save the weights and the numbers
# --------------------------------
# Only the first process writes; the others have the same weights.
import json

from dlcourse import hardware

test_loss, test_accuracy = evaluate()
if main_process:
    print(f"test accuracy: {test_accuracy:.2%} in {train_seconds:.1f} s")
    torch.save(net.state_dict(), "cluster_example.pt")
    results = {"test_accuracy": test_accuracy, "train_seconds": train_seconds}
    results.update(train_images=len(train_set), test_images=len(test_set))
    results.update(device=hardware.torch_device(next(net.parameters())))
    results.update(processes=world_size)
    with open("cluster_example.json", "w") as f:
        json.dump({**results, "history": history}, f, indent=1)
    os.remove(checkpoint)
if distributed:
    dist.destroy_process_group()
