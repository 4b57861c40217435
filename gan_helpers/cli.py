"""The command line: ``python -m gan_helpers COMMAND``.

Every command reports bad arguments and missing files in one clear line
(exit status 2), never with a traceback.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings

from gan_helpers.devices import configure_devices  # noqa: F401  (also gan_helpers.cli.configure_devices)

# What `--data` searches when it is not given (gan_helpers.data.find_data_dir), for the help texts.
DATA_HELP = ("dataset folder or .tgz (default: the first found of $LFW_DIR, data/lfw-deepfunneled, data/lfw, "
             "data/lfw_funneled, their .tgz archives, and ../shared/datasets/lfw-deepfunneled)")
CROP_HELP = ("cut from every side before resizing: a fraction of the image's side (0.2, the default: the blog's "
             "50 px of LFW's 250) or whole pixels (50)")
SIZE_HELP = "image side in pixels, an even number from 16 to 128 (default 64)"


# ----------------------------------------------------------------------------
# Argument types: each names its flag (argparse adds it) and says what is expected.


def _whole(minimum: int, maximum: int | None = None, beyond: str = ""):
    """A whole number from ``minimum`` (to ``maximum``; ``beyond`` says what to do for more)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number of at least {minimum}. "
                                             f"Received: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be a whole number of at least {minimum}. Received: {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:,}{beyond}. Received: {value}")
        return value
    parse.__name__ = "whole number"
    return parse


#: The longest budget a run takes: a year of minutes (a longer one overflows the clock's arithmetic).
MAX_MINUTES = 525_600


