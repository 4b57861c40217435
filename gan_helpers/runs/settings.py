"""A run's settings: a typed, frozen schema (:class:`Settings`, one field per setting with its type, range and
default, checked in one place), what a run resolved apart from it (:class:`Resolved`), stored configs brought
up to date."""

from __future__ import annotations

import dataclasses
import json
import math

from gan_helpers import averaging, data, models
from gan_helpers.optimizers import RECIPES
from gan_helpers.runs.budget import check_budget  # noqa: F401  (runs.settings.check_budget, as before)

#: The precisions a run can compute in, with the Keras dtype policy its models are built under.
PRECISIONS = {"float32": "float32", "bfloat16": "mixed_bfloat16"}

#: How a run can spread its steps over devices (None: one device; gan_helpers.devices).
DISTRIBUTE = (None, "mirrored", "multi-worker")

#: What a run can train, each with its reference learning rate (the blog's for the GAN, the papers' for
#: the WGANs): the rate of a learning rate given as None. From the one table of rates, optimizers.RECIPES.
REFERENCE_RATES = {model: recipe.reference_rate for model, recipe in RECIPES.items()}

#: Each model's defaults where they differ from its reference (BENCHMARKS.md, "Recipes"): a GAN trains at
#: half the blog's learning rates and keeps an averaged generator. The WGANs keep their papers' settings.
MODEL_DEFAULTS = {"gan": {"d_learning_rate": RECIPES["gan"].default_rate,
                          "g_learning_rate": RECIPES["gan"].default_rate, "ema_decay": 0.999}}

#: The blog's recipe: RMSProp at its rate (1e-3) for both networks, no averaged generator.
#: Pass it to a GAN's config to train with the blog's recipe (the rule comparisons and failures of notebook 03).
BLOG_RECIPE = {"d_learning_rate": REFERENCE_RATES["gan"], "g_learning_rate": REFERENCE_RATES["gan"], "ema_decay": None}


# -- the checks a field can have: each raises one line naming the setting -------------------------------

def _whole(low, high=None):
    def check(key, value, _settings):
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            bounds = f"from {low} to {high:,}" if high is not None else f"of at least {low}"
            raise ValueError(f"{key} must be a whole number {bounds}. Received: {key}={value!r}")
    return check


def _is_number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def _number(key, value, _settings):
    if not _is_number(value):
        raise ValueError(f"{key} must be a number. Received: {key}={value!r}")


def _fraction(key, value, settings):
    _number(key, value, settings)
    if not 0 <= value < 1:
        raise ValueError(f"{key} must be a fraction in [0, 1). Received: {key}={value}")


def _name(key, value, _settings):
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a name (a string). Received: {key}={value!r}")


def _one_of(choices):
    def check(key, value, _settings):
        if value not in choices:
            raise ValueError(f"{key} must be one of {', '.join(map(str, choices))}. Received: {key}={value!r}")
    return check


#: The most parameters a network's widths may ask for (about 3 GB of weights, gradients and optimizer state
#: in float32): a larger request is refused before TensorFlow allocates it.
MAX_PARAMETERS = 200_000_000


def _arguments(key, value, _settings):
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be a JSON object of the builder's arguments, e.g. "
                         f'{{"widths": [64, 32]}}. Received: {key}={_short(value)}')
    widths = value.get("widths")
    if widths is None:
        return
    if not isinstance(widths, (list, tuple)) or not widths or not all(
            isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths):
        raise ValueError(f"{key}'s widths must be a list of positive whole numbers, e.g. [64, 32]. "
                         f"Received: widths={_short(widths)}")
    kernel = value.get("kernel_size", 5)
    kernel = kernel if isinstance(kernel, int) and kernel > 0 else 5
    parameters = sum(kernel * kernel * a * b for a, b in zip(widths, widths[1:])) + kernel * kernel * 3 * max(widths)
    if parameters > MAX_PARAMETERS:
        raise ValueError(f"{key}'s widths {_short(widths)} ask for about {parameters:.2g} parameters (at most "
                         f"{MAX_PARAMETERS:.0e}): the settings need more memory than this machine has. "
                         "Use smaller widths.")


