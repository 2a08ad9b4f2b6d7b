# Copyright (c) HilDA authors. All rights reserved.
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet3d.registry import TRANSFORMS
from mmengine.logging import print_log

try:
    from fast_slic import Slic as FastSlic
except ImportError:
    FastSlic = None


@TRANSFORMS.register_module()
class ImageSuperpixels(BaseTransform):
    """SLIC superpixels of every (augmented) camera image, for the
    SLIDR-style superpixel-pooled InfoNCE loss.

    Uses fast-slic when it is installed and scikit-image's SLIC otherwise
    (slower; "Installation" in docs/get_started.md says by how much); the
    choice is logged once.
    Computed on the fly after the image augmentations, so no pre-computed
    superpixel files are needed.

    Required Keys:

    - img (list[np.ndarray]): (H, W, 3) images

    Added Keys:

    - superpixels (np.ndarray): (C, H, W) int32 labels, unique per image

    Args:
        num_segments (int): Target superpixels per image. Defaults to 150.
        compactness (float): SLIC compactness. Defaults to 10.
        backend (str): 'auto', 'fast_slic' or 'skimage'.
    """

    def __init__(self,
                 num_segments: int = 150,
                 compactness: float = 10.0,
                 backend: str = 'auto') -> None:
        if backend == 'auto':
            backend = 'fast_slic' if FastSlic is not None else 'skimage'
        if backend == 'fast_slic' and FastSlic is None:
            raise ImportError('ImageSuperpixels(backend="fast_slic") needs '
                              '`pip install fast-slic --no-build-isolation`')
        if backend not in ('fast_slic', 'skimage'):
            raise ValueError(f'unknown superpixel backend {backend}')
        self.num_segments = num_segments
        self.compactness = compactness
        self.backend = backend
        print_log(f'ImageSuperpixels uses {backend}', logger='current')

    def _segment(self, img: np.ndarray) -> np.ndarray:
        img = np.ascontiguousarray(np.clip(img, 0, 255).astype(np.uint8))
        if self.backend == 'fast_slic':
            slic = FastSlic(
                num_components=self.num_segments, compactness=self.compactness)
            return slic.iterate(img).astype(np.int32)
        from skimage.segmentation import slic
        return slic(
            img,
            n_segments=self.num_segments,
            compactness=self.compactness,
            start_label=0).astype(np.int32)

    def transform(self, results: dict) -> dict:
        results['superpixels'] = np.stack(
            [self._segment(img) for img in results['img']])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_segments='
                f'{self.num_segments}, backend={self.backend})')
