"""Backbones: offline ImageNet weights, local ResNet-18 weights, block splits, input adaptor."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trainlab.config.schema import ModelConfig
from trainlab.errors import DataError
from trainlab.models.networks import build_network
from trainlab.transfer.backbones import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImageNetInput,
    efficientnet_backbone,
    efficientnet_lite0_model,
    imagenet_backbone,
    recipe_blocks,
    resnet18_backbone,
    resnet18_model,
    source_backbone,
)

IMAGENET_CATS = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat


def _photo(name: str) -> torch.Tensor:
    skimage_data = pytest.importorskip("skimage.data")
    return torch.from_numpy(getattr(skimage_data, name)()).permute(2, 0, 1)[None].float() / 255


@pytest.fixture(scope="module")
def efficientnet_224():
    """The whole ImageNet EfficientNet-lite0 (offline weights) and its backbone, eval mode."""
    model = efficientnet_lite0_model(pretrained=True, image_size=224).eval()
    return model, efficientnet_backbone(model, 224, pretrained=True).eval()


@pytest.mark.slow
def test_efficientnet_offline_weights_recognise_a_cat_and_an_espresso(efficientnet_224):
    from torchvision.models import ResNet18_Weights

    names = ResNet18_Weights.IMAGENET1K_V1.meta["categories"]  # ImageNet class names, offline
    model, backbone = efficientnet_224
    with torch.no_grad():
        cat = model._fc(backbone(_photo("chelsea")))[0]  # (1000,) logits
        coffee = model._fc(backbone(_photo("coffee")))[0]
    top5 = cat.topk(5).indices.tolist()
    assert set(top5[:2]) <= set(IMAGENET_CATS), [names[i] for i in top5]
    assert names[int(coffee.argmax())] == "espresso"
    assert cat.softmax(0)[IMAGENET_CATS].sum() > 0.5  # confident, not a lucky ranking


@pytest.mark.slow
def test_efficientnet_backbone_is_the_network_without_its_classifier(efficientnet_224):
    model, backbone = efficientnet_224
    x = torch.rand(2, 3, 224, 224)
    with torch.no_grad():
        features = backbone(x)
        reference = model(backbone.prep(x))  # the library's own forward, same normalisation
    assert features.shape == (2, 1280) and backbone.feature_dim == 1280
    assert torch.allclose(model._fc(features), reference, atol=1e-4)
    assert len(backbone.blocks) == 18  # stem, 16 MBConv blocks, head


def test_random_efficientnet_differs_from_the_pretrained_one():
    pretrained = imagenet_backbone("efficientnet_lite0", True, 32)
    torch.manual_seed(0)
    scratch = imagenet_backbone("efficientnet_lite0", False, 32)
    assert pretrained.pretrained and not scratch.pretrained
    for (name, a), (_, b) in zip(pretrained.state_dict().items(), scratch.state_dict().items(),
                                 strict=True):
        if name.startswith("blocks.") and a.numel() > 1 and "running" not in name:
            assert not torch.equal(a, b), name


def test_resnet18_loads_a_local_weights_file(tmp_path):
    from torchvision.models import resnet18

    torch.manual_seed(1)
    saved = resnet18(weights=None).state_dict()
    path = tmp_path / "resnet18.pt"
    torch.save(saved, path)
    model = resnet18_model(pretrained=True, weights_file=str(path))
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, saved[name]), name
    backbone = resnet18_backbone(model, 32, pretrained=True).eval()
    with torch.no_grad():
        features = backbone(torch.rand(2, 1, 28, 28))  # grayscale, resized to 32
    assert features.shape == (2, 512) and backbone.feature_dim == 512


def test_resnet18_weights_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.pt"
    with pytest.raises(DataError, match=r"transfer\.resnet18_weights = .*nope\.pt.* not found"):
        resnet18_model(pretrained=True, weights_file=str(missing))
    wrong = tmp_path / "wrong.pt"
    torch.save({"fc.weight": torch.zeros(3, 3)}, wrong)
    with pytest.raises(DataError, match=r"wrong\.pt.*not a torchvision ResNet-18 state dict"):
        resnet18_model(pretrained=True, weights_file=str(wrong))
    pickled = tmp_path / "pickled.pt"
    torch.save({"weights": object()}, pickled)  # needs pickle: weights_only refuses it
    with pytest.raises(DataError, match=r"pickled\.pt.*unreadable or unsafe"):
        resnet18_model(pretrained=True, weights_file=str(pickled))


def test_imagenet_input_resizes_replicates_and_normalises():
    prep = ImageNetInput(16)
    gray = torch.full((2, 1, 8, 8), 0.5)
    out = prep(gray)
    assert out.shape == (2, 3, 16, 16)
    expected = [(0.5 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD, strict=True)]
    assert torch.allclose(out[0, :, 3, 5], torch.tensor(expected))


@pytest.mark.parametrize("arch,blocks", [("cnn", 3), ("mlp", 2)])
def test_recipe_blocks_group_one_weighted_layer_each_and_keep_the_function(arch, blocks):
    cfg = ModelConfig(arch=arch, channels=(4, 8), hidden=(16, 8), cnn_hidden=12)
    net = build_network(cfg, (1, 8, 8), 5).eval()
    grouped = recipe_blocks(net.body)
    assert len(grouped) == blocks
    for block in grouped:
        assert sum(isinstance(m, nn.Conv2d | nn.Linear) for m in block) == 1
    x = torch.rand(3, 1, 8, 8)
    assert torch.equal(grouped(x), net.body(x))


@pytest.mark.parametrize("trainable,frozen_blocks", [(1, 2), (2, 1), ("all", 0), (9, 0)])
def test_split_keeps_the_bottom_blocks_frozen_and_composes_to_the_backbone(
    trainable, frozen_blocks
):
    cfg = ModelConfig(arch="cnn", channels=(4, 8), cnn_hidden=12)
    backbone = source_backbone(build_network(cfg, (1, 8, 8), 5), nn.Identity(), True).eval()
    frozen, top = backbone.split(trainable)
    assert len(frozen) == 1 + frozen_blocks  # the input adaptor, then the frozen blocks
    assert len(top) == 3 - frozen_blocks
    x = torch.rand(2, 1, 8, 8)
    assert torch.equal(top(frozen(x)), backbone(x))


@pytest.mark.slow
def test_channels_last_backbone_gives_the_library_layouts_features():
    torch.manual_seed(0)
    fast = imagenet_backbone("efficientnet_lite0", True, 32).eval()  # channels-last
    plain = efficientnet_backbone(efficientnet_lite0_model(True, 32), 32, True).eval()
    plain.prep = nn.Identity()
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        prepped = fast.prep(x)
        assert prepped.is_contiguous(memory_format=torch.channels_last)
        assert torch.allclose(fast(x), plain(prepped.contiguous()), atol=1e-4)