def _short(value, limit: int = 120) -> str:
    """``repr(value)``, cut to ``limit`` characters (a message stays one readable line)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 5] + " ...]"


def _boolean(key, value, _settings):
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false. Received: {key}={value!r}")


def _image_size(_key, value, _settings):
    data.check_image_size(value)  # before any model is built: a wrong size must not cost memory first


def _rate(key, value, settings):
    if value is not None and not (_is_number(value) and value > 0):
        raise ValueError(f"{key} must be a positive number (or null: the model's reference rate, "
                         f"{REFERENCE_RATES[settings.model]:g}). Received: {key}={value!r}")


def _ema_decay(key, value, _settings):
    if value is not None:
        try:
            averaging.check_max_decay(value)
        except (ValueError, TypeError):
            raise ValueError("ema_decay must be a number in [0, 1) (0 or None: no averaged generator), "
                             f"e.g. 0.999. Received: ema_decay={value!r}") from None


def _precision(key, value, _settings):
    if value != "auto" and (not isinstance(value, str) or value not in PRECISIONS):
        raise ValueError(f"precision must be auto or one of {', '.join(PRECISIONS)}. Received: precision={value!r}")


def _lr_decay(key, value, _settings):
    if value is None:
        return
    pair = list(value) if isinstance(value, (list, tuple)) else None
    if not pair or len(pair) != 2 or not all(isinstance(n, int) and not isinstance(n, bool) for n in pair) \
            or not 0 <= pair[0] < pair[1]:
        raise ValueError(f"{key} must be null or two step counts [first, last] with 0 <= first < last, e.g. "
                         f"[2400, 4800]: both rates fall linearly to 0 from step first to step last. "
                         f"Received: {key}={_short(value)}")


def _optional(check):
    def optional(key, value, settings):
        if value is not None:
            check(key, value, settings)
    return optional


def _path(key, value, _settings):
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key} must be a path (a string) or null. Received: {key}={value!r}")


def _fingerprint(key, value, _settings):
    if value is not None and not (isinstance(value, dict) and set(value) == {"images", "names_sha256"}):
        raise ValueError(f"{key} must be what the run recorded, {{\"images\": N, \"names_sha256\": \"...\"}}, or "
                         f"null. Received: {key}={value!r}")


def _field(default, check, doc: str, compare: bool = True):
    """One setting: its default, its check (type and range) and what it means."""
    factory = {"default_factory": dict} if default == {} else {"default": default}
    return dataclasses.field(**factory, compare=compare, metadata={"check": check, "doc": doc})


#: The default of a setting whose default is the model's (:data:`MODEL_DEFAULTS`, else the reference).
MODEL_DEFAULT = "the model's default"


class _Checked:
    """Checks every field with its own check, in the fields' order: the one place a setting is validated."""

    def __post_init__(self):
        for field in dataclasses.fields(self):
            field.metadata["check"](field.name, getattr(self, field.name), self)


