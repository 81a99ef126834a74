import os
import shutil
import socket
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from conftest import TINY_FLAGS
from stylecycle.data.datasets import UnpairedSampler
from stylecycle.nn.norm import SyncBatchNorm2d
from stylecycle.training.checkpoint import load_checkpoint


def test_ranks_take_disjoint_equal_shares_of_the_same_epoch():
    whole = list(UnpairedSampler(7, 5, seed=3))
    shares = [list(UnpairedSampler(7, 5, seed=3, rank=r, world_size=2)) for r in (0, 1)]
    assert len(shares[0]) == len(shares[1]) == 3
    assert shares[0] == whole[0:6:2] and shares[1] == whole[1:6:2]


@pytest.mark.parametrize(("norm", "method"), [("instance", "cyclegan"), ("batch", "cyclegan"), ("instance", "fastcut")])
def test_two_gloo_processes_train_identical_weights_and_rank_0_saves_them(demo_root, tmp_path, norm, method):
    run = tmp_path / "run"
    result = torchrun_train(
        "--data",
        str(demo_root),
        "--run-dir",
        str(run),
        *TINY_FLAGS,
        "--precision",
        "fp32",
        "--max-steps",
        "4",
        "--sample-every",
        "2",
        "--norm",
        norm,
        "--model",
        method,
    )
    log = (run / "train.log").read_text()
    assert "(3 per epoch) on cpu x 2 ranks" in log  # 6 images per domain, shared by 2 ranks
    assert "weights identical across 2 ranks" in log
    assert ("synchronised batch statistics" in result.stderr) == (norm == "batch")
    assert result.stdout.count("checkpoint: ") == 1  # rank 0 alone reports and writes
    state = load_checkpoint(run)
    assert state["step"] == 4
    assert all(torch.isfinite(v).all() for v in state["networks"]["G_ab"].values())


def torchrun_train(*flags: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "--tee",
        "3",  # each rank's own output too (prefixed with its rank), so that a failure shows why
        "-m",
        "stylecycle.cli",
        "train",
        *flags,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-8000:]  # the ranks' own errors come before torchrun's summary
    return result


def test_resume_under_ddp_continues_identically_with_each_ranks_own_image_pools(demo_root, tmp_path):
    """4 steps straight == resuming the straight run's step-2 checkpoint for 2 more, on 2 ranks.
    A one-image pool swaps fakes from step 2 on, so a rank resumed with the other's pool would differ."""
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    torchrun_train(
        "--data",
        str(demo_root),
        "--run-dir",
        str(straight),
        *TINY_FLAGS,
        "--precision",
        "fp32",
        "--max-steps",
        "4",
        "--save-every",
        "2",
        "--keep-last",
        "0",
        "--pool-size",
        "1",
        "--sample-every",
        "0",
        "--deterministic",
    )
    (resumed / "checkpoints").mkdir(parents=True)
    shutil.copy(straight / "checkpoints" / "step_00000002.pt", resumed / "checkpoints")
    torchrun_train("--resume", str(resumed))
    a, b = load_checkpoint(straight), load_checkpoint(resumed)
    assert a["step"] == b["step"] == 4 and len(b["per_rank"]) == 2
    for name in a["networks"]:
        for key, value in a["networks"][name].items():
            assert torch.equal(value, b["networks"][name][key]), f"{name}.{key}"
    for rank in (0, 1):
        assert torch.equal(a["per_rank"][rank]["pools"]["b"]["images"], b["per_rank"][rank]["pools"]["b"]["images"])
    assert not torch.equal(a["per_rank"][0]["pools"]["b"]["images"], a["per_rank"][1]["pools"]["b"]["images"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sync_norm_on_a_share(rank: int, world_size: int, port: int, x: torch.Tensor, upstream: torch.Tensor, out_dir: str) -> None:
    """One rank: normalise its share of the batch, back-propagate, save what it got."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    norm = SyncBatchNorm2d(3)
    share = x.chunk(world_size)[rank].clone().requires_grad_(True)
    y = norm(share)
    (y * upstream.chunk(world_size)[rank]).sum().backward()
    torch.save(
        {"y": y.detach(), "x_grad": share.grad, "weight_grad": norm.weight.grad, "running_mean": norm.running_mean},
        f"{out_dir}/rank{rank}.pt",
    )
    dist.destroy_process_group()


def test_synchronised_batch_norm_over_two_ranks_equals_batch_norm_over_the_whole_batch(tmp_path):
    torch.manual_seed(0)
    x, upstream = torch.randn(4, 3, 5, 5) * 3 + 1, torch.randn(4, 3, 5, 5)
    mp.spawn(sync_norm_on_a_share, args=(2, free_port(), x, upstream, str(tmp_path)), nprocs=2)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1)]

    whole = torch.nn.BatchNorm2d(3)
    x = x.clone().requires_grad_(True)
    y = whole(x)
    (y * upstream).sum().backward()
    torch.testing.assert_close(torch.cat([r["y"] for r in ranks]), y.detach(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(torch.cat([r["x_grad"] for r in ranks]), x.grad, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ranks[0]["weight_grad"] + ranks[1]["weight_grad"], whole.weight.grad, atol=1e-5, rtol=1e-5)
    for r in ranks:
        torch.testing.assert_close(r["running_mean"], whole.running_mean)
