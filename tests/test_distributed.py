import os
import subprocess
import sys

import torch

from stylecycle.data.datasets import UnpairedSampler
from stylecycle.training.checkpoint import load_checkpoint


def test_ranks_take_disjoint_equal_shares_of_the_same_epoch():
    whole = list(UnpairedSampler(7, 5, seed=3))
    shares = [list(UnpairedSampler(7, 5, seed=3, rank=r, world_size=2)) for r in (0, 1)]
    assert len(shares[0]) == len(shares[1]) == 3
    assert shares[0] == whole[0:6:2] and shares[1] == whole[1:6:2]


def test_two_gloo_processes_train_identical_weights_and_rank_0_saves_them(demo_root, tmp_path):
    run = tmp_path / "run"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
        "-m", "stylecycle.cli", "train", "--data", str(demo_root), "--run-dir", str(run), "--size", "24", "--load-size", "28",
        "--ngf", "4", "--ndf", "4", "--n-blocks", "1", "--n-layers-d", "2", "--workers", "0", "--device", "cpu",
        "--precision", "fp32", "--max-steps", "4", "--sample-every", "2",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    log = (run / "train.log").read_text()
    assert "(3 per epoch) on cpu x 2 ranks" in log  # 6 images per domain, shared by 2 ranks
    assert "weights identical across 2 ranks" in log
    assert result.stdout.count("checkpoint: ") == 1  # rank 0 alone reports and writes
    state = load_checkpoint(run)
    assert state["step"] == 4
    assert all(torch.isfinite(v).all() for v in state["networks"]["G_ab"].values())