def _positive(unit: str, example: str, maximum: float | None = None, beyond: str = ""):
    """A positive, finite number of ``unit`` (up to ``maximum``), as an argparse type."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value <= 0 or (maximum is not None and value > maximum):
            bound = f" up to {maximum:,}{beyond}" if maximum is not None else ""
            raise argparse.ArgumentTypeError(f"must be a positive number of {unit}{bound}, e.g. {example}. "
                                             f"Received: {text!r}")
        return value
    parse.__name__ = f"number of {unit}"
    return parse


_positive_minutes = _positive("minutes", "15", MAX_MINUTES, " (a year)")
_positive_seconds = _positive("seconds", "60")


def _sample_out(text: str) -> str:
    """``--out FILE`` of ``sample``: a file name (without .npy/.png) in a folder that exists."""
    from pathlib import Path

    stem = text[:-4] if text.endswith((".png", ".npy")) else text
    if not stem.strip() or stem.endswith(("/", "\\")) or Path(stem).is_dir():
        raise argparse.ArgumentTypeError(f"needs a file name, e.g. samples/faces (writes samples/faces.npy and "
                                         f"samples/faces.png). Received: {text!r}")
    if not Path(stem).parent.is_dir():
        raise argparse.ArgumentTypeError(f"goes into the folder {Path(stem).parent}, which does not exist: create it "
                                         f"or choose another. Received: {text!r}")
    return stem


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to {2**32 - 1}. Received: {text!r}")
    return value


def _image_size(text: str) -> int:
    from gan_helpers import data

    try:
        value = int(text)
        data.check_image_size(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an even number from 16 to 128. Received: {text!r}") from None
    return value


def _ema_decay(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value < 1:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"must be a number from 0 up to (not including) 1, e.g. 0.999 "
                                         f"(0: no averaged generator). Received: {text!r}")
    return value


def _crop(text: str):
    from gan_helpers import data

    try:
        return data.parse_crop(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument gives the workbook's one line: ``error: ...`` and exit status 2."""

    def error(self, message):
        print(f"error: {message} (see: {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def _check_model_path(path) -> None:
    """The cheap checks of a generator path, before TensorFlow is imported."""
    from gan_helpers import sampling

    sampling.check_generator_path(path)


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


def _crop_or_default(args):
    from gan_helpers import data

    return data.DEFAULT_CROP if args.crop is None else args.crop


def _cmd_prepare(args) -> int:
    from gan_helpers import data

    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        faces = data.load_dataset(args.data, image_size=args.size, crop=_crop_or_default(args),
                                  use_cache=not args.no_cache, progress=not args.quiet)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    seconds = time.perf_counter() - start
    print(f"Used {len(faces):,} images of {faces.num_people:,} people from {faces.source} "
          f"({len(faces.skipped)} skipped) as {args.size}x{args.size} RGB in {seconds:.1f} s"
          f"{' (from cache)' if faces.from_cache else ''}.")
    return 0


def _train_config(args, out=None) -> tuple[dict, str]:
    """The new run's settings and folder (``out``, default ``--out``), checked without TensorFlow (a typo must
    not cost seconds)."""
    import json

    from gan_helpers import data
    from gan_helpers.runs.budget import Budget
    from gan_helpers.runs.folder import RunFolder

    Budget(args.epochs, args.minutes).check(distribute=args.distribute)
    if args.replicas is not None and args.distribute != "mirrored":
        raise ValueError("--replicas goes with --distribute mirrored (a multi-worker run's replicas come "
                         "from TF_CONFIG).")
    out = out or args.out or time.strftime("runs/%Y%m%d-%H%M%S")
    try:
        overrides = json.loads(args.config) if args.config else {}
    except ValueError as error:
        raise ValueError(f"--config is not valid JSON ({error}); e.g. --config '{{\"margin\": 0.2}}'.") from None
    if not isinstance(overrides, dict):
        raise ValueError(f"--config must be a JSON object of settings. Received: {args.config}")
    configured = overrides.get("data_dir")
    if configured is not None and not isinstance(configured, str):
        raise ValueError(f"--config's data_dir must be a path (a string) or null. Received: data_dir={configured!r}")
    source = data.find_data_dir(args.data if args.data is not None else configured)  # checked before TensorFlow
    # --architecture sets both networks; --config can still set either one.
    networks = {"generator_architecture": args.architecture, "critic": args.architecture} if args.architecture else {}
    # These settings only when given, so the run settings' defaults stay in one place (runs.default_config).
    quality = {key: value for key, value in (("ema_decay", args.ema_decay), ("mirror", args.mirror),
                                             ("precision", args.precision), ("distribute", args.distribute),
                                             ("replicas", args.replicas)) if value is not None}
    # The flags' defaults, then --config, then the flags given: an explicit flag wins over --config.
    flags = {"image_size": args.size, "balance": args.balance, "seed": args.seed, "model": args.model,
             "crop": args.crop}
    defaults = {"image_size": 64, "balance": "margin", "seed": 0, "model": "gan", "crop": _crop_or_default(args)}
    given = {key: value for key, value in flags.items() if value is not None}
    config = {**defaults, **overrides, **networks, **quality, **given}
    config["data_dir"] = str(source)  # an explicit --data wins over --config's data_dir
    RunFolder(out).check_new(config)
    return config, out


#: The flags that set a run's settings, which a resumed run takes from its config.json.
_SETTING_FLAGS = ("ema_decay", "mirror", "precision", "size", "crop", "balance", "model", "architecture", "seed")


def _refuse_settings_on_resume(args) -> None:
    if args.distribute or args.replicas:
        raise ValueError("--resume continues a run with its own settings; drop --distribute and --replicas "
                         "(config.json records them).")
    if args.out or args.config:
        raise ValueError("--resume continues a run with its own settings and folder; drop --out and --config.")
    given = ["--" + name.replace("_", "-") for name in _SETTING_FLAGS if getattr(args, name) is not None]
    if given:
        raise ValueError(f"--resume continues a run with its own settings (its config.json); drop "
                         f"{', '.join(given)}, or start a new run with --out for other settings.")


def _cmd_train(args) -> int:
    from gan_helpers.runs.budget import Budget
    from gan_helpers.runs.folder import RunFolder

    budget = Budget(args.epochs, args.minutes)
    if args.resume:
        _refuse_settings_on_resume(args)
        with RunFolder(args.resume).resuming(budget):
            from gan_helpers import runs

            run = runs.Run.resume(args.resume, data_dir=args.data, switch_data=args.switch_data)
            path = run.write_missing_generator(budget)
            if path is not None:
                print(f"The run already has {run.epoch} epoch(s); wrote its generator from the last checkpoint to "
                      f"{path}.")
                return 0
            return _train(run, budget, args)
    if args.switch_data:
        raise ValueError("--switch-data goes with --resume RUN_DIR: a new run records the faces it trains on.")
    folder = RunFolder(args.out or time.strftime("runs/%Y%m%d-%H%M%S"))
    with folder.new_run():
        config, out = _train_config(args, str(folder.path))
        configure_devices(args.distribute, args.replicas)
        from gan_helpers import runs
        from gan_helpers.runs.settings import resolve_precision

        if config.get("precision", "auto") == "auto":  # here the run's length is known, and auto weighs it
            settings = runs.default_config(**config)  # checked, with the defaults of what was not given
            config["precision"], config["precision_reason"] = resolve_precision(
                "auto", budget=budget, model=settings["model"],
                steps_per_epoch=_steps_per_epoch(settings) if budget.epochs is not None else None)

        return _train(runs.Run(config, out), budget, args)


def _steps_per_epoch(settings: dict) -> int:
    """About how many steps an epoch of a new run makes: its faces, less the people held out, per batch."""
    from gan_helpers import data

    faces = len(data.list_images(settings["data_dir"]))
    if settings.get("limit"):
        faces = min(faces, settings["limit"])
    return max(1, int(faces * (1 - settings["holdout"])) // settings["batch_size"])


def _train(run, budget, args) -> int:
    from gan_helpers import files

    run.train(epochs=budget.epochs, minutes=budget.minutes, verbose=0 if args.quiet else 1)
    if isinstance(run.interruption, files.Terminated):
        print("Terminated (SIGTERM); the run is saved.", file=sys.stderr)
        return 143
    last = run.history[-1] if run.history else {}
    summary = ", ".join(f"{k} {last[k]:.3f}" for k in ("d_real_success", "d_fake_success", "g_success",
                                                      "wasserstein", "gen_iterations") if k in last)
    print(f"Trained {run.epoch} epoch(s), {len(run.steps)} steps, {run.seconds / 60:.1f} min; last epoch: {summary}. "
          f"Generator: {run.run_dir / 'generator.keras'}")
    return 130 if run.interrupted else 0


def _cmd_sample(args) -> int:
    from gan_helpers import sampling

    _check_model_path(args.model)
    out = args.out  # already without .npy/.png (_sample_out)
    images = sampling.sample_to_files(args.model, args.num, out, seed=args.seed, progress=not args.quiet)
    print(f"Wrote {args.num} images {images.shape[1]}x{images.shape[2]} to {out}.npy and a grid of the first "
          f"{min(args.num, sampling.GRID_IMAGES)} to {out}.png")
    return 0


def _cmd_evaluate(args) -> int:
    import json

    from gan_helpers import data

    from pathlib import Path

    _check_model_path(args.model)
    dataset, crop, recorded = args.data, args.crop, None
    stored = Path(args.model) / "config.json"
    if Path(args.model).is_dir() and stored.exists():  # a run folder: its own dataset and crop, unless given
        try:  # read here, not through gan_helpers.runs, which loads TensorFlow
            config = json.loads(stored.read_text())
            if not isinstance(config, dict):
                raise ValueError("not a JSON object")
        except ValueError:
            raise ValueError(f"The run settings {stored} are damaged; give --data and --crop.") from None
        if not isinstance(config.get("data_dir"), (str, type(None))):
            raise ValueError(f"{stored}: data_dir must be a path (a string) or null. Received: "
                             f"data_dir={config['data_dir']!r}; fix the file, or give --data.")
        dataset = dataset if dataset is not None else config.get("data_dir")
        crop = crop if crop is not None else config.get("crop")
        recorded = config.get("dataset")
    crop = data.DEFAULT_CROP if crop is None else crop
    source = data.find_data_dir(dataset)  # a wrong path is reported before TensorFlow loads
    if isinstance(recorded, dict) and data.fingerprint(source) != recorded:
        print(f"warning: the faces at {source} are not the ones {args.model} trained on, so the people held out "
              "here may include people the run saw, and the scores may look better than they are.", file=sys.stderr)
    from gan_helpers import metrics, sampling

    generator = sampling.load_generator(args.model)
    size = int(generator.output_shape[1])
    try:
        data.check_image_size(size)
    except ValueError:
        raise ValueError(f"{args.model} draws {size}x{size} images; evaluate measures sizes that training "
                         "uses, even numbers from 16 to 128.") from None
    train, holdout = data.train_and_holdout(source, size, crop=crop, num_holdout=args.num, progress=not args.quiet)
    generated = sampling.generate(generator, len(holdout), seed=args.seed)
    result = metrics.evaluate(generated, train, holdout, seed=args.seed, progress=not args.quiet)
    print(json.dumps({"model": str(args.model), "dataset": str(source), "crop": crop, **result,
                      "units": metrics.UNITS}))
    return 0


def _cmd_demo(args) -> int:
    from gan_helpers import sampling

    if args.model:
        _check_model_path(args.model)
    suffix = args.out.rsplit(".", 1)[-1].lower() if "." in args.out.rsplit("/", 1)[-1] else ""
    if not suffix:
        args.out += ".png"
    elif suffix not in ("png", "jpg", "jpeg"):
        raise ValueError(f"--out {args.out}: write the grid as .png or .jpg (e.g. --out demo.png).")
    start = time.perf_counter()
    images = sampling.demo(args.model, num=args.num, seed=args.seed, out=args.out)
    print(f"Wrote {len(images)} faces ({images.shape[1]}x{images.shape[2]}, shown 2x) from "
          f"{args.model or sampling.PRETRAINED} to {args.out} in {time.perf_counter() - start:.1f} s.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m gan_helpers", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_demo(commands)
    _add_download(commands)
    _add_prepare(commands)
    _add_train(commands)
    _add_sample(commands)
    _add_evaluate(commands)
    return parser


def _add_demo(commands) -> None:
    p = commands.add_parser("demo", help="faces from the shipped generator, no dataset or training needed")
    p.add_argument("--model", help="a generator .keras file or run folder (default: pretrained/generator.keras)")
    p.add_argument("--num", type=_whole(1, 1024, " (one picture holds them all; for more faces use `sample`, which "
                                        "writes them in batches)"), default=64,
                   help="how many faces (default 64, at most 1,024)")
    p.add_argument("--seed", type=_seed, default=0, help="which faces: the noise seed (default 0)")
    p.add_argument("--out", default="demo.png", help="the grid image to write (default demo.png)")
    p.set_defaults(run=_cmd_demo)


def _add_download(commands) -> None:
    p = commands.add_parser("download", help="download LFW, verify its checksum and extract it")
    p.add_argument("--dest", default="data", help="folder to put the archive and the images in (default: data)")
    p.add_argument("--url", help="download from this URL instead of the LFW site and its mirror")
    p.add_argument("--sha256", help="the SHA-256 checksum of the archive at --url")
    p.add_argument("--folder", help="the top folder the --url archive extracts to")
    p.add_argument("--timeout", type=_positive_seconds, default=60, help="seconds to wait for the server")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_download)


def _add_prepare(commands) -> None:
    p = commands.add_parser("prepare", help="preprocess the faces once and cache them")
    p.add_argument("--data", help=DATA_HELP)
    p.add_argument("--size", type=_image_size, default=64, help=SIZE_HELP)
    p.add_argument("--crop", type=_crop, default=None, help=CROP_HELP)
    p.add_argument("--no-cache", action="store_true", help="decode again and write no cache")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_prepare)


def _add_train(commands) -> None:
    p = commands.add_parser("train", help="train a GAN on the faces, with checkpoints and resume")
    p.add_argument("--data", help=DATA_HELP)
    p.add_argument("--size", type=_image_size, default=None, help=SIZE_HELP)
    p.add_argument("--crop", type=_crop, default=None, help=CROP_HELP)
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=_positive_minutes,
                        help="train for this many more minutes (one of --minutes and --epochs is required)")
    budget.add_argument("--epochs", type=_whole(1), help="train until the run has this many epochs in total")
    p.add_argument("--balance", default=None, choices=["margin", "success", "always"],
                   help="rule that skips the turn of the network that is too good (default: margin)")
    p.add_argument("--model", default=None, choices=["gan", "wgan", "wgan-gp"],
                   help="what to train: the balanced GAN, WGAN (clipping) or WGAN-GP (default: gan)")
    p.add_argument("--architecture", choices=["exercise", "dcgan"],
                   help="networks: the exercise's G and D (D as the critic of a WGAN), or the WGAN reference's "
                        "DCGAN_G and DCGAN_D (a GAN keeps the exercise's D); dcgan needs --size 16, 32, 64 or 128 "
                        "(default: exercise)")
    p.add_argument("--seed", type=_seed, default=None,
                   help="seed of the weights, the noise and the shuffling (default 0)")
    p.add_argument("--ema-decay", type=_ema_decay, metavar="D",
                   help="also keep an averaged generator, a moving average of G's weights with decay D (e.g. "
                        "0.999, warmed up from 0.1); samples, metrics and generator.keras then use it; "
                        "0 trains without one (default: 0.999 for --model gan, 0 for the WGANs)")
    p.add_argument("--mirror", action="store_true", default=None,
                   help="flip half of the training faces left-right each epoch (default: no flips)")
    p.add_argument("--precision", choices=["auto", "float32", "bfloat16"],
                   help="compute in float32, or in bfloat16 with float32 weights, optimizer state and losses "
                        "(mixed precision; faster only where the hardware has bfloat16 units); auto, the default: "
                        "bfloat16 where the CPU reports AVX512_BF16 or AMX-BF16 (or a GPU has bfloat16 units), "
                        "float32 elsewhere; on such a CPU a new GAN run of 45 minutes or more (or about 4,650 "
                        "steps of --epochs) computes in float32, which gives better faces there on average")
    p.add_argument("--distribute", choices=["mirrored", "multi-worker"],
                   help="train on several devices: mirrored (every visible GPU, or on a machine without GPUs "
                        "the CPU split into --replicas logical devices) or multi-worker (the cluster in "
                        "TF_CONFIG; needs --epochs) (default: one device)")
    p.add_argument("--replicas", type=_whole(1), metavar="N",
                   help="with --distribute mirrored: how many replicas (default: every GPU, or 2 on a CPU)")
    p.add_argument("--out", help="run folder, new or empty (default: runs/<date-time>)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR where it stopped")
    p.add_argument("--switch-data", action="store_true",
                   help="with --resume: train on the faces found now (--data, or the run's data_dir) although they "
                        "are not the ones the run started on")
    p.add_argument("--config", help='JSON of further settings, e.g. \'{"generator": {"widths": [64, 32, 16]}}\'')
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=_cmd_train)


