# Copyright (c) HilDA authors. All rights reserved.
"""The embedded demo world: a small multi-modal driving data set.

Nothing can be downloaded where HilDA is tested, so the project generates
its own driving data, in exactly the files and info format (mmdet3d v1.1)
of real nuScenes: the same dataset class and configs read both.

The world (``world.py``)
    Each scene is a street in its own map frame (ground plane z = 0): a
    straight main road (two 3.5 m lanes plus parking strips) and, in half
    of the scenes, a side road crossing it; sidewalks along the roads and
    terrain beyond them. Buildings stand behind the sidewalks, with hedges
    in their front yards; street trees (trunk + crown) and poles line the
    sidewalks; cars are parked along the curbs and drive in both lanes
    and on the side road; pedestrians stand, walk along the sidewalks or
    cross the road. Everything is an oriented box or a few of them (a car
    is body, glass cabin and two wheel slabs; a pedestrian legs, torso and
    head). Moving objects keep a constant velocity; keyframes are 0.5 s
    apart like nuScenes' 2 Hz samples. The ego drives along the right lane
    at 3-9 m/s with a gentle weave; a random rigid transform places each
    map in the global frame. Objects are collision-checked over the whole
    scene, so nothing drives through anything else.

Sensors
    ``lidar.py``: a 32-beam LiDAR (-30.67 to +10.67 degrees, 1084 azimuth
    steps, 70 m), 1.84 m above the ground with nuScenes' ``lidar2ego``
    (rotated -90 degrees about z), by ray casting (``raycast.py``) against
    the ground and the boxes; 3 % dropout (more at grazing incidence),
    2 cm range noise, 0.2 % spurious returns labelled noise; intensity from
    class reflectivity, incidence angle and speckle. About 30k points per
    scan (26k-32k: rays into the sky return nothing).
    ``cameras.py``: nuScenes' six cameras with their intrinsics scaled to
    the reduced image size (default 400x224; CAM_BACK wider) and their
    mounting (headings 0, -55, 55, 180, 110, -110 degrees, ~1.5 m high,
    OpenCV axes), rendered by casting a ray per pixel through the same
    world: class colour (``classes.PALETTE``) x texture x Lambertian
    shading (``appearance.py``), a sky gradient, sensor noise, JPEG 90.
    The rig is synchronous: every camera sees the LiDAR's instant.

Files (``writer.py``), under the data root::

    samples/LIDAR_TOP/<log>__LIDAR_TOP__<us>.pcd.bin   float32 x, y, z,
                                                       intensity, ring
    samples/CAM_*/<log>__CAM_*__<us>.jpg
    lidarseg/v1.0-demo/<lidar_token>_lidarseg.bin      uint8 lidarseg ids
    demo_gt/<lidar_token>.npz                          per-point ground
                                                       truth (flow,
                                                       instances, camera
                                                       visibility; see
                                                       ground_truth.py)
    nuscenes_infos_train.pkl, nuscenes_infos_val.pkl   (last scenes: val)

Semantic labels are raw nuScenes lidarseg ids: 24 flat.driveable_surface,
26 flat.sidewalk, 27 flat.terrain, 28 static.manmade (buildings, poles),
30 static.vegetation, 17 vehicle.car, 2 human.pedestrian.adult, 0 noise.

Info files are mmdet3d's nuScenes infos v1.1 (``metainfo`` with
``categories``, ``dataset``, ``version``, ``info_version='1.1'``; per
sample ``sample_idx``, ``token``, ``timestamp`` (s), ``ego2global``,
``lidar_points`` (``num_pts_feats=5``, ``lidar_path``, ``lidar2ego``),
``images[CAM_*]`` (``img_path``, ``width``, ``height``, ``cam2img``,
``cam2ego``, ``sample_data_token``, ``timestamp``, ``lidar2cam``),
``instances`` (cars label 0, pedestrians label 7; LiDAR-frame ``bbox_3d =
[x, y, z_bottom, l, w, h, yaw]``, ``velocity``, ``num_lidar_pts``,
``bbox_3d_isvalid``) and ``cam_instances``) plus HilDA's additions
``pts_semantic_mask_path``, ``demo_gt_path`` (relative to the data root),
``scene_token``, ``prev`` / ``next`` (neighbouring keyframes of the scene,
'' at its ends) and ``metainfo['hilda_temporal_links'] = True``. Paths are
bare file names: configs set mmdet3d's ``data_prefix``
(``pts='samples/LIDAR_TOP'``, ``CAM_FRONT='samples/CAM_FRONT'``, ...,
``pts_semantic_mask='lidarseg/v1.0-demo'``).

Everything is vectorised numpy (loops run over scenes, frames, cameras
and objects only) and deterministic: the same seed gives the same bytes.

Example:
    >>> from projects.HilDA.demo_world import (
    ...     create_demo_dataset)
    >>> paths = create_demo_dataset('data/hilda_demo', num_scenes=8,
    ...                             num_frames=10, seed=0)
"""
from .cameras import CAMERA_NAMES, camera_rig
from .classes import DETECTION_CLASSES, LIDARSEG_NAMES, PALETTE, SKY_COLOR
from .ground_truth import GT_DIR
from .lidar import LIDAR2EGO, scan
from .world import Scene, generate_scene
from .writer import LIDARSEG_DIR, VERSION, create_demo_dataset

__all__ = [
    'create_demo_dataset', 'PALETTE', 'SKY_COLOR', 'LIDARSEG_NAMES',
    'DETECTION_CLASSES', 'CAMERA_NAMES', 'LIDAR2EGO', 'LIDARSEG_DIR',
    'VERSION', 'Scene', 'camera_rig', 'generate_scene', 'scan', 'GT_DIR'
]
