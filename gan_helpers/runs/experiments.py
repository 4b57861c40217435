"""Experiments on runs: train several and compare them, evaluate at marks, watch a run, the balance-rule study."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gan_helpers import metrics
from gan_helpers.runs.run import Run
from gan_helpers.runs.settings import BLOG_RECIPE


def train_and_evaluate(configs: dict, images, holdout, minutes: float | None = None, run_root=None,
                       num_eval: int = 500, verbose: int = 0, epochs: int | None = None,
                       generator_iterations: int | None = None) -> tuple[dict, dict, dict]:
    """Train one short run per config for the same minutes, epochs or generator iterations; evaluate each alike.

    Returns ``(runs, metrics, samples)``, each a dict by config name. The
    face rate is left out when fewer than 50 images are evaluated. A run with
    ``ema_decay`` is evaluated with its averaged generator. For a GAN
    the metrics also hold D's success in inference mode
    (:func:`metrics.discriminator_success`): on faces it trained on
    (``d_on_train_faces``), on held-out faces (``d_on_heldout_faces``) and
    on the evaluated fakes (``d_on_fakes``).
    """
    trained, results, samples = {}, {}, {}
    for name, config in configs.items():
        run_dir = Path(run_root) / name.replace(" ", "_") if run_root is not None else None
        run = Run(config, run_dir, images=images)
        run.train(epochs=epochs, minutes=minutes, verbose=verbose, generator_iterations=generator_iterations)
        results[name], samples[name] = evaluate_run(run, images, holdout, num_eval)
        trained[name] = run
        print(f"{name}: {run.epoch} epoch(s), {len(run.steps)} steps;\n"
              + metrics.describe({k: v for k, v in results[name].items() if isinstance(v, float)}))
    return trained, results, samples


def evaluate_run(run: "Run", images, holdout, num_eval: int = 500) -> tuple[dict, np.ndarray]:
    """The metrics of a run's generator as it is now, and the samples they were measured on.

    ``num_eval`` samples from fixed noise (seed 1) against as many held-out
    faces (:func:`metrics.evaluate`; the face rate is left out below 50
    images), with the run's progress: ``epochs``, ``steps``,
    ``generator_iterations``, ``train_minutes``. For a GAN also D's success
    in inference mode (:func:`metrics.discriminator_success`): on faces it
    trained on (``d_on_train_faces``), on held-out faces
    (``d_on_heldout_faces``) and on the evaluated fakes (``d_on_fakes``).
    """
    num = min(num_eval, len(holdout))
    generated = run.sample(np.random.default_rng(1).normal(size=(num, run.config["latent_dim"])))
    result = metrics.evaluate(generated, images, holdout[:num], with_faces=num >= 50)
    if hasattr(run.gan, "discriminator"):
        d = run.gan.discriminator
        on_train = metrics.discriminator_success(d, real=images[:num], fake=generated)
        result["d_on_train_faces"] = on_train["real"]
        result["d_on_heldout_faces"] = metrics.discriminator_success(d, real=holdout[:num])["real"]
        result["d_on_fakes"] = on_train["fake"]
    result["epochs"], result["steps"] = run.epoch, len(run.steps)
    result["generator_iterations"] = run.generator_iterations
    result["train_minutes"] = run.seconds / 60
    return result, generated


def train_until(run: "Run", total_minutes: float, **train_kwargs) -> bool:
    """Train ``run`` until its training time (:attr:`Run.seconds`) reaches ``total_minutes`` in all.

    A call's deadline also pays for its set-up, which the run's training time
    does not count, so one ``train(minutes=...)`` can stop short of the mark:
    this trains again until the mark is reached. ``train_kwargs`` go to
    :meth:`Run.train`. Returns False when a call was interrupted or made no
    progress (the mark may then not be reached).
    """
    while run.seconds / 60 < total_minutes - 1e-6:
        before = run.seconds
        run.train(minutes=total_minutes - run.seconds / 60, **train_kwargs)
        if run.interrupted or run.seconds <= before:
            return False
    return True


def evaluate_at_marks(run: "Run", images, holdout, generator_iterations=(), minutes: float | None = None,
                      num_eval: int = 500) -> dict:
    """Train ``run`` to each mark in turn and evaluate it there (:func:`evaluate_run`).

    The marks are totals: first each number of ``generator_iterations`` (in
    increasing order), then ``minutes`` of training in all. Returns
    ``{label: (result, samples)}`` with labels ``"N generator iterations"`` and
    ``"M min"``, in the order trained. A mark the run has already passed is
    evaluated where the run is, and its result has ``passed_mark`` True.
    """
    marks = [("iterations", int(n)) for n in sorted(set(generator_iterations))]
    if minutes is not None:
        marks.append(("minutes", float(minutes)))
    evaluated = {}
    for kind, value in marks:
        if kind == "iterations":
            label, passed = f"{value:,} generator iterations", run.generator_iterations >= value
            if not passed:
                run.train(generator_iterations=value, verbose=0)
        else:
            label, passed = f"{value:g} min", run.seconds / 60 >= value
            train_until(run, value, verbose=0)
        result, samples = evaluate_run(run, images, holdout, num_eval)
        result["passed_mark"] = passed
        evaluated[label] = (result, samples)
    return evaluated


def results_table(results: dict) -> str:
    """A Markdown table of :func:`evaluate_run` results by name: training done and the metrics."""
    lines = ["| run | training minutes | generator iterations | steps | SWD x1e3 | face rate | diversity | "
             "memorisation |", "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        face = f"{r['face_rate']:.3f}" if "face_rate" in r else "-"
        lines.append(f"| {name} | {r['train_minutes']:.1f} | {r['generator_iterations']:,} | {r['steps']:,} | "
                     f"{r['swd']:.1f} | {face} | {r['diversity_ratio']:.2f} | {r['memorisation_ratio']:.2f} |")
    return "\n".join(lines)


def watch(run: "Run", minutes: float, every: float, holdout, num: int = 500, num_grid: int = 16,
          estimate_window: int = 50) -> list[dict]:
    """Train ``run`` for ``minutes`` more, stopping every ``every`` minutes to record how far it has come.

    Each record holds the run's ``minutes`` of training, ``generator_iterations``
    and ``steps`` so far, ``swd`` (x1e3) of ``num`` samples from fixed noise
    (seed 1) against as many held-out faces, ``samples`` (the first
    ``num_grid`` of them, the same noise every time) and, for a WGAN,
    ``estimate``: the median Wasserstein estimate (-Loss_D) over the last
    ``estimate_window`` generator iterations (NaN before any). Stops early
    when a chunk is interrupted.
    """
    if minutes <= 0 or every <= 0:
        raise ValueError(f"minutes and every must be > 0. Received: minutes={minutes}, every={every}")
    noise = np.random.default_rng(1).normal(size=(min(num, len(holdout)), run.config["latent_dim"]))
    records, end = [], run.seconds / 60 + minutes
    while run.seconds / 60 < end - 1e-6:
        if not train_until(run, min(run.seconds / 60 + every, end), verbose=0):
            break
        generated = run.sample(noise)
        at_g = [s["wasserstein"] for s in run.steps if "wasserstein" in s and s.get("g_updated", 0) >= 0.5]
        records.append({"minutes": run.seconds / 60, "generator_iterations": run.generator_iterations,
                        "steps": len(run.steps),
                        "estimate": float(np.median(at_g[-estimate_window:])) if at_g else float("nan"),
                        "swd": metrics.swd(generated, holdout[:len(noise)], patches_per_image=64)["avg"],
                        "samples": generated[:num_grid]})
    return records


#: Settings that give one network the upper hand, for the balance-rule comparison (notebook 03,
#: benchmarks/bench_balance_rules.py): each is the blog's recipe (BLOG_RECIPE, which they were measured
#: with) with one thing changed.
BALANCE_SETTINGS = {name: {**BLOG_RECIPE, **setting} for name, setting in {
    "default": {},  # the blog's recipe as it is
    "g-lr-10x": {"g_learning_rate": 1e-2},  # G learns 10x faster than D
    "d-lr-10x": {"d_learning_rate": 1e-2},  # D learns 10x faster than G
    "d-wide-4x": {"discriminator": {"widths": (128, 256, 384), "dense_units": (1024,)}},  # a D 4x wider
    # The blog's D with batch norm, judging reals and fakes as one mixed batch: too strong from the start.
    "d-batch-norm-mixed": {"discriminator": {"batch_norm": True}, "d_batch": "mixed"},
}.items()}
# The workbook's own defaults (runs.default_config: half the blog's learning rates, an averaged G), as they
# are and with G learning 10x faster than D.
BALANCE_SETTINGS.update({"workbook": {}, "workbook-g-lr-10x": {"g_learning_rate": 5e-3}})


def compare_balance_rules(setting, rules, seeds, images, holdout, epochs: int, image_size: int = 32,
                          run_root=None, num_eval: int = 500, done=(), samples: dict | None = None,
                          **overrides) -> list[dict]:
    """Train ``setting`` (a name of :data:`BALANCE_SETTINGS` or a config dict) once per rule and seed.

    ``overrides`` change every run (e.g. smaller networks); their
    ``generator``/``discriminator`` arguments are merged with the setting's.
    Every run trains ``epochs`` epochs (equal steps) and is evaluated by
    :func:`train_and_evaluate`. Returns one row per run: the setting, rule,
    seed, the metrics and the fraction of steps whose D and G turns were
    skipped. Rows already in ``done`` (same setting, rule, seed, epochs and
    size) are not trained again. ``samples``, if given, is filled with each
    run's first 36 samples by ``"setting, rule, seed N"``.
    """
    name = setting if isinstance(setting, str) else "custom"
    config = BALANCE_SETTINGS[setting] if isinstance(setting, str) else setting
    finished = {(r["setting"], r["rule"], r["seed"], r["epochs"], r["image_size"]) for r in done}
    rows = []
    for seed in seeds:
        for rule in rules:
            if (name, rule, seed, epochs, image_size) in finished:
                continue
            label = f"{name}_{rule}_seed{seed}"
            run_config = {**config, **overrides, "image_size": image_size, "balance": rule, "seed": seed}
            for key in ("generator", "discriminator"):  # builder arguments merge: the setting's and the overrides'
                run_config[key] = {**config.get(key, {}), **overrides.get(key, {})}
            trained, results, generated = train_and_evaluate({label: run_config}, images, holdout, epochs=epochs,
                                                             run_root=run_root, num_eval=num_eval)
            if samples is not None:
                samples[f"{name}, {rule}, seed {seed}"] = generated[label][:36]
            steps = trained[label].steps
            rows.append({"setting": name, "rule": rule, "seed": seed, "image_size": image_size, **results[label],
                         "d_skipped": float(1 - np.mean([s["d_updated"] for s in steps])),
                         "g_skipped": float(1 - np.mean([s["g_updated"] for s in steps]))})
    return rows


def balance_table(rows: list[dict]) -> str:
    """A markdown table of :func:`compare_balance_rules` rows: mean and range over seeds per setting and rule."""
    lines = ["| setting | rule | seeds | steps | SWD x1e3 mean (min-max) | face rate mean (min-max) | "
             "diversity ratio mean (min-max) | D skipped | G skipped |", "|---|---|---|---|---|---|---|---|---|"]

    def spread(values, fmt):
        return f"{np.mean(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"

    for setting in dict.fromkeys(r["setting"] for r in rows):
        for rule in dict.fromkeys(r["rule"] for r in rows if r["setting"] == setting):
            mine = [r for r in rows if r["setting"] == setting and r["rule"] == rule]
            faces = [r["face_rate"] for r in mine if r.get("face_rate") is not None]
            lines.append(
                f"| {setting} | {rule} | {len(mine)} | {np.mean([r['steps'] for r in mine]):.0f} | "
                f"{spread([r['swd'] for r in mine], '.1f')} | {spread(faces, '.3f') if faces else 'n/a'} | "
                f"{spread([r['diversity_ratio'] for r in mine], '.2f')} | "
                f"{np.mean([r['d_skipped'] for r in mine]):.0%} | {np.mean([r['g_skipped'] for r in mine]):.0%} |")
    return "\n".join(lines)
