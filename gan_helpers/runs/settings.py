"""A run's settings: the defaults as data, their checks, stored configs brought up to date, budgets."""

from __future__ import annotations

import math

import numpy as np

from gan_helpers import averaging, data, models

#: The precisions a run can compute in, with the Keras dtype policy its models are built under.
PRECISIONS = {"float32": "float32", "bfloat16": "mixed_bfloat16"}

#: How a run can spread its steps over devices (None: one device; gan_helpers.devices).
DISTRIBUTE = (None, "mirrored", "multi-worker")


def _whole(config, key, low, high=None):
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bounds = f"from {low} to {high:,}" if high is not None else f"of at least {low}"
        raise ValueError(f"{key} must be a whole number {bounds}. Received: {key}={value!r}")


def _number(config, key):
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{key} must be a number. Received: {key}={value!r}")


def _check_types(config: dict) -> None:
    """The settings' types and ranges, each named, before anything is built or written."""
    if config.get("data_dir") is not None and not isinstance(config["data_dir"], str):
        raise ValueError(f"data_dir must be a path (a string) or null. Received: data_dir={config['data_dir']!r}")
    _whole(config, "latent_dim", 1, 4096)
    _whole(config, "batch_size", 1, 65536)
    _whole(config, "seed", 0)
    _whole(config, "num_fixed", 1, 1024)
    _number(config, "margin")
    _number(config, "holdout")
    for key in ("generator", "discriminator"):
        if not isinstance(config[key], dict):
            raise ValueError(f"{key} must be a JSON object of the builder's arguments, e.g. "
                             f'{{"widths": [64, 32]}}. Received: {key}={config[key]!r}')
    for key in ("model", "precision", "balance", "d_batch", "generator_architecture", "critic"):
        if not isinstance(config[key], str):
            raise ValueError(f"{key} must be a name (a string). Received: {key}={config[key]!r}")
    if config.get("replicas") is not None:
        _whole(config, "replicas", 1, 1024)
    recorded = config.get("dataset")
    if recorded is not None and not (isinstance(recorded, dict) and set(recorded) == {"images", "names_sha256"}):
        raise ValueError(f"dataset must be what the run recorded, {{\"images\": N, \"names_sha256\": \"...\"}}, or "
                         f"null. Received: dataset={recorded!r}")


def check_stored(config: dict, where) -> dict:
    """A stored run's settings (its config.json), completed by :func:`upgrade_config` and checked as new
    settings are: a wrong type is one line naming the setting and the file, never a TypeError later."""
    config = upgrade_config(config)
    try:
        _check_types(config)
    except KeyError as error:
        raise ValueError(f"{where} has no setting {error.args[0]!r}; restore the file, or start a new run with "
                         "--out.") from None
    except ValueError as error:
        raise ValueError(f"{where}: {error}; fix the file, or start a new run with --out.") from None
    return config


