# Copyright (c) HilDA authors. All rights reserved.
"""Augmentations that keep point-pixel correspondences exact."""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet3d.registry import TRANSFORMS

from .projection import transform_xyz

POINT_KEYS = ('points', 'points_prev', 'points_next')
# Image dtypes cv2 (flip, split) handles as they are.
CV2_DTYPES = tuple(
    np.dtype(t)
    for t in (np.uint8, np.uint16, np.int16, np.float32, np.float64))


@TRANSFORMS.register_module()
class MultiViewImageAug(BaseTransform):
    """Random resize, crop and horizontal flip of every camera image, with
    ``cam2img`` and ``lidar2img`` updated to match.

    Every operation is an affine map of pixel coordinates
    (``u' = a u + b``, ``v' = c v + d``), so it is folded into the
    intrinsics: ``cam2img' = A @ cam2img``. Projections made afterwards hit
    the same content in the augmented image. Each camera draws its own
    parameters.

    Required Keys:

    - img (list[np.ndarray]), cam2img (C, 4, 4), lidar2cam (C, 4, 4)

    Modified Keys:

    - img, cam2img, lidar2img, img_shape, img_shapes, pad_shape

    Added Keys:

    - img_aug_matrix (np.ndarray): (C, 3, 3) the pixel maps applied

    Args:
        final_size (tuple[int, int]): Output (H, W) of every image.
        resize_range (tuple[float, float]): Scale range relative to the
            base scale: the smallest that makes the image cover
            ``final_size`` with its aspect ratio kept (``keep_ratio``), or
            the one that makes its width ``final_size`` W (stretching).
        flip_ratio (float): Probability of a horizontal flip.
        interpolation (str): cv2 interpolation. Defaults to 'bilinear'.
        crop (str): Where the ``final_size`` window is cut from the resized
            image: ``'random'`` or ``'center'``. With
            ``resize_range=(1, 1)``, ``flip_ratio=0`` and ``'center'`` the
            transform is deterministic (no image augmentation), which a
            teacher-feature cache requires (:class:`LoadTeacherFeatures`).
            Defaults to 'random'.
        keep_ratio (bool): Resize both axes by one factor, large enough
            that the image covers ``final_size``, then crop; the image is
            never stretched. False keeps the older behaviour (the project's
            option): scale to the width and, when the resized height falls
            short of ``final_size`` H, stretch the height up to it.
            Defaults to True.
    """

    _INTERP = dict(bilinear=cv2.INTER_LINEAR, nearest=cv2.INTER_NEAREST)

    def __init__(self,
                 final_size: Tuple[int, int],
                 resize_range: Tuple[float, float] = (1.0, 1.0),
                 flip_ratio: float = 0.0,
                 interpolation: str = 'bilinear',
                 crop: str = 'random',
                 keep_ratio: bool = True) -> None:
        if crop not in ('random', 'center'):
            raise ValueError(
                f"MultiViewImageAug: crop must be 'random' or 'center', got "
                f'{crop!r}')
        self.final_size = tuple(final_size)
        self.resize_range = tuple(resize_range)
        self.flip_ratio = flip_ratio
        self.interpolation = self._INTERP[interpolation]
        self.crop = crop
        self.keep_ratio = keep_ratio

    @property
    def deterministic(self) -> bool:
        """Whether every sample is transformed the same way (no
        augmentation)."""
        return (self.resize_range[0] == self.resize_range[1] == 1.0
                and self.flip_ratio == 0 and self.crop == 'center')

    def _augment(self, img: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        out_h, out_w = self.final_size
        h, w = img.shape[:2]
        base = max(out_w / w, out_h / h) if self.keep_ratio else out_w / w
        scale = base * np.random.uniform(*self.resize_range)
        # Rounding may leave a side one pixel short of the window: grow it.
        # The pixel maps below use the exact per-axis factors, so cam2img
        # stays exact either way.
        new_w = max(int(round(w * scale)), out_w)
        new_h = max(int(round(h * scale)), out_h)
        sx, sy = new_w / w, new_h / h
        img = cv2.resize(img, (new_w, new_h), interpolation=self.interpolation)
        if self.crop == 'center':
            x0, y0 = (new_w - out_w) // 2, (new_h - out_h) // 2
        else:
            x0 = np.random.randint(0, new_w - out_w + 1)
            y0 = np.random.randint(0, new_h - out_h + 1)
        img = img[y0:y0 + out_h, x0:x0 + out_w]
        matrix = np.array([[sx, 0, -x0], [0, sy, -y0], [0, 0, 1]], float)
        if np.random.rand() < self.flip_ratio:
            # cv2.flip copies the window mirrored in one pass (numpy's copy
            # of a reversed view goes pixel by pixel, many times slower).
            img = _flip_copy(img)
            matrix = np.array([[-1, 0, out_w], [0, 1, 0], [0, 0, 1]]) @ matrix
        return np.ascontiguousarray(img), matrix

    def transform(self, results: dict) -> dict:
        imgs, matrices = zip(*(self._augment(img) for img in results['img']))
        apply_pixel_maps(results, np.stack(matrices), self.final_size)
        results['img'] = list(imgs)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(final_size={self.final_size}, '
                f'resize_range={self.resize_range}, '
                f'flip_ratio={self.flip_ratio}, crop={self.crop!r}, '
                f'keep_ratio={self.keep_ratio})')


def _flip_copy(img: np.ndarray) -> np.ndarray:
    """``img[:, ::-1]`` as a new C-contiguous array."""
    if (img.ndim == 3 and img.shape[2] in (3, 4) and img.dtype in CV2_DTYPES):
        return cv2.flip(img, 1)
    return np.ascontiguousarray(img[:, ::-1])  # shapes cv2 would change


def apply_pixel_maps(results: dict, matrices: np.ndarray,
                     final_size: Tuple[int, int]) -> None:
    """Record per-camera pixel maps ``(u, v, 1) -> A (u, v, 1)`` in
    ``results``: ``cam2img``/``lidar2img`` updated, ``img_aug_matrix``
    (C, 3, 3) and the image shapes set to ``final_size``."""
    pixel_maps = np.tile(np.eye(4), (len(matrices), 1, 1))
    pixel_maps[:, :2, :2] = matrices[:, :2, :2]
    pixel_maps[:, :2, 2] = matrices[:, :2, 2]
    # Pixel maps act on (u, v) = (x/z, y/z): fold them into K's rows.
    results['cam2img'] = pixel_maps @ results['cam2img']
    results['lidar2img'] = results['cam2img'] @ results['lidar2cam']
    results['img_aug_matrix'] = matrices
    results['img_shape'] = tuple(final_size)
    results['pad_shape'] = tuple(final_size)
    results['img_shapes'] = np.tile(final_size, (len(matrices), 1))


@TRANSFORMS.register_module()
class ConsistentPointAug(BaseTransform):
    """One random flip, rotation, scaling and translation for all scans.

    The t-1, t0 and t+1 scans of a sample share one frame (t0's), so they
    must move together, or the temporal objective would learn the
    augmentation. The transform is recorded as ``lidar_aug_matrix``
    (``p_aug = M @ p``): a point's pixel is ``lidar2img @ inv(M) @ p_aug``.
    Point order is kept, so correspondence indices stay valid. Boxes are
    not handled (pre-training has none); use mmdet3d's transforms for
    supervised pipelines.

    Required Keys:

    - points (:obj:`BasePoints`); optional points_prev, points_next

    Modified Keys:

    - points, points_prev, points_next

    Added Keys:

    - lidar_aug_matrix (np.ndarray): (4, 4)
    - pcd_rotation_angle, pcd_scale_factor, pcd_trans,
      pcd_horizontal_flip, pcd_vertical_flip

    Args:
        rot_range (Sequence[float]): Yaw range in radians.
        scale_ratio_range (Sequence[float]): Scale range.
        translation_std (Sequence[float]): Std of the translation (m).
        flip_ratio_bev_horizontal (float): Probability of y -> -y.
        flip_ratio_bev_vertical (float): Probability of x -> -x.
        keys (Sequence[str]): Point keys to transform when present.
    """

    def __init__(self,
                 rot_range: Sequence[float] = (-np.pi, np.pi),
                 scale_ratio_range: Sequence[float] = (0.95, 1.05),
                 translation_std: Sequence[float] = (0.0, 0.0, 0.0),
                 flip_ratio_bev_horizontal: float = 0.5,
                 flip_ratio_bev_vertical: float = 0.5,
                 keys: Sequence[str] = POINT_KEYS) -> None:
        self.rot_range = tuple(rot_range)
        self.scale_ratio_range = tuple(scale_ratio_range)
        self.translation_std = np.asarray(translation_std, dtype=np.float64)
        self.flip_ratio_bev_horizontal = flip_ratio_bev_horizontal
        self.flip_ratio_bev_vertical = flip_ratio_bev_vertical
        self.keys = tuple(keys)

    def sample_matrix(self, results: Optional[dict] = None) -> np.ndarray:
        """Draw the augmentation; returns the 4x4 ``p_aug = M @ p``."""
        flip_h = np.random.rand() < self.flip_ratio_bev_horizontal
        flip_v = np.random.rand() < self.flip_ratio_bev_vertical
        angle = np.random.uniform(*self.rot_range)
        scale = np.random.uniform(*self.scale_ratio_range)
        trans = np.random.normal(scale=self.translation_std, size=3)
        flip = np.diag([-1.0 if flip_v else 1.0, -1.0 if flip_h else 1.0, 1])
        cos, sin = np.cos(angle), np.sin(angle)
        rot = np.array([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]])
        matrix = np.eye(4)
        matrix[:3, :3] = scale * rot @ flip
        matrix[:3, 3] = trans
        if results is not None:
            results.update(
                pcd_rotation_angle=angle,
                pcd_scale_factor=scale,
                pcd_trans=trans,
                pcd_horizontal_flip=flip_h,
                pcd_vertical_flip=flip_v)
        return matrix

    def transform(self, results: dict) -> dict:
        matrix = self.sample_matrix(results)
        for key in self.keys:
            if key in results:
                # In place through the tensor's numpy view (shared memory).
                xyz = results[key].tensor.numpy()
                transform_xyz(xyz, matrix, out=xyz)
        previous = results.get('lidar_aug_matrix', np.eye(4))
        results['lidar_aug_matrix'] = matrix @ previous
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(rot_range={self.rot_range}, '
                f'scale_ratio_range={self.scale_ratio_range}, '
                f'translation_std={self.translation_std.tolist()}, '
                f'flip_ratio_bev_horizontal='
                f'{self.flip_ratio_bev_horizontal}, '
                f'flip_ratio_bev_vertical={self.flip_ratio_bev_vertical})')
