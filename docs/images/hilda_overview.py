# Copyright (c) HilDA authors. All rights reserved.
"""Draw the method overview of the README (docs/images/hilda_overview.png).

Run: ``.venv/bin/python docs/images/hilda_overview.py``.
"""
import os.path as osp

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

FROZEN = '#dbe9f6'
STUDENT = '#fde2c8'
HEAD = '#e3f1dd'
LOSS = '#f6d5d5'
DATA = '#eeeeee'


def box(ax, x, y, w, h, text, color, bold=False):
    ax.add_patch(
        FancyBboxPatch((x, y),
                       w,
                       h,
                       boxstyle='round,pad=0.02,rounding_size=0.08',
                       fc=color,
                       ec='#555555',
                       lw=1))
    ax.text(
        x + w / 2,
        y + h / 2,
        text,
        ha='center',
        va='center',
        fontsize=8.5,
        weight='bold' if bold else 'normal')


def arrow(ax, x0, y0, x1, y1, dashed=False):
    ax.annotate(
        '',
        xy=(x1, y1),
        xytext=(x0, y0),
        arrowprops=dict(
            arrowstyle='->',
            color='#333333',
            lw=1,
            linestyle='--' if dashed else '-'))


def main():
    fig, ax = plt.subplots(figsize=(10, 4.6))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 4.6)
    ax.axis('off')

    # Inputs
    box(ax, 0.1, 3.55, 1.6, 0.7, 'six camera\nimages (t0)', DATA)
    box(ax, 0.1, 1.75, 1.6, 0.7, 'LiDAR scans\nt-1 and t0', DATA)
    box(ax, 0.1, 0.15, 1.6, 0.7, 'LiDAR scan t+1\n(target only)', DATA)

    # Teacher and student
    box(ax, 2.2, 3.55, 2.0, 0.7, 'frozen image teacher\n(DINOv2 ViT)', FROZEN,
        True)
    box(ax, 2.2, 1.75, 2.0, 0.7, 'student: sparse-conv\nU-Net (MinkUNet34)',
        STUDENT, True)
    arrow(ax, 1.7, 3.9, 2.2, 3.9)
    arrow(ax, 1.7, 2.1, 2.2, 2.1)

    # Teacher outputs
    box(ax, 4.7, 3.85, 2.1, 0.55, 'maps of its last 2 blocks', FROZEN)
    box(ax, 4.7, 3.15, 2.1, 0.55, 'CLS tokens, max over cameras', FROZEN)
    arrow(ax, 4.2, 4.0, 4.7, 4.1)
    arrow(ax, 4.2, 3.75, 4.7, 3.45)

    # Student outputs
    box(ax, 4.7, 2.3, 2.1, 0.55, 'last 2 decoder stages\n-> heads H_l', HEAD)
    box(ax, 4.7, 1.6, 2.1, 0.55, 'H_CLS, max over points', HEAD)
    box(ax, 4.7, 0.9, 2.1, 0.55, 'BEV features t-1, t0', HEAD)
    arrow(ax, 4.2, 2.25, 4.7, 2.55)
    arrow(ax, 4.2, 2.05, 4.7, 1.9)
    arrow(ax, 4.2, 1.9, 4.7, 1.2)

    # Losses
    box(
        ax, 7.4, 3.0, 2.4, 0.95,
        'L_distill: cosine, level by level,\nat the point-pixel pairs\n'
        '(calibrated projection)', LOSS, True)
    box(ax, 7.4, 1.75, 2.4, 0.75, 'L_CLS: MSE between\nthe global tokens',
        LOSS, True)
    box(
        ax, 7.4, 0.15, 2.4, 1.15,
        'L_diffusion: a BEV UNet,\nconditioned on t-1 and t0,\ndenoises the '
        't+1 occupancy\n(ground removed)', LOSS, True)
    arrow(ax, 6.8, 4.1, 7.4, 3.6)
    arrow(ax, 6.8, 2.55, 7.4, 3.3)
    arrow(ax, 6.8, 3.4, 7.4, 2.3)
    arrow(ax, 6.8, 1.9, 7.4, 2.0)
    arrow(ax, 6.8, 1.15, 7.4, 0.9)
    arrow(ax, 1.7, 0.5, 7.4, 0.5, dashed=True)

    ax.text(
        0.1,
        1.2, 'after pre-training only the student is kept\n'
        'and initialises mmdet3d segmentors and detectors',
        fontsize=8,
        style='italic',
        va='center')
    fig.tight_layout(pad=0.2)
    out = osp.join(osp.dirname(osp.abspath(__file__)), 'hilda_overview.png')
    fig.savefig(out, dpi=90)
    print(out)


if __name__ == '__main__':
    main()
