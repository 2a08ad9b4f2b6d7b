# Copyright (c) HilDA authors. All rights reserved.
from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet3d.registry import TRANSFORMS

from ..teacher_cache import (TeacherCacheError, image_fingerprint,
                             info_image_paths, read_meta, read_sample)
from .augmentation import apply_pixel_maps
from .loading import BadSampleError, camera_calibration


@TRANSFORMS.register_module()
class LoadTeacherFeatures(BaseTransform):
    """Read the cached teacher features of a sample
    (``tools/cache_teacher_features.py``), so pre-training skips the
    teacher.

    Two placements:

    - instead of ``LoadCheckedMultiViewImages`` + ``MultiViewImageAug``
      (the fast path): no image is decoded; the camera geometry comes
      from the info's calibration and the cached pixel map, exactly as the
      deterministic image transform of the cache run made it;
    - after them (when a later transform needs the pixels, e.g.
      ``ImageSuperpixels``): the images must have been transformed exactly
      as in the cache run (image augmentation off:
      ``MultiViewImageAug(resize_range=(1, 1), flip_ratio=0,
      crop='center')``), which is checked for every sample.

    Point augmentations after the projection are fine: they do not change
    which pixel a point sees.

    Every file is checked when read: it must hold this sample's token,
    the teacher key of ``meta.json``, maps of the shapes ``meta.json``
    records and only finite values; otherwise
    :class:`~..teacher_cache.TeacherCacheError` names the file. With
    ``verify_images`` the camera files' bytes are hashed too and must give
    the fingerprint stored at caching time (off by default: it reads the
    images the cache exists to avoid; the cache tool always checks it
    before it keeps a file).

    Required Keys:

    - token, images (the info's cameras with calibration)

    Added Keys:

    - teacher_feats (list[np.ndarray]): per level (C, D_l, h_l, w_l)
      float16
    - teacher_cls (np.ndarray): (C, D) float16
    - teacher_cache_key (str), teacher_cache_levels (list[int]: the
      teacher's ``out_indices`` of the cached levels), teacher_input_size
    - without images in the pipeline: cam2img, lidar2cam, lidar2img,
      img_aug_matrix, img_shape(s), cam_names, num_views

    Args:
        cache_dir (str): The cache directory (with ``meta.json``).
        image_size (tuple[int, int], optional): Expected (H, W) after the
            image transform; checked against the cache when given.
        drop_images (bool): Remove ``img`` from the results once checked,
            so the images are not collated and normalised for nothing.
            Defaults to True.
        verify_images (bool): Check the image fingerprint of every sample
            (reads the camera files' bytes). Defaults to False.
        backend_args (dict, optional): File backend of the images, for
            ``verify_images``. Defaults to None.
    """

    def __init__(self,
                 cache_dir: str,
                 image_size: Optional[Sequence[int]] = None,
                 drop_images: bool = True,
                 verify_images: bool = False,
                 backend_args: Optional[dict] = None) -> None:
        self.cache_dir = cache_dir
        self.image_size = tuple(image_size) if image_size else None
        self.drop_images = drop_images
        self.verify_images = verify_images
        self.backend_args = backend_args
        self._meta: Optional[dict] = None

    @property
    def meta(self) -> dict:
        """The cache's ``meta.json`` (read once, checked)."""
        if self._meta is None:
            meta = read_meta(self.cache_dir)
            final_size = tuple(meta['final_size'])
            if self.image_size and final_size != self.image_size:
                raise TeacherCacheError(
                    f'{self.cache_dir}: the cache holds features of '
                    f'{final_size} images, the pipeline expects '
                    f'{self.image_size}; re-run tools/'
                    'cache_teacher_features.py with this image size')
            self._meta = meta
        return self._meta

    def transform(self, results: dict) -> dict:
        meta = self.meta
        final_size = tuple(meta['final_size'])
        fingerprint = image_fingerprint(
            info_image_paths(results),
            self.backend_args) if self.verify_images else None
        entry = read_sample(self.cache_dir, results['token'],
                            len(meta['teacher']['out_channels']),
                            meta['teacher_key'], meta, fingerprint)
        cam_names = [str(c) for c in entry['cam_names']]
        if cam_names != list(results['images']):
            raise BadSampleError(
                f'{self.cache_dir}: sample {results["token"]} was cached '
                f'with cameras {cam_names}, the info lists '
                f'{list(results["images"])}')
        matrices = entry['img_aug_matrix']
        if 'img' in results:
            self._check_same_transform(results, matrices, final_size)
            if self.drop_images:
                del results['img']
        else:
            cam2img, lidar2cam = camera_calibration(results['images'])
            results.update(
                cam2img=cam2img,
                ori_cam2img=cam2img.copy(),
                lidar2cam=lidar2cam,
                cam_names=cam_names,
                num_views=len(cam_names),
                ori_shape=final_size)
            apply_pixel_maps(results, matrices, final_size)
        results['teacher_feats'] = [
            entry[f'feat_{i}']
            for i in range(len(meta['teacher']['out_channels']))
        ]
        results['teacher_cls'] = entry['cls']
        results['teacher_cache_key'] = meta['teacher_key']
        results['teacher_cache_levels'] = list(meta['teacher']['out_indices'])
        results['teacher_input_size'] = tuple(meta['input_size'])
        return results

    def _check_same_transform(self, results: dict, matrices: np.ndarray,
                              final_size: tuple) -> None:
        shapes = {tuple(s) for s in np.asarray(results['img_shapes'])}
        same = (
            shapes == {final_size} and 'img_aug_matrix' in results
            and np.allclose(results['img_aug_matrix'], matrices, atol=1e-6))
        if not same:
            raise TeacherCacheError(
                f'{self.cache_dir}: the images of sample '
                f'{results["token"]} were not transformed as in the cache '
                'run; cached teacher features need image augmentation '
                "off: MultiViewImageAug(resize_range=(1, 1), flip_ratio=0, "
                f"crop='center', final_size={final_size})")

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(cache_dir={self.cache_dir!r}, '
                f'image_size={self.image_size}, '
                f'drop_images={self.drop_images}, '
                f'verify_images={self.verify_images})')
