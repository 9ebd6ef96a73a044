"""Trials per device and the memory check before a trial (trainlab.search.capacity), and a
search whose trial waits for memory instead of crashing (on the CPU, memory reported low)."""

from __future__ import annotations

import pytest
import torch

from trainlab.config.params import Config
from trainlab.data.prepared import load_prepared
from trainlab.search import capacity
from trainlab.search.capacity import auto_workers, free_bytes, trial_bytes, wait_for_memory

GIB = 2**30
CUDA, CPU = torch.device("cuda"), torch.device("cpu")


def test_auto_workers_fill_the_free_memory_up_to_the_cores_and_the_cap():
    assert auto_workers(CUDA, cores=16, free_bytes=130 * GIB, need_bytes=2 * GIB) == 8  # cap
    assert auto_workers(CUDA, cores=4, free_bytes=130 * GIB, need_bytes=2 * GIB) == 4  # cores
    assert auto_workers(CUDA, cores=16, free_bytes=10 * GIB, need_bytes=2 * GIB) == 3  # 10/3
    assert auto_workers(CUDA, cores=16, free_bytes=1 * GIB, need_bytes=2 * GIB) == 1  # waits
    assert auto_workers(CPU, cores=2, free_bytes=0, need_bytes=GIB) == 2  # a core each


def test_a_trial_needs_its_data_its_model_state_and_a_batch_of_activations(prepared):
    data = load_prepared("data/prepared")  # digits: 1,797 8x8 images
    cfg = Config().replace(**{"train.batch_size": 128})
    need = trial_bytes(cfg, data, parameters=1_000_000, device=CPU)
    images = sum(s.images.numel() for s in data.splits.values())
    assert need == (images + 8 * 1797 + 16_000_000 + 4 * 128 * 64 * capacity.ACTIVATION_FACTOR)
    on_gpu = trial_bytes(cfg, data, parameters=1_000_000, device=CUDA)
    assert on_gpu - need == capacity.CUDA_CONTEXT_BYTES


def test_a_trial_waits_until_the_memory_it_needs_is_free():
    reported = iter([1 * GIB, 2 * GIB, 8 * GIB])
    said, slept = [], []
    waited = wait_for_memory(4 * GIB, lambda: next(reported), said.append, poll=5.0,
                             sleep=slept.append)
    assert (waited, slept) == (10.0, [5.0, 5.0])
    assert said == ["waiting for 6.00 GiB of free device memory (1.00 GiB free): another trial "
                    "must finish first"]  # once, not at every poll
    assert wait_for_memory(GIB, lambda: None, said.append, sleep=slept.append) == 0.0


def test_host_memory_is_read_from_meminfo(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24684120 kB\nMemAvailable:   20123456 kB\n")
    assert free_bytes(CPU, meminfo) == 20123456 * 1024
    assert free_bytes(CPU, tmp_path / "missing") is None


@pytest.mark.slow
def test_a_search_trial_that_does_not_fit_waits_and_then_trains(search_project, monkeypatch,
                                                                capsys):
    project = search_project.configure()
    # The host reports too little memory twice, then enough (another trial "finished").
    reported = iter([0, 0])
    monkeypatch.setattr("trainlab.search.workers.free_bytes",
                        lambda device: next(reported, 64 * GIB))
    monkeypatch.setattr(capacity, "POLL_S", 0.01)
    monkeypatch.setattr("trainlab.search.capacity.time.sleep", lambda seconds: None)
    assert project.run("--set", "search.workers=1") == 0
    out = capsys.readouterr().out
    assert out.count("waiting for") == 1  # the first trial waited, once
    assert [t.state.name for t in project.trials()] == ["COMPLETE"] * 4


def test_auto_workers_on_the_cpu_are_one_per_usable_core(prepared, capsys):
    from trainlab.search.workers import resolve_workers, usable_cores

    data = load_prepared("data/prepared")
    assert resolve_workers("auto", Config(), data) == usable_cores()
    assert "search.workers = auto: " in capsys.readouterr().out
    assert resolve_workers(3, Config(), data) == 3
