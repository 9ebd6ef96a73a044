import json
from dataclasses import replace

import pytest
import torch

from trainlab.data.prepared import (
    PreparedData,
    Split,
    check_params,
    fingerprint,
    load_prepared,
    prepare,
    save_prepared,
)
from trainlab.data.preprocessing import fit_stats
from trainlab.errors import ConfigError, DataError


@pytest.fixture
def digits(digits_config) -> PreparedData:
    return prepare(digits_config)


def test_prepare_digits_splits_and_fits_on_train(digits):
    sizes = {name: len(split) for name, split in digits.splits.items()}
    assert sizes == {"train": 1293, "val": 144, "test": 360}  # 1797: 20 % test, 10 % val
    assert digits.num_classes == 10 and digits.image_shape == (1, 8, 8)
    assert digits.dataset == "digits" and digits.preprocessing == "channel_standardize"
    expected = fit_stats(digits.train.images)
    for name, value in expected.items():
        assert torch.equal(digits.stats[name], value)
    assert digits.fingerprint == fingerprint(digits.splits, digits.classes)
    assert len(digits.fingerprint) == 16 and int(digits.fingerprint, 16) >= 0


def test_prepare_is_seeded(digits_config, digits):
    assert prepare(digits_config).fingerprint == digits.fingerprint
    assert prepare(digits_config.replace(seed=1)).fingerprint != digits.fingerprint


def test_prepare_uses_the_whole_pool_when_the_subset_is_larger(digits_config, digits):
    capped = prepare(digits_config.replace(**{"data.train_subset": 10_000}))
    assert len(capped.train) == 1293 and capped.fingerprint == digits.fingerprint


def test_prepare_rejects_a_subset_smaller_than_the_classes(digits_config):
    with pytest.raises(ConfigError, match="data.train_subset = 5 is too small .* 10 classes"):
        prepare(digits_config.replace(**{"data.train_subset": 5}))


def test_fingerprint_changes_with_pixels_labels_and_classes(digits):
    base = digits.fingerprint
    images = digits.test.images.clone()
    images[0, 0, 0, 0] ^= 1
    labels = digits.val.labels.clone()
    labels[0] = (labels[0] + 1) % 10
    assert (
        fingerprint({**digits.splits, "test": Split(images, digits.test.labels)}, digits.classes)
        != base
    )
    assert (
        fingerprint({**digits.splits, "val": Split(digits.val.images, labels)}, digits.classes)
        != base
    )
    assert fingerprint(digits.splits, ("x", *digits.classes[1:])) != base


def test_save_load_roundtrip(tmp_path, digits):
    path = save_prepared(digits, tmp_path / "prepared")
    assert path == tmp_path / "prepared" / "data.pt"
    loaded = load_prepared(tmp_path / "prepared")
    for name in ("train", "val", "test"):
        assert torch.equal(loaded.splits[name].images, digits.splits[name].images)
        assert torch.equal(loaded.splits[name].labels, digits.splits[name].labels)
    assert loaded.classes == digits.classes and loaded.fingerprint == digits.fingerprint
    assert (loaded.dataset, loaded.preprocessing) == (digits.dataset, digits.preprocessing)
    assert all(torch.equal(loaded.stats[k], v) for k, v in digits.stats.items())
    assert sorted(p.name for p in (tmp_path / "prepared").iterdir()) == ["data.pt", "meta.json"]


def test_meta_json_summarises_the_splits(tmp_path, digits):
    save_prepared(digits, tmp_path)
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["sizes"] == {"train": 1293, "val": 144, "test": 360}
    assert meta["image_shape"] == [1, 8, 8]
    assert meta["fingerprint"] == digits.fingerprint
    assert meta["classes"] == list("0123456789")
    for name, counts in meta["class_counts"].items():
        assert sum(counts.values()) == meta["sizes"][name]
        assert counts["3"] == int((digits.splits[name].labels == 3).sum())


