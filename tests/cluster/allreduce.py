"""Processes started by torchrun sum their ranks with all_reduce and each write what they saw."""

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

dist.init_process_group("gloo")
rank = dist.get_rank()
total = torch.tensor([float(rank)])
dist.all_reduce(total)
seen = {"rank": rank, "world_size": dist.get_world_size(), "rank_sum": total.item()}
Path(sys.argv[1], f"rank{rank}.json").write_text(json.dumps(seen))
dist.destroy_process_group()
