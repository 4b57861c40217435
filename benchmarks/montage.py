"""Put a benchmark's sample grids side by side in one captioned figure (for BENCHMARKS.md).

    python benchmarks/montage.py OUT.jpg GRID.png:CAPTION [GRID.png:CAPTION ...] [--title TITLE]

e.g. the 64x64 WGAN-GP's snapshots over time:

    python benchmarks/montage.py docs/wgan64_over_time.jpg \\
        benchmarks/results/wgan64/wgan-gp-dcgan_15min.png:"15 min" ... --title "WGAN-GP, 64x64"
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("grids", nargs="+", help="PATH:CAPTION")
    parser.add_argument("--title", default="")
    args = parser.parse_args()
    fig, axes = plt.subplots(1, len(args.grids), figsize=(3.2 * len(args.grids), 3.6), squeeze=False)
    for ax, item in zip(axes[0], args.grids):
        path, _, caption = item.partition(":")
        ax.imshow(plt.imread(path))
        ax.set_axis_off()
        ax.set_title(caption or path, fontsize=10)
    if args.title:
        fig.suptitle(args.title)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110, pil_kwargs={"quality": 85})
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
