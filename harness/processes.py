"""Several processes on one run, as `accelerate launch` or `torchrun` starts them: which process this is, the
examples each one takes, and their parts put back together in order.

The launcher sets RANK, LOCAL_RANK and WORLD_SIZE; one process (none set) is the default and costs nothing.
Where there are several, accelerate's PartialState joins them into one process group (gloo on a CPU, NCCL on
GPUs), the one TRL's trainer then trains in with DDP. Only the main process (rank 0) writes caches, run
files and the console; the others train their share of each batch and answer their share of each pass.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Processes:
    rank: int
    world: int
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def several(self) -> bool:
        return self.world > 1

    def shard(self, count: int) -> range:
        """This process's contiguous share of `count` items, the first `count % world` shares one longer (as
        accelerate's split_between_processes cuts a list), so that the parts in rank order are the whole."""
        base, extra = divmod(count, self.world)
        start = self.rank * base + min(self.rank, extra)
        return range(start, start + base + (self.rank < extra))


def current() -> Processes:
    return Processes(int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1")),
                     int(os.environ.get("LOCAL_RANK", "0")))


def join() -> Processes:
    """This process, in the launcher's process group where there are several (joined once)."""
    processes = current()
    if processes.several:
        import torch
        from accelerate import PartialState

        # Initialises torch.distributed with the backend for this machine; the trainer's state is this one.
        PartialState(cpu=not torch.cuda.is_available())
    return processes


def gather(part: list, processes: Processes) -> list:
    """Every process's part, in rank order, on every process."""
    if not processes.several:
        return part
    import torch.distributed as dist

    parts: list = [None] * processes.world
    dist.all_gather_object(parts, part)
    return [item for each in parts for item in each]


def from_main(value, processes: Processes):
    """The main process's `value`, on every process."""
    if not processes.several:
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def wait_for_all(processes: Processes) -> None:
    if processes.several:
        import torch.distributed as dist

        dist.barrier()