def default_config(**overrides) -> dict:
    """Everything a run needs to be rebuilt; every key can be overridden."""
    config = {
        "model": "gan",
        "image_size": 64,
        "latent_dim": 100,
        "batch_size": 64,
        "balance": "margin",
        "margin": 0.3,
        "seed": 0,
        # None: the model's reference rate (REFERENCE_RATES: GAN 1e-3, the blog's; WGAN 5e-5; WGAN-GP 1e-4).
        # A GAN's default is MODEL_DEFAULTS["gan"]'s 5e-4 unless these are given (None included).
        "d_learning_rate": None,
        "g_learning_rate": None,
        "generator": {},
        "discriminator": {},
        "d_batch": "separate",  # GAN only: D scores reals and fakes as two batches, or "mixed" as one
        # "exercise" (models.build_generator) or "dcgan" (the WGAN reference's DCGAN_G); "generator" holds
        # the chosen builder's arguments (DCGAN_G: width, batch_norm).
        "generator_architecture": "exercise",
        # WGAN critics: "exercise" (the exercise's D without dropout or squashing) or "dcgan" (the reference's
        # DCGAN_D: batch norm for "wgan", none for "wgan-gp", unless "discriminator" sets batch_norm).
        "critic": "exercise",
        "num_fixed": 64,
        # Training faces loaded from data_dir: the people held out for evaluation (data.split_by_person,
        # seed 0) are left out, so `evaluate` compares with people the run never saw. 0 trains on all.
        "holdout": data.EVALUATION_HOLDOUT,
        # The averaged generator (gan_helpers.averaging): the largest decay of the moving average of G's
        # weights, e.g. 0.999; 0 or None trains without one. When set, samples, the monitor, snapshots,
        # metrics and generator.keras use the average; the checkpoint keeps both. A GAN's default is
        # MODEL_DEFAULTS["gan"]'s 0.999 unless ema_decay is given.
        "ema_decay": None,
        # Random left-right flips of the training faces (ProGAN's mirror augmentation), seeded per epoch.
        "mirror": False,
        # The generator's "unpool by 2, then a full convolution" blocks computed as the one stride-2 transposed
        # convolution they equal (gan_helpers.layers.fuse_unpooling): the same networks, variables and saved
        # generator.keras, fewer multiply-adds; false runs the two layers as written.
        "fused": True,
        # "float32", or "bfloat16": the models compute in bfloat16 (Keras' "mixed_bfloat16" policy) while
        # their weights, the optimizers' state, the losses and the success rates stay float32.
        # "auto" (the default): bfloat16 where the hardware has bfloat16 units, float32 elsewhere
        # (gan_helpers.devices.auto_precision); the run records what was chosen, and why, in precision_reason.
        "precision": "auto",
        "precision_reason": None,
        # tf.distribute: None (one device), "mirrored" (every visible GPU, or the CPU split into `replicas`
        # logical devices) or "multi-worker" (MultiWorkerMirroredStrategy, configured by TF_CONFIG).
        # `replicas`: the replicas in sync the run trained with (recorded when it starts).
        "distribute": None,
        "replicas": None,
    }
    # Recorded, not set: where the faces are and which they are (data.fingerprint), once the run loads them.
    unknown = set(overrides) - set(config) - {"data_dir", "crop", "limit", "dataset"}
    if unknown:
        raise ValueError(f"Unknown run settings: {', '.join(sorted(unknown))}")
    config.update(overrides)
    _check_types(config)
    if config["model"] not in REFERENCE_RATES:
        raise ValueError(f"model must be one of {', '.join(REFERENCE_RATES)}. Received: model={config['model']!r}")
    # The model's recipe, for the settings not given (a stored run's config gives them all, so it is kept).
    model_defaults = MODEL_DEFAULTS.get(config["model"], {})
    config.update({key: value for key, value in model_defaults.items() if key not in overrides})
    if config["generator_architecture"] not in models.GENERATORS:
        raise ValueError(f"generator_architecture must be one of {', '.join(models.GENERATORS)}. "
                         f"Received: generator_architecture={config['generator_architecture']!r}")
    if config["critic"] not in models.CRITICS:
        raise ValueError(f"critic must be one of {', '.join(models.CRITICS)}. Received: critic={config['critic']!r}")
    # Checked here, before any model is built: a wrong size must not cost memory first.
    data.check_image_size(config["image_size"])
    if not 0 <= config["holdout"] < 1:
        raise ValueError(f"holdout must be a fraction in [0, 1). Received: holdout={config['holdout']}")
    for key in ("d_learning_rate", "g_learning_rate"):
        rate = config[key]
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float))
                                 or not math.isfinite(rate) or rate <= 0):
            raise ValueError(f"{key} must be a positive number (or null: the model's reference rate, "
                             f"{REFERENCE_RATES[config['model']]:g}). Received: {key}={rate!r}")
    if config["ema_decay"] == 0:
        config["ema_decay"] = None  # 0 turns averaging off, as None does; one value, so configs compare equal
    if config["ema_decay"] is not None:
        try:
            averaging.check_max_decay(config["ema_decay"])
        except ValueError:
            raise ValueError("ema_decay must be a number in [0, 1) (0 or None: no averaged generator), "
                             f"e.g. 0.999. Received: ema_decay={config['ema_decay']!r}") from None
    if not isinstance(config["fused"], bool):
        raise ValueError(f"fused must be true or false. Received: fused={config['fused']!r}")
    if not isinstance(config["mirror"], bool):
        raise ValueError(f"mirror must be true or false. Received: mirror={config['mirror']!r}")
    if config["distribute"] not in DISTRIBUTE:
        raise ValueError(f"distribute must be one of {', '.join(map(str, DISTRIBUTE))}. "
                         f"Received: distribute={config['distribute']!r}")
    if config["replicas"] is not None and (isinstance(config["replicas"], bool)
                                           or not isinstance(config["replicas"], int) or config["replicas"] < 1):
        raise ValueError(f"replicas must be a whole number of at least 1. Received: replicas={config['replicas']!r}")
    if config["precision"] == "auto":
        from gan_helpers.devices import auto_precision

        config["precision"], config["precision_reason"] = auto_precision()
    elif "precision" in overrides and overrides.get("precision_reason") is None:
        config["precision_reason"] = "given"
    if config["precision"] not in PRECISIONS:
        raise ValueError(f"precision must be auto or one of {', '.join(PRECISIONS)}. "
                         f"Received: precision={config['precision']!r}")
    return config




