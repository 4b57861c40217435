"""Benchmark: how much a saved generator's scores depend on its batch norm statistics.

The averaged generator's batch norm layers normalise with "standing statistics" (gan_helpers.averaging):
means over 4 fixed batches of 64 noise vectors, with G in training mode (dropout on). This script
recomputes them other ways for one saved generator and scores each version with the metrics of
``python -m gan_helpers evaluate`` (same faces, same noise, same evaluation seed):

- ``saved``: the statistics in the file;
- ``standing 4x64, noise seed R``: the averaging's recipe on other noise (R = 0 is its own noise when
  the run's averaging used seed 0), to see how much 256 samples' statistics vary;
- ``standing 64x64``: the same over 4,096 samples;
- ``first batch norm from 4,096 samples``: the projection's batch norm (the first; one statistic per feature,
  so one value per sample each) from 4,096 noise vectors through the layers before it, the others as the
  averaging computes them;
- ``standing 64x64, dropout off``: G's dropout off while the statistics are taken, as it is when G draws;
- ``training mode``: no standing statistics: every batch of 64 is drawn the way training draws it
  (batch norm on the batch's own statistics, dropout on), the faces D was trained against.

    python benchmarks/bench_bn_statistics.py --model SNAPSHOT.keras [...] --data ../shared/datasets/lfw-deepfunneled \\
        [--seed 0] [--noise-seeds 0 1 2 3] [--versions saved standing-4x64 ...] [--faces]

Prints one JSON row per version and a Markdown table. ``--faces`` adds the face rate (slower).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from gan_helpers import averaging, data, metrics, plots, sampling  # noqa: E402
from gan_helpers._quiet import import_tensorflow  # noqa: E402

tf = import_tensorflow()

import keras  # noqa: E402


#: The versions of the statistics, by the name --versions takes.
VERSIONS = {"saved": "saved", "standing-4x64": "standing 4x64", "standing-64x64": "standing 64x64",
            "first-4096": "first batch norm from 4,096 samples, the others 4x64",
            "dropout-off": "standing 64x64, dropout off", "training-mode": "training mode"}


def dropout_layers(model) -> list:
    """Every Dropout layer of ``model`` (nested models included)."""
    return [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.Dropout)]


def standing_statistics(generator, batches: int, batch_size: int, seed: int, dropout: bool = True) -> None:
    """``averaging.standing_statistics`` over ``batches`` batches of ``batch_size`` noise vectors drawn with
    ``seed``, on the loaded model itself (whose dropout seed states make the run's own noise reproduce the
    saved statistics); ``dropout=False`` takes them with G's dropout off."""
    drops = dropout_layers(generator)
    rates = [layer.rate for layer in drops]
    noise = np.random.default_rng(seed).normal(size=(batches, batch_size, int(generator.input_shape[-1])))
    try:
        if not dropout:
            for layer in drops:
                layer.rate = 0.0
        averaging.standing_statistics(generator, noise)
    finally:
        for layer, rate in zip(drops, rates):
            layer.rate = rate


def precise_first_statistics(generator, samples: int, seed: int, batches: int = 4, batch_size: int = 64) -> None:
    """The first batch norm layer's statistics (the projection's, one per feature, so only one value per sample
    each) from ``samples`` noise vectors through the layers before it, then the others as the averaging's
    standing statistics (``batches`` x ``batch_size``, noise ``seed``), the first one held fixed."""
    first = averaging.batch_norm_layers(generator)[0]
    before = keras.Model(generator.inputs, first.input)
    z = np.random.default_rng(seed + 1_000).normal(size=(samples, int(generator.input_shape[-1]))).astype(np.float32)
    x = np.asarray(before.predict(z, batch_size=1024, verbose=0), dtype=np.float64)
    axes = tuple(range(x.ndim - 1))
    first.moving_mean.assign(x.mean(axis=axes).astype(np.float32))
    first.moving_variance.assign(x.var(axis=axes).astype(np.float32))
    momentum, first.momentum = first.momentum, 1.0
    try:
        standing_statistics(generator, batches, batch_size, seed)
    finally:
        first.momentum = momentum


