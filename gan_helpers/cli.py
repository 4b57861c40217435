"""The command line: ``python -m gan_helpers COMMAND``.

Every command reports bad arguments and missing files in one clear line
(exit status 2), never with a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings


def _cmd_download(args) -> int:
    from gan_helpers import download

    sources = download.LFW_SOURCES
    if args.url:
        if not args.sha256:
            raise ValueError("--url needs --sha256 HEX, the archive's checksum, so the download can be verified.")
        name = args.url.rstrip("/").rsplit("/", 1)[-1] or "archive.tgz"
        folder = args.folder or name.split(".")[0]
        sources = (download.Source(args.url, name, "sha256", args.sha256.lower(), folder),)
    folder = download.download(args.dest, sources, timeout=args.timeout, progress=not args.quiet)
    print(f"LFW is in {folder}. Next: python -m gan_helpers prepare --data {folder}")
    return 0


def _cmd_prepare(args) -> int:
    from gan_helpers import data

    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        faces = data.load_dataset(args.data, image_size=args.size, crop=args.crop,
                                  use_cache=not args.no_cache, progress=not args.quiet)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    seconds = time.perf_counter() - start
    print(f"Used {len(faces):,} images of {faces.num_people:,} people from {faces.source} "
          f"({len(faces.skipped)} skipped) as {args.size}x{args.size} RGB in {seconds:.1f} s"
          f"{' (from cache)' if faces.from_cache else ''}.")
    return 0


def _cmd_train(args) -> int:
    import json

    from gan_helpers import runs

    if args.resume:
        run = runs.Run.resume(args.resume)
        if args.data:
            run.config["data_dir"] = args.data
    else:
        if args.epochs is None and args.minutes is None:
            raise ValueError("Give a budget: --minutes M or --epochs E.")
        out = args.out or time.strftime("runs/%Y%m%d-%H%M%S")
        overrides = json.loads(args.config) if args.config else {}
        config = {"data_dir": args.data, "image_size": args.size, "balance": args.balance, "seed": args.seed,
                  "model": args.model, "crop": args.crop, **overrides}
        run = runs.Run(config, out)
    run.train(epochs=args.epochs, minutes=args.minutes, verbose=0 if args.quiet else 1)
    last = run.history[-1] if run.history else {}
    summary = ", ".join(f"{k} {last[k]:.3f}" for k in ("d_real_success", "d_fake_success", "g_success",
                                                      "wasserstein", "gen_iterations") if k in last)
    print(f"Trained {run.epoch} epoch(s), {len(run.steps)} steps, {run.seconds / 60:.1f} min; last epoch: {summary}. "
          f"Generator: {run.run_dir / 'generator.keras'}")
    return 0


def _cmd_sample(args) -> int:
    import numpy as np

    from gan_helpers import plots, sampling

    if args.num < 1:
        raise ValueError(f"--num must be at least 1. Received: {args.num}")
    generator = sampling.load_generator(args.model)
    images = sampling.generate(generator, args.num, seed=args.seed)
    out = args.out[:-4] if args.out.endswith((".png", ".npy")) else args.out
    np.save(out + ".npy", images, allow_pickle=False)
    plots.save_grid(images, out + ".png", columns=min(8, args.num), upscale=2)
    print(f"Wrote {args.num} images {images.shape[1]}x{images.shape[2]} to {out}.npy and a grid to {out}.png")
    return 0


def _cmd_evaluate(args) -> int:
    import json

    from gan_helpers import data, metrics, sampling

    generator = sampling.load_generator(args.model)
    size = int(generator.output_shape[1])
    train, holdout = data.train_and_holdout(args.data, size, crop=args.crop, num_holdout=args.num, progress=False)
    generated = sampling.generate(generator, len(holdout), seed=args.seed)
    result = metrics.evaluate(generated, train, holdout, seed=args.seed)
    print(json.dumps({"model": str(args.model), **result}))
    return 0


def _cmd_demo(args) -> int:
    from gan_helpers import sampling

    if args.num < 1:
        raise ValueError(f"--num must be at least 1. Received: {args.num}")
    start = time.perf_counter()
    images = sampling.demo(args.model, num=args.num, seed=args.seed, out=args.out)
    print(f"Wrote {len(images)} faces ({images.shape[1]}x{images.shape[2]}, shown 2x) from "
          f"{args.model or sampling.PRETRAINED} to {args.out} in {time.perf_counter() - start:.1f} s.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gan_helpers", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("demo", help="faces from the shipped generator, no dataset or training needed")
    p.add_argument("--model", help="a generator .keras file or run folder (default: pretrained/generator.keras)")
    p.add_argument("--num", type=int, default=64, help="how many faces (default 64)")
    p.add_argument("--seed", type=int, default=0, help="which faces: the noise seed (default 0)")
    p.add_argument("--out", default="demo.png", help="the grid image to write (default demo.png)")
    p.set_defaults(run=_cmd_demo)

    p = commands.add_parser("download", help="download LFW, verify its checksum and extract it")
    p.add_argument("--dest", default="data", help="folder to put the archive and the images in (default: data)")
    p.add_argument("--url", help="download from this URL instead of the LFW site and its mirror")
    p.add_argument("--sha256", help="the SHA-256 checksum of the archive at --url")
    p.add_argument("--folder", help="the top folder the --url archive extracts to")
    p.add_argument("--timeout", type=float, default=60, help="seconds to wait for the server")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_download)

    p = commands.add_parser("prepare", help="preprocess the faces once and cache them")
    p.add_argument("--data", help="dataset folder or .tgz (default: $LFW_DIR, then data/lfw-deepfunneled)")
    p.add_argument("--size", type=int, default=64, help="image side in pixels, even, 16..128 (default 64)")
    p.add_argument("--crop", type=int, default=50, help="pixels cut from every side first (default 50)")
    p.add_argument("--no-cache", action="store_true", help="decode again and write no cache")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_prepare)

    p = commands.add_parser("train", help="train a GAN on the faces, with checkpoints and resume")
    p.add_argument("--data", help="dataset folder or .tgz (default: $LFW_DIR, then data/lfw-deepfunneled)")
    p.add_argument("--size", type=int, default=64, help="image side (default 64)")
    p.add_argument("--crop", type=int, default=50, help="pixels cut from every side first (default 50)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, help="train for this many minutes")
    budget.add_argument("--epochs", type=int, help="train until this many epochs in total")
    p.add_argument("--balance", default="margin", choices=["margin", "success", "always"],
                   help="rule that skips the turn of the network that is too good (default: margin)")
    p.add_argument("--model", default="gan", choices=["gan", "wgan", "wgan-gp"],
                   help="what to train: the balanced GAN, WGAN (clipping) or WGAN-GP (default: gan)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="run folder (default: runs/<date-time>)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR where it stopped")
    p.add_argument("--config", help='JSON of further settings, e.g. \'{"generator": {"widths": [64, 32, 16]}}\'')
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_train)

    p = commands.add_parser("sample", help="generate faces with a saved generator")
    p.add_argument("--model", required=True, help="a generator .keras file or a run folder")
    p.add_argument("--num", type=int, default=64)
    p.add_argument("--out", required=True, help="FILE: writes FILE.npy (uint8) and FILE.png (a grid)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=_cmd_sample)

    p = commands.add_parser("evaluate", help="quality metrics of a generator against LFW, as one JSON line")
    p.add_argument("--model", required=True, help="a generator .keras file or a run folder")
    p.add_argument("--data", help="dataset folder or .tgz (default: $LFW_DIR, then data/lfw-deepfunneled)")
    p.add_argument("--num", type=int, default=1000, help="images to generate and compare (default 1000)")
    p.add_argument("--crop", type=int, default=50, help="pixels cut from every side of the real images (default 50)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=_cmd_evaluate)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except (OSError, ValueError, RuntimeError) as error:
        # One line the user can act on; the error types carry the fix in their message.
        message = " ".join(str(error).split())
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
