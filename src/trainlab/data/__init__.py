"""Datasets, splits, preprocessing, on-device batch augmentation and the DataModule.

- `sources`: raw datasets -> uint8 image tensors, from local files or torchvision
  (`idx`: (Fashion-)MNIST's IDX files; `imagefolder`: a folder of class sub-folders)
- `split`: the seeded, stratified train/val/test split
- `preprocessing`: train statistics and the Normalize module that applies them
- `prepared`: the prepare stage's product (`PreparedData`), saved and loaded with a fingerprint
- `loader`: a split kept on the device, served as batches (`DeviceLoader`)
- `augment`, `affine`: on-device batch augmentation
- `datamodule`: the Lightning DataModule over prepared data
- `stage`: `trainlab prepare`: `run_prepare`

Nothing is imported here, so a module loads only what it needs (Lightning costs seconds).
"""