def test_the_prepared_data_checks_the_params_that_decided_it(monkeypatch, tmp_path,
                                                             digits_config, digits):
    monkeypatch.chdir(tmp_path)
    save_prepared(digits, digits_config.data.prepared_dir)
    meta_path = tmp_path / digits_config.data.prepared_dir / "meta.json"
    assert json.loads(meta_path.read_text())["params"]["data.dataset"] == "digits"
    check_params(digits_config)  # the same params: silent
    check_params(digits_config.replace(**{"data.download": False, "train.lr": 0.5}))
    with pytest.raises(ConfigError, match=r"seed = 1 \(prepared: 0\), data\.train_subset = 500 "
                                          r"\(prepared: None\); run `trainlab prepare`"):
        check_params(digits_config.replace(**{"seed": 1, "data.train_subset": 500}))
    # Data prepared before meta.json recorded its params: its dataset still decides.
    meta = json.loads(meta_path.read_text())
    del meta["params"]
    meta_path.write_text(json.dumps(meta))
    check_params(digits_config.replace(seed=1))
    with pytest.raises(ConfigError, match=r"data\.dataset = 'mnist' \(prepared: 'digits'\)"):
        check_params(digits_config.replace(**{"data.dataset": "mnist"}))


def test_missing_prepared_data_says_how_to_make_it(tmp_path):
    with pytest.raises(DataError, match=r"data.pt not found; run `trainlab prepare`.*dvc repro"):
        load_prepared(tmp_path / "nowhere")


def test_truncated_file_is_named(tmp_path, digits):
    path = save_prepared(digits, tmp_path)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DataError, match=rf"{path} is truncated or unreadable .*trainlab prepare"):
        load_prepared(tmp_path)


@pytest.mark.parametrize(
    "content",
    [{"weights": torch.zeros(3)}, [1, 2, 3]],
    ids=["other-dict", "list"],
)
def test_foreign_torch_file_is_rejected(tmp_path, content):
    torch.save(content, tmp_path / "data.pt")
    with pytest.raises(DataError, match=r"data.pt is not a trainlab trainlab.prepared/1 file"):
        load_prepared(tmp_path)


def test_text_file_is_rejected(tmp_path):
    (tmp_path / "data.pt").write_text("version https://git-lfs.github.com/spec/v1\n")
    with pytest.raises(DataError, match=r"data.pt is truncated or unreadable"):
        load_prepared(tmp_path)


def test_tampered_data_fails_the_fingerprint(tmp_path, digits):
    labels = digits.train.labels.clone()
    labels[:5] = (labels[:5] + 1) % 10
    tampered = replace(digits, train=Split(digits.train.images, labels))
    save_prepared(tampered, tmp_path)  # still carries the old fingerprint
    with pytest.raises(DataError, match="does not match its fingerprint"):
        load_prepared(tmp_path)


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path, digits, monkeypatch):
    save_prepared(digits, tmp_path)
    before = (tmp_path / "data.pt").read_bytes()

    def broken_save(obj, stream):
        stream.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_prepared(digits, tmp_path)
    assert (tmp_path / "data.pt").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.pt", "meta.json"]


@pytest.mark.slow  # the CLI imports every command (lightning, mlflow): ~3 s
def test_trainlab_prepare_writes_the_prepared_folder(tmp_path, monkeypatch, capsys):
    from trainlab.cli import main

    monkeypatch.chdir(tmp_path)
    params = "seed: 2\ndata: {dataset: digits, train_subset: 500, prepared_dir: out/prep}\n"
    (tmp_path / "params.yaml").write_text(params)
    assert main(["prepare"]) == 0
    data = load_prepared(tmp_path / "out" / "prep")
    assert len(data.train) == 500 and data.dataset == "digits"
    assert f"fingerprint {data.fingerprint} -> out/prep" in capsys.readouterr().out


@pytest.mark.slow  # the CLI imports every command (lightning, mlflow): ~3 s
def test_trainlab_prepare_reports_a_config_error(tmp_path, monkeypatch, capsys):
    from trainlab.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("data: {dataset: digits, train_subset: -5}\n")
    assert main(["prepare"]) == 2
    assert "data.train_subset = -5 is not allowed: must be greater than 0" in (
        capsys.readouterr().err
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["params.yaml"]  # no work done


def test_written_files_follow_the_umask(tmp_path, digits):
    import os
    import stat

    old = os.umask(0o022)
    try:
        save_prepared(digits, tmp_path)
    finally:
        os.umask(old)
    for name in ("data.pt", "meta.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644