#: What a run can train, each with its reference learning rate (the blog's for the GAN, the papers' for
#: the WGANs): the rate of a run whose config gives None.
REFERENCE_RATES = {"gan": 1e-3, "wgan": 5e-5, "wgan-gp": 1e-4}

#: Each model's defaults where they differ from its reference (BENCHMARKS.md, "Recipes"): a GAN trains at
#: half the blog's learning rates and keeps an averaged generator. The WGANs keep their papers' settings.
MODEL_DEFAULTS = {"gan": {"d_learning_rate": 5e-4, "g_learning_rate": 5e-4, "ema_decay": 0.999}}

#: The blog's recipe: RMSProp at 1e-3 for both networks, no averaged generator.
#: Pass it to a GAN's config to train with the blog's recipe (the rule comparisons and failures of notebook 03).
BLOG_RECIPE = {"d_learning_rate": 1e-3, "g_learning_rate": 1e-3, "ema_decay": None}


def resolved_rates(config: dict) -> dict:
    """``config`` with a learning rate of None written as the model's reference rate, the rate it trains
    with (the model factory takes its rates from here), so that a folder stored with None and a config
    asking for the same rate by value are the same run."""
    reference = REFERENCE_RATES.get(config.get("model"))
    return {**config, **{k: reference if config.get(k) is None else config[k]
                         for k in ("d_learning_rate", "g_learning_rate")}}




def upgrade_config(config: dict) -> dict:
    """A stored run's settings, completed for what changed since it was written.

    Runs written before ``holdout`` existed trained on every face; runs
    written before ``ema_decay``, ``mirror`` and ``precision`` existed had no
    averaged generator, no mirrored faces and computed in float32. Runs
    written before ``generator_architecture`` existed used the exercise's
    generator, and their exercise critic had build_discriminator's dropout
    (0.2, 0.5), which ``build_critic`` no longer adds by default: keep it, so
    the rebuilt critic is the one that was trained (and its checkpoint fits).
    """
    config = {**config}
    # Settings added since: runs stored before them trained without them (whatever the defaults become).
    config.setdefault("ema_decay", None)
    config.setdefault("d_learning_rate", None)  # None: the reference rate (a GAN's 1e-3), whatever the defaults become
    config.setdefault("g_learning_rate", None)
    config.setdefault("mirror", False)
    config.setdefault("fused", False)  # runs stored before it computed the blocks as written
    config.setdefault("precision", "float32")
    config.setdefault("distribute", None)
    config.setdefault("replicas", None)
    if "holdout" not in config:
        config["holdout"] = 0.0  # runs from before the holdout setting trained on every face
    if "generator_architecture" in config:
        return config
    config["generator_architecture"] = "exercise"
    if config.get("model") in ("wgan", "wgan-gp") and config.get("critic", "exercise") == "exercise":
        config["discriminator"] = {"conv_dropout": 0.2, "dense_dropout": 0.5, **config.get("discriminator", {})}
    return config


def check_budget(epochs=None, minutes=None, done_epochs: int = 0, generator_iterations=None,
                 done_iterations: int = 0, steps=None, done_steps: int = 0) -> None:
    """A training budget must be given and must be something that trains."""
    if epochs is None and minutes is None and generator_iterations is None and steps is None:
        raise ValueError("Give a budget: --minutes M or --epochs E (epochs=E or minutes=M in Python).")
    if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, (int, float))
                                or not math.isfinite(minutes) or minutes <= 0):
        raise ValueError(f"--minutes must be a positive number. Received: {minutes}")
    if epochs is not None:
        _check_total(epochs, done_epochs, "--epochs", "epochs", ", or --minutes")
    if generator_iterations is not None:
        _check_total(generator_iterations, done_iterations, "generator_iterations", "generator iterations")
    if steps is not None:
        _check_total(steps, done_steps, "steps", "training steps")


def _check_total(value, done: int, name: str, counted: str, alternative: str = "") -> None:
    """A budget that counts the run's total (epochs, generator iterations, steps): a whole number above ``done``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1. Received: {value}")
    if value <= done:
        raise ValueError(f"{name} counts the run's total {counted}, and this run already has {done}; "
                         f"give more than {done}{alternative}.")