@dataclasses.dataclass(frozen=True)
class Settings(_Checked):
    """What the user sets: everything that makes a run this run and not another (two runs with equal
    ``Settings`` are the same run). Made from a config by :meth:`of`; checked when made.

    A learning rate of None is the model's reference rate (:data:`REFERENCE_RATES`), its only meaning; here
    it is held as that number, so a rate given as None and the same rate given by value are equal.
    """

    model: str = _field("gan", _one_of(tuple(REFERENCE_RATES)), "gan, wgan or wgan-gp")
    image_size: int = _field(64, _image_size, "the side of the square faces, even, 16 to 128")
    latent_dim: int = _field(100, _whole(1, 4096), "the length of G's noise vector")
    batch_size: int = _field(64, _whole(1, 65536), "real faces per step")
    balance: str = _field("margin", _name, "the GAN's balance rule (gan_helpers.balance)")
    margin: float = _field(0.3, _number, "the margin rule's margin")
    seed: int = _field(0, _whole(0), "every random choice of the run")
    d_learning_rate: float | None = _field(MODEL_DEFAULT, _rate, "D's rate; None: the reference rate")
    g_learning_rate: float | None = _field(MODEL_DEFAULT, _rate, "G's rate; None: the reference rate")
    generator: dict = _field({}, _arguments, "the generator builder's arguments")
    discriminator: dict = _field({}, _arguments, "the discriminator or critic builder's arguments")
    d_batch: str = _field("separate", _name, "GAN only: D scores reals and fakes as two batches, or 'mixed'")
    generator_architecture: str = _field("exercise", _one_of(tuple(models.GENERATORS)),
                                         "'exercise' (models.build_generator) or 'dcgan' (the WGAN reference's)")
    critic: str = _field("exercise", _one_of(tuple(models.CRITICS)),
                         "WGAN critics: 'exercise' (D without dropout or squashing) or 'dcgan' (DCGAN_D)")
    num_fixed: int = _field(64, _whole(1, 1024), "the fixed latent batch the monitor draws")
    holdout: float = _field(data.EVALUATION_HOLDOUT, _fraction, "people held out for evaluation; 0 trains on all")
    ema_decay: float | None = _field(MODEL_DEFAULT, _ema_decay, "the averaged generator's decay; 0 or None: none")
    mirror: bool = _field(False, _boolean, "random left-right flips of the training faces")
    lr_decay: list | None = _field(None, _lr_decay, "None, or [first, last]: both learning rates fall linearly "
                                   "from their value at step first to 0 at step last, where the run ends")
    fused: bool = _field(True, _boolean, "the generator's blocks as transposed convolutions (the same networks, "
                         "so not compared)", compare=False)
    precision: str = _field("auto", _precision, "'float32', 'bfloat16', or 'auto' (what the hardware computes)")
    distribute: str | None = _field(None, _one_of(DISTRIBUTE), "None, 'mirrored' or 'multi-worker'")
    replicas: int | None = _field(None, _optional(_whole(1, 1024)), "the replicas asked for; None: the strategy's")
    crop: float | None = _field(None, lambda *_: None, "the crop of the faces (data.parse_crop checks it)")
    limit: int | None = _field(None, lambda *_: None, "at most this many faces (data.load_dataset checks it)")

    def __post_init__(self):
        model_defaults = MODEL_DEFAULTS.get(self.model, {}) if isinstance(self.model, str) else {}
        for key in ("d_learning_rate", "g_learning_rate", "ema_decay"):
            if isinstance(getattr(self, key), str) and getattr(self, key) == MODEL_DEFAULT:
                object.__setattr__(self, key, model_defaults.get(key))
        if _is_number(self.ema_decay) and self.ema_decay == 0:
            object.__setattr__(self, "ema_decay", None)  # 0 turns averaging off, as None does
        if isinstance(self.lr_decay, tuple):  # as JSON holds it
            object.__setattr__(self, "lr_decay", list(self.lr_decay))
        for key in ("generator", "discriminator"):  # as JSON holds them: a tuple given is the list stored
            if isinstance(getattr(self, key), dict):
                object.__setattr__(self, key, json.loads(json.dumps(getattr(self, key), default=str)))
        super().__post_init__()
        for key in ("d_learning_rate", "g_learning_rate"):
            if getattr(self, key) is None:  # None: the reference rate, held as that number
                object.__setattr__(self, key, REFERENCE_RATES[self.model])

    def differing(self, other: Settings) -> list[str]:
        """The names of the settings that make ``other`` another run, sorted."""
        return sorted(f.name for f in dataclasses.fields(self) if f.compare
                      and getattr(self, f.name) != getattr(other, f.name))

    @classmethod
    def of(cls, config: dict) -> Settings:
        """The settings of a config (of :func:`default_config`, or a stored one): what the user asked for,
        not what the run resolved (an "auto" precision, the replicas it got)."""
        names = {field.name for field in dataclasses.fields(cls)}
        given = {k: v for k, v in config.items() if k in names}
        if str(config.get("precision_reason")).startswith("auto"):
            given["precision"] = "auto"
        if config.get("replicas_reason") != "given":
            given["replicas"] = None
        return cls(**given)


@dataclasses.dataclass(frozen=True)
class Resolved(_Checked):
    """What a run resolved or found, recorded apart from what the user set: never makes another run."""

    data_dir: str | None = _field(None, _path, "where the faces were found (the argument, LFW_DIR or a default)")
    dataset: dict | None = _field(None, _fingerprint, "which faces they are (data.fingerprint)")
    precision_reason: str | None = _field(None, _optional(_name), "why the precision: 'given', or 'auto: ...'")
    replicas_reason: str | None = _field(None, _optional(_name), "'given', or None: the strategy's count")


#: The keys of a config that are not settings: what the run resolved (:class:`Resolved`).
RECORDED = tuple(field.name for field in dataclasses.fields(Resolved))
#: The names of the settings.
_SETTINGS = tuple(field.name for field in dataclasses.fields(Settings))
#: The keys that a config has only when given (default_config leaves them out otherwise).
_ONLY_WHEN_GIVEN = ("crop", "limit")


