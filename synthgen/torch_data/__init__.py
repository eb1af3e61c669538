"""Image sets inside PyTorch/MONAI training code: real or synthetic sets, images generated on the
fly from a trained model, and a seeded mix of the two.

Every item is a MONAI-style dict (see `items.ITEM_KEYS`), so `monai.transforms` dictionary
transforms (`RandAffined(keys="image", …)`, …) and any `torch.utils.data.DataLoader` accept it:

    from torch.utils.data import DataLoader
    from monai.transforms import Compose, RandAffined, ScaleIntensityd
    from synthgen.torch_data import GeneratedDataset, ImageSetDataset, mix_datasets

    augment = Compose([ScaleIntensityd(keys="image"), RandAffined(keys="image", prob=0.5, translate_range=(2, 2))])
    real = ImageSetDataset("runs/k64/data", split="train", transform=augment)
    synthetic = GeneratedDataset("runs/k64/model", n=2000, seed=0, transform=augment)
    loader = DataLoader(mix_datasets(real, synthetic, synthetic_fraction=0.5, seed=0), batch_size=32,
                        shuffle=True, num_workers=2)
"""

from synthgen.torch_data.generated import GeneratedDataset
from synthgen.torch_data.imageset_dataset import ImageSetDataset
from synthgen.torch_data.items import ITEM_KEYS
from synthgen.torch_data.mixing import MixedDataset, mix_datasets

__all__ = ["ITEM_KEYS", "GeneratedDataset", "ImageSetDataset", "MixedDataset", "mix_datasets"]
