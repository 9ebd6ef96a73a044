"""Your own network in the recipe grid: ``model.arch: package.module:function`` or
``model.arch: path/to/file.py:function`` (a path relative to the project root, the folder
trainlab runs in).

The function is a *factory*::

    def build(cfg: ModelConfig, image_shape: tuple[int, int, int], num_classes: int) -> nn.Module

It returns a fresh network mapping float images (B, C, H, W) = (B, *image_shape), already
normalised by the recipe's preprocessing, to logits (B, num_classes). What it may use, so
that every axis of the grid applies to it:

- :func:`make_activation` ``(cfg)``: one fresh module per hidden activation. The grid's
  activation axis sets ``cfg.activation``; a network without one compares identical networks
  across that axis and is refused.
- :func:`width_factor` ``(cfg)``: how many outputs the layer before an activation needs per
  unit (Maxout's pieces, else 1): ``nn.Conv2d(c_in, c * width_factor(cfg), 3)`` then
  ``make_activation(cfg)`` gives ``c`` channels.
- ``cfg.dropout``: the dropout rate of the grid's regularization preset (``nn.Dropout``).
- :func:`init_hidden` ``(layer, cfg)``: optional, He initialisation for the ReLU family as
  the built-in networks use it.
- ``cfg.hidden``, ``cfg.channels``, ``cfg.cnn_hidden``: widths it may read (or ignore).
- :class:`RecipeNet` ``(body, head)``: return one (``body`` an ``nn.Sequential`` to features
  (B, F), ``head`` an ``nn.Linear(F, num_classes)``) to give transfer's ``source`` backbone its
  body/head split; any other ``nn.Module`` is left out of that experiment, with a line saying so.
- anything of torch. Penalties, augmentation, early stopping, diagnostics, checkpoints,
  ensembles and registered models need nothing more.

DVC: set ``model.arch_file`` to the factory's file (or a folder holding it); the stages that
build networks list ``${model.arch_file}`` as a dependency, so editing the network reruns
them. The search's recipe hash includes the file's digest (:func:`code_digest`).

This module is the one place that resolves, imports and checks factories.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import torch
from torch import nn

from trainlab.config.schema import BUILTIN_ARCHS, ModelConfig
from trainlab.errors import ConfigError
from trainlab.models.activations import make_activation, width_factor
from trainlab.models.networks import RecipeNet, hidden_activations, init_hidden

__all__ = ["ModelConfig", "RecipeNet", "init_hidden", "make_activation", "width_factor"]

Factory = Callable[[ModelConfig, tuple[int, int, int], int], nn.Module]
CHECK_BATCH = 2  # images in the one batch a factory's network is checked on


def is_custom(arch: str) -> bool:
    """Whether ``model.arch`` names a factory rather than a built-in network."""
    return arch not in BUILTIN_ARCHS


def load_factory(arch: str) -> Factory:
    """The factory ``model.arch`` names, imported (once per process).

    Raises:
        ConfigError: the file or module does not import, or has no such function.
    """
    target, _, name = arch.rpartition(":")
    module = _import(arch, target)
    factory = getattr(module, name, None)
    if not callable(factory):
        found = sorted(k for k, v in vars(module).items()
                       if callable(v) and not k.startswith("_") and not isinstance(v, type))
        raise ConfigError(
            f"model.arch = {arch!r}: {target} has no function {name!r} (its functions: "
            f"{', '.join(found) or 'none'}); define def {name}(cfg, image_shape, num_classes) "
            "there or name one of those"
        )
    return factory


def _import(arch: str, target: str) -> ModuleType:
    if not target.endswith(".py"):
        try:
            return importlib.import_module(target)
        except Exception as err:  # whatever the user's module raises on import
            raise ConfigError(
                f"model.arch = {arch!r}: module {target!r} does not import ({_reason(err)}); "
                "make it importable (install your package, or add its folder to PYTHONPATH) "
                "or name the file as path/to/file.py:function"
            ) from None
    path = Path(target).resolve()
    if not path.is_file():
        raise ConfigError(
            f"model.arch = {arch!r}: file {target!r} not found in {Path.cwd()}; the path is "
            "relative to the project root (where trainlab runs)"
        )
    # One module name per file, so importing it twice (every trial, every checkpoint) is one.
    name = f"trainlab_factory_{path.stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"
    if name in sys.modules:
        return sys.modules[name]
    module = ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module  # before running it: dataclasses and pickling look it up
    try:
        # Compiled here rather than by an import loader: no __pycache__ appears next to the
        # file (a folder named by model.arch_file would change its DVC hash on every run).
        exec(compile(path.read_bytes(), str(path), "exec"), module.__dict__)
    except Exception as err:  # whatever the user's file raises on import
        del sys.modules[name]
        raise ConfigError(
            f"model.arch = {arch!r}: module {target!r} does not import ({_reason(err)}); "
            f"fix it (`python {target}` shows the traceback)"
        ) from None
    return module


def _reason(err: BaseException) -> str:
    return f"{type(err).__name__}: {' '.join(str(err).split())}"


def build_custom(cfg: ModelConfig, image_shape: tuple[int, int, int],
                 num_classes: int) -> nn.Module:
    """The network the factory of ``cfg.arch`` builds (checked by :func:`check_network`)."""
    return load_factory(cfg.arch)(cfg, image_shape, num_classes)


def code_file(arch: str) -> Path | None:
    """The file that defines the factory (None for a built-in network)."""
    if not is_custom(arch):
        return None
    target = arch.rpartition(":")[0]
    module = _import(arch, target)
    return Path(module.__file__).resolve() if module.__file__ else None


def code_digest(arch: str) -> str | None:
    """sha256 of the factory's file: what the network is (None for a built-in network).

    Only that file: a factory spread over several files changes the digest only when this
    one changes (DVC's ``model.arch_file`` may still name their whole folder).
    """
    path = code_file(arch)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path else None


def check_network(cfg: ModelConfig, image_shape: Sequence[int], num_classes: int,
                  grid_activations: Sequence[str] = ()) -> None:
    """Stop before any training when the factory of ``cfg.arch`` cannot serve the grid.

    Builds the network once per activation (``cfg.activation`` and ``grid_activations``,
    the search's axis) and runs one batch through it; random numbers are drawn from a fork
    of torch's generator, so seeded trainings are unchanged. A built-in network passes.

    Raises:
        ConfigError: the factory does not import, is missing, raises, returns no nn.Module,
            gives logits of another shape than (B, num_classes), has no trainlab activation
            while the grid varies it, or lies outside ``model.arch_file``.
    """
    if not is_custom(cfg.arch):
        return
    _check_arch_file(cfg)
    factory = load_factory(cfg.arch)
    shape = (int(image_shape[0]), int(image_shape[1]), int(image_shape[2]))
    activations = list(dict.fromkeys([cfg.activation, *grid_activations]))
    with torch.random.fork_rng(devices=[]):
        for activation in activations:
            net = _built(factory, cfg.model_copy(update={"activation": activation}), shape,
                         num_classes)
            _check_output(cfg.arch, net, shape, num_classes, activation)
            if len(activations) > 1 and not hidden_activations(net):
                raise ConfigError(
                    f"model.arch = {cfg.arch!r} builds no trainlab activation while "
                    f"grid.activation varies ({', '.join(activations)}): the activation axis "
                    "would compare identical networks; build each hidden activation with "
                    "trainlab.models.custom.make_activation(cfg), or set grid.activation to one"
                )


def _built(factory: Factory, cfg: ModelConfig, shape: tuple[int, int, int],
           num_classes: int) -> nn.Module:
    try:
        net = factory(cfg, shape, num_classes)
    except Exception as err:  # whatever the user's factory raises
        raise ConfigError(
            f"model.arch = {cfg.arch!r}: the factory raised {_reason(err)} for "
            f"activation={cfg.activation!r}, image_shape={shape}, num_classes={num_classes}"
        ) from None
    if not isinstance(net, nn.Module):
        raise ConfigError(
            f"model.arch = {cfg.arch!r}: the factory returned {type(net).__name__}, not a "
            "torch nn.Module; return the network (an nn.Module mapping images to logits)"
        )
    return net


def _check_output(arch: str, net: nn.Module, shape: tuple[int, int, int], num_classes: int,
                  activation: str) -> None:
    batch = (CHECK_BATCH, *shape)
    try:
        with torch.no_grad():
            out = net.eval()(torch.rand(batch))
    except Exception as err:  # whatever the user's network raises
        raise ConfigError(
            f"model.arch = {arch!r}: the network failed on one batch of shape {batch} with "
            f"activation={activation!r} ({_reason(err)}); it must map (B, C, H, W) images to "
            f"logits (B, {num_classes})"
        ) from None
    found = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
    if found != (CHECK_BATCH, num_classes):
        raise ConfigError(
            f"model.arch = {arch!r}: the network's output on one batch of shape {batch} is "
            f"{found}; it must be (B, classes) = ({CHECK_BATCH}, {num_classes}) logits"
        )


def _check_arch_file(cfg: ModelConfig) -> None:
    """The factory's file lies under ``model.arch_file``, so DVC reruns when it changes."""
    path = code_file(cfg.arch)
    root = Path.cwd().resolve()
    if path is None or not path.is_relative_to(root):
        return  # an installed package: outside the project, DVC cannot track it
    watched = Path(cfg.arch_file).resolve()
    if path != watched and not path.is_relative_to(watched):
        raise ConfigError(
            f"model.arch = {cfg.arch!r} is defined in {path.relative_to(root)} but "
            f"model.arch_file = {cfg.arch_file!r}: the stages list model.arch_file as a DVC "
            f"dependency, so edits to the network would not rerun them; set "
            f"model.arch_file={path.relative_to(root)}"
        )