def check_stored(config: dict, where) -> dict:
    """A stored run's settings (its config.json), completed by :func:`upgrade_config` and checked as new
    settings are: a wrong type is one line naming the setting and the file, never a TypeError later."""
    config = upgrade_config(config)
    missing = [f.name for f in dataclasses.fields(Settings) if f.name not in config and f.name not in _ONLY_WHEN_GIVEN]
    if missing:
        raise ValueError(f"{where} has no setting {missing[0]!r}; restore the file, or start a new run with --out.")
    try:  # the values as stored (a resolved precision, the replicas the run got) are checked as settings
        Settings(**{k: v for k, v in config.items() if k in _SETTINGS})
        Resolved(**{k: config.get(k) for k in RECORDED})
    except ValueError as error:
        raise ValueError(f"{where}: {error}; fix the file, or start a new run with --out.") from None
    return config


def default_config(**overrides) -> dict:
    """Everything a run needs to be rebuilt, as a dict of the :class:`Settings` (their defaults, then the
    model's, then ``overrides``) and what was recorded (:class:`Resolved`); "auto" precision resolved here
    (:func:`resolve_precision`)."""
    names = [field.name for field in dataclasses.fields(Settings) if field.name not in _ONLY_WHEN_GIVEN]
    unknown = set(overrides) - set(names) - set(_ONLY_WHEN_GIVEN) - set(RECORDED)
    if unknown:
        raise ValueError(f"Unknown run settings: {', '.join(sorted(unknown))}")
    settings = Settings(**{k: v for k, v in overrides.items() if k not in RECORDED})
    resolved = Resolved(**{k: v for k, v in overrides.items() if k in RECORDED})
    # The dict keeps what was given (a rate of None stays None, the reference rate; the builders' arguments
    # as given), the model's defaults for what was not, and the settings' own values (ema_decay 0 is None).
    model_defaults = MODEL_DEFAULTS.get(settings.model, {})
    as_given = {"d_learning_rate": model_defaults.get("d_learning_rate"), "generator": {}, "discriminator": {},
                "g_learning_rate": model_defaults.get("g_learning_rate")}
    config = {k: overrides.get(k, as_given[k]) if k in as_given else getattr(settings, k) for k in names}
    config.update({k: overrides[k] for k in (*_ONLY_WHEN_GIVEN, *RECORDED) if k in overrides})
    given = "precision" in overrides and resolved.precision_reason is None
    config["precision"], config["precision_reason"] = resolve_precision(
        settings.precision, "given" if given else resolved.precision_reason)
    if settings.replicas is not None and resolved.replicas_reason is None:
        config["replicas_reason"] = "given"
    return config


def resolve_precision(precision: str, reason=None, budget=None, model: str = "gan",
                      steps_per_epoch: int | None = None) -> tuple[str, str | None]:
    """``(precision, reason)``: "auto" resolved for this machine and, where ``budget`` is known (the command
    line's ``train``), for a run of that length (:func:`gan_helpers.devices.auto_precision`), the one place
    it is; any other precision is kept with ``reason``."""
    if precision != "auto":
        return precision, reason
    from gan_helpers.devices import auto_precision

    return auto_precision(budget, model, steps_per_epoch)


def resolved_rates(config: dict) -> dict:
    """``config`` with a learning rate of None written as the model's reference rate, the rate it trains
    with (the model factory takes its rates from here)."""
    reference = REFERENCE_RATES.get(config.get("model"))
    return {**config, **{k: reference if config.get(k) is None else config[k]
                         for k in ("d_learning_rate", "g_learning_rate")}}


def upgrade_config(config: dict) -> dict:
    """A stored run's settings, completed for what changed since it was written.

    Runs written before ``holdout`` existed trained on every face; runs
    written before ``ema_decay``, ``mirror``, ``lr_decay`` and ``precision`` existed had no
    averaged generator, no mirrored faces, constant rates and computed in float32. Runs
    written before ``generator_architecture`` existed used the exercise's
    generator, and their exercise critic had build_discriminator's dropout
    (0.2, 0.5), which ``build_critic`` no longer adds by default: keep it, so
    the rebuilt critic is the one that was trained (and its checkpoint fits).
    Runs written before the precision's reason was recorded took the default
    precision (their settings ask for "auto", and they keep what they computed in).
    """
    config = {**config}
    # Settings added since: runs stored before them trained without them (whatever the defaults become).
    config.setdefault("ema_decay", None)
    config.setdefault("d_learning_rate", None)  # None: the reference rate (a GAN's 1e-3), whatever the defaults become
    config.setdefault("g_learning_rate", None)
    config.setdefault("mirror", False)
    config.setdefault("lr_decay", None)
    config.setdefault("fused", False)  # runs stored before it computed the blocks as written
    config.setdefault("precision", "float32")
    if config.get("precision_reason") is None:
        config["precision_reason"] = "auto: stored before the reason was recorded"
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
