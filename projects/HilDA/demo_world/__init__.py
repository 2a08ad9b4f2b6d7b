# Copyright (c) HilDA authors. All rights reserved.
"""The embedded demo world: a small multi-modal driving data set.

Nothing can be downloaded where HilDA is tested, so the project generates
its own driving data, in exactly the files and info format (mmdet3d v1.1)
of real nuScenes: the same dataset class and configs read both. This
package is a tool, not part of the registered runtime (``hilda/`` never
imports it); ``tools/create_demo_data.py`` and the tests use it.

The world (``world.py``, ``materials.py``)
    Each scene is a street in its own map frame (ground plane z = 0): a
    main road with one or two lanes per direction, a raised median
    (flat.other) in some scenes, parking strips; in about half of the
    scenes a side road crosses it, in about a third it bends in a curve of
    60-250 m radius; in some a parking lot lies beside it. Sidewalks,
    terrain, buildings, hedges, street trees and poles line
    the roads at a per-scene vegetation density. Traffic at a per-scene
    density: parked cars and trucks, cars, trucks, buses and motorcycles
    driving at their own speeds (cruising, pulling away, braking to a
    stop, waiting), vehicles and cyclists turning at the intersection,
    cyclists (with riders, as nuScenes boxes them), pedestrians walking,
    standing and crossing, road works with barriers and traffic cones.
    Objects are sets of oriented boxes following tracks sampled at the
    keyframes (0.5 s apart like nuScenes' 2 Hz samples); they are
    collision-checked over the whole scene. The ego cruises, accelerates,
    brakes to a stop, turns right at the intersection or follows the
    curve. A random rigid transform places each map in the global frame.

Appearance (``materials.py``, ``appearance.py``)
    Every object draws its own colours (car paint with real-world shares,
    facades, foliage, clothing, skin) and every scene its road, sidewalk,
    terrain and median materials, sun direction and strength (a quarter
    overcast) and sky. Families overlap on purpose (green and beige cars,
    grey cars on grey asphalt), so colour does not give the class away.
    Textures stick to surfaces; lighting is ambient plus Lambertian sun
    with cast shadows on the ground and on other objects.

Sensors
    ``lidar.py``: a 32-beam LiDAR (-30.67 to +10.67 degrees, 1084 azimuth
    steps, 70 m), 1.84 m above the ground with nuScenes' ``lidar2ego``
    (rotated -90 degrees about z), by ray casting (``raycast.py``) against
    the ground and the boxes; 3 % dropout (more at grazing incidence),
    2 cm range noise, 0.2 % spurious returns labelled noise; intensity from
    class reflectivity, incidence angle and speckle.
    ``cameras.py``: nuScenes' six cameras with their intrinsics scaled to
    the reduced image size (default 400x224; CAM_BACK wider) and their
    mounting (headings 0, -55, 55, 180, 110, -110 degrees, ~1.5 m high,
    OpenCV axes), rendered by casting a ray per pixel through the same
    world, sensor noise, JPEG 90. The rig is synchronous: every camera
    sees the LiDAR's instant.

Ground truth (``ground_truth.py``)
    Per keyframe, rows matching the scan: scene flow t0 -> t+1 in the t0
    LiDAR frame, instance ids and, per camera, whether it really sees the
    point (ray cast).

Statistics (``statistics.py``)
    Points per scan, class shares, moving agents and points, and how
    much of the t+1 occupancy the t0 occupancy explains; printed by
    ``tools/create_demo_data.py``.

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

Semantic labels are raw nuScenes lidarseg ids (``classes.py``): 24
flat.driveable_surface, 25 flat.other, 26 flat.sidewalk, 27 flat.terrain,
28 static.manmade (buildings, poles), 30 static.vegetation, 17 vehicle.car,
23 vehicle.truck, 16 vehicle.bus.rigid, 14 vehicle.bicycle, 21
vehicle.motorcycle, 2 human.pedestrian.adult, 9 movable_object.barrier, 12
movable_object.trafficcone, 0 noise.

Info files are mmdet3d's nuScenes infos v1.1 (``metainfo`` with
``categories``, ``dataset``, ``version``, ``info_version='1.1'``; per
sample ``sample_idx``, ``token``, ``timestamp`` (s), ``ego2global``,
``lidar_points`` (``num_pts_feats=5``, ``lidar_path``, ``lidar2ego``),
``images[CAM_*]`` (``img_path``, ``width``, ``height``, ``cam2img``,
``cam2ego``, ``sample_data_token``, ``timestamp``, ``lidar2cam``),
``instances`` (mmdet3d's nuScenes detection labels; LiDAR-frame ``bbox_3d =
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
from .classes import DETECTION_CLASSES, LIDARSEG_NAMES, PALETTE
from .ground_truth import GT_DIR
from .lidar import LIDAR2EGO, scan
from .statistics import DemoStatistics, info_box_statistics
from .world import Scene, generate_scene
from .writer import LIDARSEG_DIR, VERSION, create_demo_dataset

__all__ = [
    'create_demo_dataset', 'PALETTE', 'DemoStatistics', 'LIDARSEG_NAMES',
    'DETECTION_CLASSES', 'CAMERA_NAMES', 'LIDAR2EGO', 'LIDARSEG_DIR',
    'VERSION', 'Scene', 'camera_rig', 'generate_scene', 'scan', 'GT_DIR',
    'info_box_statistics'
]
