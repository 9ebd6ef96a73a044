"""The hand-written PyTorch loop trainlab's training is measured against.

It produces what trainlab's headline number needs and nothing more: the same network and
preprocessing (trainlab's own modules, same seed), the same batches (the split held on the
device, a `randperm` per epoch, the ragged last batch dropped), the same optimizer, a
validation pass after every epoch (early stopping and the best snapshot need it), the best
snapshot kept in memory, and the test accuracy of that snapshot at the end. It gets the same
kernels too: torch's fused Adam/SGD (`build_optimizer`), channels-last conv weights on the
CPU and trainlab's scoring batch size.

What trainlab does on top, and what the ratio therefore prices: Lightning, the MLflow run
(params, per-epoch metrics, artifacts, the checkpoint copy), checkpoint files, the
per-epoch diagnostics and the train-vs-test gap (a second evaluation over train images).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from trainlab.config.params import Config
from trainlab.data.prepared import PreparedData
from trainlab.data.preprocessing import Normalize
from trainlab.models.networks import build_network
from trainlab.models.optim import build_optimizer
from trainlab.models.scoring import module_accuracy
from trainlab.training.recipe import eval_batch_size


@dataclass
class HandResult:
    best_val_acc: float
    test_acc: float
    steps: int
    images: int  # training images processed


def hand_train(cfg: Config, data: PreparedData, device: torch.device | str = "cpu") -> HandResult:
    """Train `cfg`'s model (no penalty, no augmentation) for `cfg.train.epochs` epochs."""
    device = torch.device(device)
    torch.manual_seed(cfg.seed)
    net = torch.nn.Sequential(
        Normalize(data.preprocessing, data.stats),
        build_network(cfg.model, tuple(data.image_shape), data.num_classes),
    ).to(device)
    if device.type == "cpu":
        net.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(net.parameters(), cfg.train.optimizer, cfg.train.lr,
                                cfg.train.momentum)
    x = data.train.images.to(device).float().div_(255.0)
    y = data.train.labels.to(device)
    val_x, val_y = data.val.images.to(device).float().div_(255.0), data.val.labels.to(device)
    batch = cfg.train.batch_size
    scoring = eval_batch_size(batch, data.image_shape)  # as trainlab scores
    steps_per_epoch = len(y) // batch
    best_acc, best_state, steps = -1.0, None, 0
    for epoch in range(cfg.train.epochs):
        generator = torch.Generator().manual_seed(cfg.seed + epoch)
        order = torch.randperm(len(y), generator=generator).to(device)
        for step in range(steps_per_epoch):
            index = order[step * batch:(step + 1) * batch]
            loss = F.cross_entropy(net(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            steps += 1
        acc = module_accuracy(net, zip(val_x.split(scoring), val_y.split(scoring), strict=True))
        if acc > best_acc:
            best_acc, best_state = acc, copy.deepcopy(net.state_dict())
    net.load_state_dict(best_state)
    test_x, test_y = data.test.images.to(device).float().div_(255.0), data.test.labels.to(device)
    test_acc = module_accuracy(net, zip(test_x.split(scoring), test_y.split(scoring),
                                        strict=True))
    return HandResult(best_acc, test_acc, steps, steps * batch)
