import lightning.pytorch as pl
import pytest
import torch
from torch import nn

from trainlab.data.datamodule import RecipeDataModule
from trainlab.data.loader import DeviceLoader
from trainlab.data.prepared import prepare


@pytest.fixture(scope="module")
def digits():
    from trainlab.config.params import Config

    return prepare(Config().replace(**{"data.dataset": "digits", "data.train_subset": None}))


def test_loaders_serve_each_split(digits):
    dm = RecipeDataModule(digits, batch_size=100, device="cpu", seed=0)
    train, val, test = dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()
    assert all(isinstance(loader, DeviceLoader) for loader in (train, val, test))
    assert (len(train), len(val), len(test)) == (12, 2, 4)  # 1293 // 100, ceil(144/100), ...
    assert train.shuffle and train.drop_last and not val.shuffle and not test.drop_last
    assert torch.equal(torch.cat([y for _, y in test]), digits.test.labels)
    assert dm.train_dataloader() is train  # built once: the split is copied to the device once


def test_train_keeps_a_lone_short_batch(digits):
    dm = RecipeDataModule(digits, batch_size=5000, device="cpu", seed=0)
    train = dm.train_dataloader()
    assert not train.drop_last and len(train) == 1


def _gap_images(loader) -> torch.Tensor:
    return torch.cat([x for x, _ in loader])


def test_gap_loader_is_a_fixed_sample_in_order(digits):
    dm = RecipeDataModule(digits, batch_size=128, device="cpu", seed=3)
    dm.train_dataloader().group = 4  # as training sets it: the sample is not grouped
    gap = dm.gap_dataloader(500)
    assert gap.num_samples == 500 and not gap.shuffle and gap.group is None
    images = _gap_images(gap)
    assert torch.equal(images, _gap_images(gap))  # same every time
    # The train images themselves, a distinct sample in their split's order, with their labels.
    train = digits.train.images.float().div(255.0)
    rows = (images.flatten(1)[:, None, :] == train.flatten(1)[None, :, :]).all(-1)
    positions = rows.float().argmax(1)
    assert rows.any(1).all() and positions.unique().numel() == 500
    assert torch.equal(positions, positions.sort().values)
    assert torch.equal(torch.cat([y for _, y in gap]), digits.train.labels[positions])
    again = RecipeDataModule(digits, batch_size=128, device="cpu", seed=3).gap_dataloader(500)
    assert torch.equal(_gap_images(again), images)
    other = RecipeDataModule(digits, batch_size=128, device="cpu", seed=4).gap_dataloader(500)
    assert not torch.equal(_gap_images(other), images)
    assert dm.gap_dataloader(10_000).num_samples == len(digits.train)  # at most all
    assert len(list(dm.train_dataloader())) == len(dm.train_dataloader())  # training unchanged


def test_state_dict_restores_the_shuffling(digits):
    dm = RecipeDataModule(digits, batch_size=64, device="cpu", seed=0)
    for _ in range(3):
        list(dm.train_dataloader())
    state = dm.state_dict()
    assert state == {"train_epoch": 3}
    expected = torch.cat([y for _, y in dm.train_dataloader()])
    resumed = RecipeDataModule(digits, batch_size=64, device="cpu", seed=0)
    resumed.load_state_dict(state)
    assert torch.equal(torch.cat([y for _, y in resumed.train_dataloader()]), expected)


class Linear(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
        self.train_batches = 0

    def training_step(self, batch, _):
        x, y = batch
        self.train_batches += 1
        return nn.functional.cross_entropy(self.net(x), y)

    def validation_step(self, batch, _):
        x, y = batch
        self.log("val/acc", (self.net(x).argmax(1) == y).float().mean())

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=0.05)


def test_lightning_trains_on_the_device_loaders(digits):
    dm = RecipeDataModule(digits, batch_size=64, device="cpu", seed=0)
    model = Linear()
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(model, datamodule=dm)
    assert model.train_batches == 2 * (1293 // 64)
    assert trainer.callback_metrics["val/acc"] > 0.8  # a linear model learns digits fast