def _add_sample(commands) -> None:
    p = commands.add_parser("sample", help="generate faces with a saved generator")
    p.add_argument("--model", required=True, help="a generator .keras file or a run folder")
    p.add_argument("--num", type=_whole(1), default=64, help="how many images (default 64); any number, "
                   "written to the .npy in batches")
    p.add_argument("--out", required=True, type=_sample_out,
                   help="FILE: writes FILE.npy (uint8) and FILE.png (a grid of the first 64)")
    p.add_argument("--seed", type=_seed, default=0, help="which faces: the noise seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_sample)


def _add_evaluate(commands) -> None:
    p = commands.add_parser("evaluate", help="quality metrics of a generator against LFW, as one JSON line")
    p.add_argument("--model", required=True, help="a generator .keras file or a run folder")
    p.add_argument("--data", help=DATA_HELP)
    p.add_argument("--num", type=_whole(1), default=1000,
                   help="images to generate and compare with as many held-out faces (default 1000)")
    p.add_argument("--crop", type=_crop, default=None, help=CROP_HELP)
    p.add_argument("--seed", type=_seed, default=0, help="seed of the noise and of the metrics (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=_cmd_evaluate)


def _on_sigterm(signum, frame):
    """SIGTERM stops a command as Ctrl-C does; a training finishes its current step first."""
    from gan_helpers import files

    if files.defer_termination:
        files.termination_requested = True
    else:
        raise files.Terminated()


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """A warning as the command line shows it: one ``warning:`` line (as ``prepare`` prints them)."""
    print(f"warning: {' '.join(str(message).split())}", file=sys.stderr)


def main(argv=None, quiet_tensorflow: bool | None = None) -> int:
    """Run one command (``argv``, default ``sys.argv``).

    ``quiet_tensorflow`` filters TensorFlow's noise lines out of standard
    error (see :func:`gan_helpers._quiet.filter_stderr`); by default it does
    so when run as a program (no ``argv`` given). Run as a program, SIGTERM
    stops a command as Ctrl-C does (a training saves its models and history,
    temporary files are removed), with exit status 143 instead of 130.
    """
    import signal

    from gan_helpers import files

    args = build_parser().parse_args(argv)
    if quiet_tensorflow if quiet_tensorflow is not None else argv is None:
        from gan_helpers._quiet import filter_stderr

        filter_stderr()
    if argv is None:
        signal.signal(signal.SIGTERM, _on_sigterm)
        warnings.showwarning = _show_warning
    try:
        return args.run(args)
    except files.Terminated:
        print("Terminated (SIGTERM).", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except (OSError, ValueError, RuntimeError) as error:
        # One line the user can act on; the error types carry the fix in their message.
        message = " ".join(str(error).split())
        print(f"error: {message}", file=sys.stderr)
        return 2
    except Exception as error:  # TensorFlow's own errors (OpError) are none of the above
        if not type(error).__module__.startswith("tensorflow"):
            raise
        first = " ".join(str(error).split())[:240]
        hint = (" The settings need more memory than this machine has: use smaller widths, --size or batch_size."
                if "ResourceExhausted" in type(error).__name__ or "OOM" in first else "")
        print(f"error: TensorFlow could not run this ({type(error).__name__}: {first}).{hint}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
