"""Loading a checkpoint to predict with: channels-last on the CPU, as the trainer scores it."""

import torch

from trainlab.config.params import Config
from trainlab.models.checkpoint import load_module, load_predictor, predict_proba
from trainlab.models.module import RecipeModule


def _checkpoint(tmp_path, arch: str) -> str:
    cfg = Config()
    torch.manual_seed(0)
    module = RecipeModule(model=cfg.model.model_dump(mode="json") | {"arch": arch},
                          regularization={}, augmentation={}, image_shape=(1, 28, 28),
                          num_classes=10, preprocessing="none")
    path = tmp_path / f"{arch}.ckpt"
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)},
               path)
    return str(path)


def test_a_cnn_predicts_channels_last_with_the_trained_probabilities(tmp_path):
    path = _checkpoint(tmp_path, "cnn")
    images = torch.rand(64, 1, 28, 28)
    batches = [(images, torch.zeros(64, dtype=torch.long))]
    predictor, reference = load_predictor(path), load_module(path)
    assert not predictor.training
    # The second convolution (the first's one input channel is both layouts at once).
    second = [name for name, m in predictor.net.named_modules()
              if isinstance(m, torch.nn.Conv2d)][1]
    layout = torch.channels_last
    assert predictor.net.get_submodule(second).weight.is_contiguous(memory_format=layout)
    assert not reference.net.get_submodule(second).weight.is_contiguous(memory_format=layout)
    probs, _ = predict_proba(predictor, batches)
    expected, _ = predict_proba(reference, batches)
    torch.testing.assert_close(probs, expected, rtol=0, atol=1e-5)
    assert torch.equal(probs.argmax(1), expected.argmax(1))


def test_an_mlp_predictor_is_the_loaded_module(tmp_path):
    path = _checkpoint(tmp_path, "mlp")
    images = torch.rand(16, 1, 28, 28)
    with torch.inference_mode():
        assert torch.equal(load_predictor(path)(images), load_module(path)(images))
