"""Benchmark: the clipped WGAN with the reference's optimizer (PyTorch's RMSprop) against Keras' RMSprop.

    python benchmarks/bench_wgan_optimizer.py --data ../shared/datasets/lfw-deepfunneled [--steps 300] [--seeds 0 1]

The reference trains with ``torch.optim.RMSprop(lr=5e-5)``: decay 0.99 and 1e-8
added to the root of the running mean square. Keras' ``RMSprop(5e-5)`` decays with
0.9 and adds 1e-7 *inside* the root, which caps the step of every weight whose
gradients are below about 3e-4, as a clipped critic's are. Both are run at equal
steps (so the machine's load does not matter), same seeds, same data:

- faces: the clipped WGAN with the reference's DCGAN networks (ngf = ndf = 32) at
  32x32, ``--steps`` critic steps (the reference's warm-up: 100 critic steps per
  generator iteration); the median Wasserstein estimate (-Loss_D) over the first,
  middle and last 50 steps. A critic that learns faster separates real from fake
  faces sooner: a larger estimate;
- the toy (eight Gaussians, :mod:`gan_helpers.toy`): 1,000 generator iterations of
  the clipped WGAN per seed; modes covered and the share of samples near a mode.
"""

import argparse
import os

import numpy as np

from gan_helpers import data, runs, toy, wgan
from gan_helpers._quiet import import_tensorflow

import_tensorflow()
import keras  # noqa: E402

OPTIMIZERS = {
    "pytorch-rmsprop (the port)": wgan.reference_rmsprop,
    "keras-rmsprop (default settings)": lambda learning_rate=5e-5: keras.optimizers.RMSprop(learning_rate),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.environ.get("LFW_DIR"))
    parser.add_argument("--steps", type=int, default=300, help="critic steps on faces (default 300)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args()
    train, _ = data.train_and_holdout(args.data, 32, num_holdout=200, progress=False)
    config = {"model": "wgan", "image_size": 32, "generator_architecture": "dcgan", "critic": "dcgan",
              "generator": {"width": 32}, "discriminator": {"width": 32}}
    print("| optimizer | seed | estimate, steps 1-50 | middle 50 | last 50 | toy: modes covered | toy: near a mode |")
    print("|---|---|---|---|---|---|---|")
    for name, make in OPTIMIZERS.items():
        wgan.reference_rmsprop = make  # runs.build and the toy call it for the clipped WGAN
        for seed in args.seeds:
            run = runs.Run({**config, "seed": seed}, None, images=train)
            run.train(generator_iterations=args.steps // 100, verbose=0)  # warm-up: 100 critic steps each
            w = [s["wasserstein"] for s in run.steps]
            middle = len(w) // 2
            report = toy.mode_report(toy.sample_toy(toy.train_toy("wgan", steps=1000, seed=seed)))
            print(f"| {name} | {seed} | {np.median(w[:50]):.4f} | {np.median(w[middle - 25:middle + 25]):.4f} | "
                  f"{np.median(w[-50:]):.4f} | {report['covered']}/8 | {report['high_quality']:.1%} |", flush=True)


if __name__ == "__main__":
    main()
