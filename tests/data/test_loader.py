import pytest
import torch
from synthetic import image_ids, tagged_images  # tests/synthetic.py

from trainlab.data.loader import DeviceLoader
from trainlab.data.split import Split


@pytest.fixture
def split():
    """10 images whose label is their index, so a batch's labels say which images it holds."""
    return Split(tagged_images(10), torch.arange(10))


@pytest.mark.parametrize(
    ("batch_size", "drop_last", "sizes"),
    [
        (4, False, [4, 4, 2]),
        (4, True, [4, 4]),
        (5, True, [5, 5]),
        (16, True, []),
        (16, False, [10]),
    ],
)
def test_batch_counts_and_sizes(split, batch_size, drop_last, sizes):
    loader = DeviceLoader(split, batch_size, "cpu", shuffle=True, drop_last=drop_last)
    assert len(loader) == len(sizes)
    assert [len(y) for _, y in loader] == sizes


def test_shuffled_epoch_covers_every_image_once_and_epochs_differ(split):
    loader = DeviceLoader(split, 3, "cpu", shuffle=True, seed=1)
    orders = []
    for _ in range(3):
        batches = list(loader)
        labels = torch.cat([y for _, y in batches])
        assert sorted(labels.tolist()) == list(range(10))
        # Images travel with their labels.
        images = torch.cat([x for x, _ in batches])
        assert torch.equal(image_ids((images * 255).round().to(torch.uint8)), labels)
        orders.append(labels.tolist())
    assert orders[0] != orders[1] or orders[1] != orders[2]
    assert loader.epoch == 3


def test_same_seed_same_batches_other_seed_other_batches(split):
    def epochs(seed):
        loader = DeviceLoader(split, 4, "cpu", shuffle=True, seed=seed)
        return [torch.cat([y for _, y in loader]).tolist() for _ in range(2)]

    assert epochs(5) == epochs(5)
    assert epochs(5) != epochs(6)


def test_in_order_without_shuffle(split):
    loader = DeviceLoader(split, 4, "cpu", shuffle=False)
    assert [y.tolist() for _, y in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_images_become_float_in_the_unit_range_once(split):
    loader = DeviceLoader(split, 10, "cpu", shuffle=False)
    x, y = next(iter(loader))
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.shape == (10, 1, 4, 4)
    assert torch.equal(x, split.images.float() / 255)
    assert loader.images.device.type == "cpu" and loader.num_samples == 10


def test_iter_starts_an_epoch_before_the_first_batch(split):
    loader = DeviceLoader(split, 4, "cpu", shuffle=True)
    iter(loader)
    assert loader.epoch == 1


def test_batch_size_must_be_positive(split):
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        DeviceLoader(split, 0, "cpu", shuffle=False)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_batches_match_cpu_batches(split):
    cpu = [y.tolist() for _, y in DeviceLoader(split, 3, "cpu", shuffle=True, seed=2)]
    cuda = DeviceLoader(split, 3, "cuda", shuffle=True, seed=2)
    batches = list(cuda)
    assert all(x.device.type == "cuda" and y.device.type == "cuda" for x, y in batches)
    assert [y.tolist() for _, y in batches] == cpu


@pytest.mark.parametrize(("group", "drop_last", "lists"), [
    (2, False, [[3, 3], [3, 1]]),
    (2, True, [[3, 3], [3]]),
    (5, False, [[3, 3, 3, 1]]),
    (1, True, [[3], [3], [3]]),
])
def test_groups_are_lists_of_the_same_batches(split, group, drop_last, lists):
    plain = DeviceLoader(split, 3, "cpu", shuffle=True, drop_last=drop_last, seed=4)
    grouped = DeviceLoader(split, 3, "cpu", shuffle=True, drop_last=drop_last, seed=4,
                           group=group)
    items = list(grouped)
    assert len(grouped) == len(items) == len(lists)
    assert [[len(y) for _, y in item] for item in items] == lists
    flat = [y.tolist() for item in items for _, y in item]
    assert flat == [y.tolist() for _, y in plain]  # same batches, same order, same epoch seed


def test_group_must_be_positive(split):
    with pytest.raises(ValueError, match="group must be None or >= 1"):
        DeviceLoader(split, 2, "cpu", shuffle=False, group=0)


def test_sample_serves_the_images_at_its_indices_without_copying_them(split):
    loader = DeviceLoader(split, batch_size=4, device="cpu", shuffle=True, seed=1, group=2)
    indices = torch.tensor([9, 2, 5, 7, 0, 3])
    sample = loader.sample(indices)
    assert sample.images is loader.images  # shared, not copied
    assert not sample.shuffle and sample.group is None and sample.num_samples == 6
    assert [len(y) for _, y in sample] == [4, 2]
    images = torch.cat([x for x, _ in sample])
    assert image_ids((images * 255).round().to(torch.uint8)).tolist() == indices.tolist()
    assert torch.equal(torch.cat([y for _, y in sample]), split.labels[indices])
    shuffled = loader.sample(indices)
    shuffled.shuffle = True  # a shuffled sample still serves only its own images
    served = torch.cat([y for _, y in shuffled])  # labels are the images' indices here
    assert sorted(served.tolist()) == sorted(indices.tolist())