def training_mode_images(generator, num: int, seed: int, batch_size: int = 64) -> np.ndarray:
    """``num`` images drawn as training draws them: batches of ``batch_size``, batch norm on each batch's
    statistics, dropout on (the noise is :func:`sampling.noise`'s, so it matches the other versions)."""
    z = sampling.noise(generator, num, seed)
    out = [np.asarray(generator(z[i:i + batch_size], training=True)) for i in range(0, num, batch_size)]
    return plots.as_uint8(np.clip(np.concatenate(out), -1.0, 1.0))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, nargs="+",
                        help="saved generators (.keras), scored one after another")
    parser.add_argument("--data", default=os.environ.get("LFW_DIR"))
    parser.add_argument("--seed", type=int, default=0, help="evaluation seed (noise, SWD directions), as evaluate's")
    parser.add_argument("--num", type=int, default=1000)
    parser.add_argument("--noise-seeds", type=int, nargs="+", default=[0, 1, 2, 3],
                        help="noise seeds of the 4x64 standing statistics")
    parser.add_argument("--precise-seeds", type=int, nargs="+", default=[100],
                        help="noise seeds of the 64x64 standing statistics (default 100)")
    parser.add_argument("--faces", action="store_true", help="also measure the face rate (slower)")
    parser.add_argument("--versions", nargs="+", default=list(VERSIONS), choices=list(VERSIONS),
                        help="which versions to score (default: all)")
    args = parser.parse_args()

    probe = sampling.load_generator(args.model[0])
    size = int(probe.output_shape[1])
    train, holdout = data.train_and_holdout(data.find_data_dir(args.data), size, num_holdout=args.num, progress=False)
    versions = [(VERSIONS["saved"], None)] if "saved" in args.versions else []
    if "standing-4x64" in args.versions:
        versions += [(f"{VERSIONS['standing-4x64']}, noise seed {r}", dict(batches=4, batch_size=64, seed=r))
                     for r in args.noise_seeds]
    if "standing-64x64" in args.versions:
        versions += [(VERSIONS["standing-64x64"] + (f", noise seed {r}" if len(args.precise_seeds) > 1 else ""),
                      dict(batches=64, batch_size=64, seed=r)) for r in args.precise_seeds]
    if "first-4096" in args.versions:
        versions += [(f"{VERSIONS['first-4096']}, noise seed {r}", ("first", r)) for r in args.noise_seeds]
    if "dropout-off" in args.versions:
        versions.append((VERSIONS["dropout-off"], dict(batches=64, batch_size=64, seed=100, dropout=False)))
    if "training-mode" in args.versions:
        versions.append((VERSIONS["training-mode"], "training"))
    rows = []
    for model, (name, how) in [(m, v) for m in args.model for v in versions]:
        generator = sampling.load_generator(model)
        if how == "training":
            generated = training_mode_images(generator, len(holdout), args.seed)
        elif isinstance(how, tuple):
            precise_first_statistics(generator, 4096, seed=how[1])
            generated = sampling.generate(generator, len(holdout), seed=args.seed)
        else:
            if how is not None:
                standing_statistics(generator, **how)
            generated = sampling.generate(generator, len(holdout), seed=args.seed)
        result = metrics.evaluate(generated, train, holdout, seed=args.seed, with_faces=args.faces)
        rows.append({"model": model, "version": name, **result})
        print(json.dumps(rows[-1]), flush=True)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    lines = [f"Evaluation seed {args.seed}, {args.num} samples; {cpu}, {os.cpu_count()} cores; "
             f"SWD floor {rows[0]['swd_real_floor']:.1f}", "",
             "| generator | batch norm statistics | SWD x1e3 | pixel spread (real "
             f"{rows[0]['pixel_spread_real']:.3f}) | diversity ratio | memorisation ratio |"
             + (" face rate |" if args.faces else ""),
             "|---|---|---|---|---|---|" + ("---|" if args.faces else "")]
    for r in rows:
        lines.append(f"| {r['model']} | {r['version']} | {r['swd']:.1f} | {r['pixel_spread']:.3f} | "
                     f"{r['diversity_ratio']:.2f} | {r['memorisation_ratio']:.2f} |"
                     + (f" {r['face_rate']:.3f} |" if args.faces else ""))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
