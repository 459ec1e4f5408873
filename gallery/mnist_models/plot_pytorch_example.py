"""
PyTorch's MNIST example
=======================

The convolutional network of the PyTorch repository's MNIST example, which the 2018 course ran:
two 5 × 5 convolutions with max-pooling, dropout and two dense layers, written as an
``nn.Module`` and trained with SGD and momentum by a plain training loop. It takes the GPU when
there is one; :doc:`/book/frameworks` puts it beside Keras and Caffe.
"""

# sphinx_gallery_thumbnail_number = 1
# sphinx_gallery_dlcourse_gpu = True

# %%
# Settings
# --------
# The example's settings in 2018. Change any of them and run the script again.
batch_size = 64
epochs = 10
learning_rate = 0.01
momentum = 0.5
seed = 1

# %%
# Load MNIST
# ----------
# Pixels are standardised with the training set's mean and standard deviation, as the example
# does; PyTorch wants images as (batch, channels, height, width).
import torch

from dlcourse import data

torch.manual_seed(seed)
device = "cuda" if torch.cuda.is_available() else "cpu"
print("device:", device)

mnist = data.load_mnist()
# torch.tensor copies: the library's arrays are read-only, and a tensor may be
# written to.
train_images = torch.tensor(mnist.train_images).float().div(255).unsqueeze(1)
test_images = torch.tensor(mnist.test_images).float().div(255).unsqueeze(1)
mean, std = train_images.mean(), train_images.std()
print(f"training pixels: mean {mean:.4f}, standard deviation {std:.4f}")
train_set = torch.utils.data.TensorDataset(
    (train_images - mean) / std, torch.tensor(mnist.train_labels)
)
test_set = torch.utils.data.TensorDataset(
    (test_images - mean) / std, torch.tensor(mnist.test_labels)
)
train_loader = torch.utils.data.DataLoader(
    train_set, batch_size=batch_size, shuffle=True
)
test_loader = torch.utils.data.DataLoader(test_set, batch_size=1000)

# %%
# The network
# -----------
# ``forward`` says how data flows through the layers made in ``__init__``. The last layer
# outputs the evidence z; ``cross_entropy`` below applies the softmax itself.
from torch import nn
from torch.nn import functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d(0.5)
        # 28 → 24 (conv) → 12 (pool) → 8 (conv) → 4 (pool): 20 maps of 4 × 4.
        self.fc1 = nn.Linear(20 * 4 * 4, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, 0.5, training=self.training)
        return self.fc2(x)


model = Net().to(device)
print(model)
print(f"{sum(p.numel() for p in model.parameters()):,} parameters")


# %%
# The training loop
# -----------------
# One epoch: for every batch, clear the old gradients, compute the loss, backpropagate, step.
def train_epoch(model, loader, optimizer):
    model.train()
    total_loss, correct = 0.0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        logits = model(images)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(labels)
        correct += (logits.argmax(dim=1) == labels).sum().item()
    return total_loss / len(loader.dataset), correct / len(loader.dataset)


@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    total_loss, correct = 0.0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        logits = model(images)
        total_loss += F.cross_entropy(logits, labels, reduction="sum").item()
        correct += (logits.argmax(dim=1) == labels).sum().item()
    return total_loss / len(loader.dataset), correct / len(loader.dataset)


# %%
# Train
# -----
# A checkpoint after every epoch, written to a new file and then renamed so a crash never leaves
# half a file: if the run is stopped (a job's time limit), running the script again resumes it.
import os
import time

optimizer = torch.optim.SGD(
    model.parameters(), lr=learning_rate, momentum=momentum
)
checkpoint = "pytorch_example_checkpoint.pt"
history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
first_epoch = 1
if os.path.exists(checkpoint):
    state = torch.load(checkpoint, map_location=device, weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    history, first_epoch = state["history"], state["epoch"] + 1
    print(f"resuming after epoch {state['epoch']}")

start = time.perf_counter()
for epoch in range(first_epoch, epochs + 1):
    loss, accuracy = train_epoch(model, train_loader, optimizer)
    val_loss, val_accuracy = evaluate(model, test_loader)
    for key, value in zip(history, (loss, accuracy, val_loss, val_accuracy)):
        history[key].append(value)
    print(
        f"epoch {epoch:2d}: loss {loss:.4f}, test loss {val_loss:.4f}, test "
        f"{val_accuracy:.2%}"
    )
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict()}
    torch.save(
        {**state, "history": history, "epoch": epoch}, checkpoint + ".tmp"
    )
    os.replace(checkpoint + ".tmp", checkpoint)
train_seconds = time.perf_counter() - start

# %%
# Evaluate
# --------
test_loss, test_accuracy = evaluate(model, test_loader)
print(f"test accuracy: {test_accuracy:.2%} (2018 course: 98.45%)")
print(f"trained in {train_seconds:.0f} s on {device}")

# %%
# Learning curves
# ---------------
from dlcourse import plots

fig = plots.plot_history(history, title="PyTorch's MNIST example")

# %%
# Save the weights and the numbers
# --------------------------------
# Load them into a new ``Net()`` with
# ``model.load_state_dict(torch.load("pytorch_example.pt", weights_only=True))``.
import json

from dlcourse import hardware

torch.save(model.state_dict(), "pytorch_example.pt")
with open("pytorch_example.json", "w") as f:
    results = {"test_accuracy": test_accuracy, "train_seconds": train_seconds}
    results.update(train_images=len(train_set), test_images=len(test_set))
    # The device the weights trained on: a GPU's name, or CPU.
    results["device"] = hardware.torch_device(next(model.parameters()))
    json.dump({**results, "history": history}, f, indent=1)
os.remove(checkpoint)
