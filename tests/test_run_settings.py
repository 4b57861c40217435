"""A run's settings in one place each: the rates' table, the budget as one value, the run folder's checks."""

import ast
import json
from pathlib import Path

import pytest

from gan_helpers.runs.budget import Budget

PACKAGE = Path(__file__).resolve().parents[1] / "gan_helpers"
#: The rates of optimizers.RECIPES, and the modules allowed to write them: the table itself, the toy problems'
#: own table (2-D points, not faces) and a check's crafted step.
RATES = {1e-3, 5e-4, 5e-5, 1e-4}
RATE_HOMES = {"optimizers.py", "toy.py", "checks/_discriminator.py"}


def _rate_literals(tree) -> list[int]:
    """Lines where a rate is written as a learning rate: a parameter's default, a keyword, a dict value or an
    optimizer's first argument."""
    def is_rate(node):
        return isinstance(node, ast.Constant) and type(node.value) is float and node.value in RATES

    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arguments):
            lines += [d.lineno for d in node.defaults + node.kw_defaults if d is not None and is_rate(d)]
        elif isinstance(node, ast.Call):
            lines += [k.value.lineno for k in node.keywords if "rate" in (k.arg or "") and is_rate(k.value)]
            lines += [a.lineno for a in node.args[:1] if is_rate(a)]
        elif isinstance(node, ast.Dict):
            lines += [v.lineno for k, v in zip(node.keys, node.values)
                      if isinstance(k, ast.Constant) and "rate" in str(k.value) and is_rate(v)]
    return lines


def test_each_learning_rate_is_written_once_in_the_optimizers_table():
    found = {str(path.relative_to(PACKAGE)): lines for path in sorted(PACKAGE.rglob("*.py"))
             if str(path.relative_to(PACKAGE)) not in RATE_HOMES
             and (lines := _rate_literals(ast.parse(path.read_text())))}
    assert not found, f"learning rates written outside gan_helpers/optimizers.py's RECIPES: {found}"


def test_the_rate_finder_finds_a_rate():
    assert _rate_literals(ast.parse("def f(learning_rate=5e-5): return RMSprop(1e-3)")) == [1, 1]
    assert _rate_literals(ast.parse("x = {'d_learning_rate': 5e-4}")) == [1]
    assert _rate_literals(ast.parse("x = 1e-3 < tolerance")) == []


def test_the_rates_come_from_one_table():
    from gan_helpers import optimizers, runs, wgan

    assert runs.REFERENCE_RATES == {m: r.reference_rate for m, r in optimizers.RECIPES.items()}
    assert runs.MODEL_DEFAULTS["gan"]["d_learning_rate"] == optimizers.RECIPES["gan"].default_rate
    assert float(wgan.reference_rmsprop().learning_rate) == pytest.approx(optimizers.RECIPES["wgan"].reference_rate)
    assert float(wgan.reference_adam().learning_rate) == pytest.approx(optimizers.RECIPES["wgan-gp"].reference_rate)


def test_a_budget_is_one_value_checked_once():
    with pytest.raises(ValueError, match="Give a budget"):
        Budget().check()
    with pytest.raises(ValueError, match="counts the run's total epochs, and this run already has 3"):
        Budget(epochs=3).check(done_epochs=3)
    with pytest.raises(ValueError, match="multi-worker run needs an epoch budget"):
        Budget(minutes=5).check(distribute="multi-worker")
    assert Budget(epochs=4).check(distribute="multi-worker") == Budget(epochs=4)
    assert Budget(minutes=10).resume_command("my run", used_minutes=2) == \
        "python -m gan_helpers train --resume 'my run' --minutes 8"


def test_the_command_line_holds_no_resume_lock_or_budget_logic():
    tree = ast.parse((PACKAGE / "cli.py").read_text())
    names = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    names |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert not names & {"lock_run_folder", "unlock_run_folder", "check_new_run_folder", "check_writable",
                        "read_config", "check_budget"}, names & {"lock_run_folder", "check_budget"}


def test_a_config_that_lost_the_averaged_generator_is_refused_in_one_line(drawn, tmp_path):
    """Issue 39: ``"ema_decay": null`` in config.json beside a checkpoint with an averaged generator."""
    from helpers import tiny_models

    from gan_helpers import runs

    small = {"image_size": 32, "latent_dim": 16, "batch_size": 16, "precision": "float32", "ema_decay": 0.9,
             "generator": {"widths": [16, 8]}, "discriminator": {"widths": [8, 8, 8], "dense_units": [16]}}
    with tiny_models():
        runs.Run(small, tmp_path / "r", images=drawn[:32]).train(epochs=1, verbose=0)
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    (tmp_path / "r" / "config.json").write_text(json.dumps({**config, "ema_decay": None}))
    with pytest.raises(ValueError, match=r"holds an averaged generator, but the run's config.json has no ema_decay") \
            as error:
        runs.Run.resume(tmp_path / "r", images=drawn[:32])
    assert "\n" not in str(error.value) and "0.999" in str(error.value)


def test_the_package_passes_the_linter():
    """pyproject.toml's [tool.ruff]: the project's line length (120) and pyflakes' and pycodestyle's errors."""
    import shutil
    import subprocess

    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (requirements-instructor.txt installs it): pip install ruff")
    result = subprocess.run([ruff, "check", "--output-format", "concise", "gan_helpers", "tests/test_run_settings.py"],
                            cwd=PACKAGE.parent, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]


# -- the settings' schema ---------------------------------------------------------

def test_settings_are_a_frozen_schema_checked_when_made():
    import dataclasses

    from gan_helpers.runs.settings import Resolved, Settings

    settings = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.seed = 1
    for field in dataclasses.fields(Settings) + dataclasses.fields(Resolved):
        assert callable(field.metadata["check"]) and field.metadata["doc"], field.name
    with pytest.raises(ValueError,
                       match=r"batch_size must be a whole number from 1 to 65,536\. Received: batch_size=0"):
        Settings(batch_size=0)
    with pytest.raises(ValueError, match="data_dir must be a path"):
        Resolved(data_dir=5)
    # A GAN's default rates are its recipe's; None is the reference rate, its one meaning, held as that number.
    assert (settings.d_learning_rate, settings.ema_decay) == (5e-4, 0.999)
    assert Settings(d_learning_rate=None).d_learning_rate == 1e-3 == Settings(d_learning_rate=1e-3).d_learning_rate
    assert Settings(model="wgan").d_learning_rate == 5e-5 and Settings(model="wgan").ema_decay is None


def test_a_config_s_settings_are_what_the_user_set_and_compare_by_equality():
    from gan_helpers import runs
    from gan_helpers.runs.settings import Settings

    config = runs.default_config(seed=3, generator={"widths": (16, 8)})
    assert config["precision"] in runs.PRECISIONS and config["precision_reason"].startswith("auto")
    settings = Settings.of(config)
    assert settings.precision == "auto" and settings.replicas is None  # what was asked, not what was resolved
    stored = json.loads(json.dumps({**config, "replicas": 4, "data_dir": "/elsewhere", "fused": False}))
    assert Settings.of(stored) == settings  # found, resolved or computed otherwise: the same run
    assert Settings.of({**stored, "seed": 4}) != settings
    assert Settings.of(runs.default_config(seed=3, precision="float32")).differing(settings) == ["generator",
                                                                                               "precision"]
    given = runs.default_config(distribute="mirrored", replicas=2)
    assert Settings.of({**given, "replicas": 2}).replicas == 2


def test_open_compares_the_settings_by_equality():
    """Run.open has no key list and no normalisation of its own: Settings equality decides."""
    import inspect

    from gan_helpers.runs import run

    source = inspect.getsource(run.Run.open)
    assert "stored != wanted" in source and "Settings.of" in source
    assert not hasattr(__import__("gan_helpers.runs.settings", fromlist=["x"]), "differences")


# -- no long functions -------------------------------------------------------------

#: Functions allowed over the limit: the checks' message tables (one check and its message after another).
LONG_FUNCTION_HOMES = ("checks/",)
MAX_FUNCTION_LINES = 60


def _long_functions(text: str) -> list[tuple[str, int]]:
    """``(name, lines)`` of every function over MAX_FUNCTION_LINES, outside the code exported from the notebooks
    (their source is the notebook, and the exercise's length)."""
    exported, start = [], None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("# %% exported:"):
            start = number
        elif line.startswith("# %% end of exported code") and start is not None:
            exported.append((start, number))
            start = None
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines = node.end_lineno - node.lineno + 1
            if lines > MAX_FUNCTION_LINES and not any(a <= node.lineno <= b for a, b in exported):
                found.append((node.name, lines))
    return found


def test_no_function_is_longer_than_sixty_lines():
    found = {str(path.relative_to(PACKAGE)): long for path in sorted(PACKAGE.rglob("*.py"))
             if not str(path.relative_to(PACKAGE)).startswith(LONG_FUNCTION_HOMES)
             and (long := _long_functions(path.read_text()))}
    assert not found, f"functions over {MAX_FUNCTION_LINES} lines (split them): {found}"


def test_the_function_measure_finds_a_long_function():
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    assert _long_functions(f"def long():\n{body}") == [("long", MAX_FUNCTION_LINES + 1)]
    assert _long_functions(f"def short():\n{body[:-12]}") == []
    exported = f"# %% exported: long (notebooks/x.ipynb)\ndef long():\n{body}# %% end of exported code\n"
    assert _long_functions(exported) == []


def test_widths_that_cannot_fit_in_memory_are_refused_in_one_short_line():
    """Issue 39: widths [100000000, 10] failed deep in TensorFlow (ResourceExhaustedError) after allocating;
    a long list gave a 1,268-character line."""
    from gan_helpers import runs

    huge = r"generator's widths \[100000000, 10\] ask for about 3.2e\+10 parameters"
    with pytest.raises(ValueError, match=huge) as error:
        runs.default_config(generator={"widths": [100000000, 10]})
    assert len(str(error.value)) < 250
    with pytest.raises(ValueError, match="list of positive whole numbers") as error:
        runs.default_config(discriminator={"widths": [64] * 300 + [-1]})
    assert len(str(error.value)) < 250
    assert runs.default_config(generator={"widths": [512, 256, 128]})["generator"]["widths"] == [512, 256, 128]


def test_lr_decay_falls_linearly_to_zero_ends_the_run_and_resumes_on_the_same_schedule(drawn, tmp_path):
    """``lr_decay [first, last]``: each step's rates against the linear formula, across a resume; the run
    stops at ``last`` and refuses to train past it in one line."""
    import keras
    from helpers import tiny_models

    from gan_helpers import runs

    class Rates(keras.callbacks.Callback):  # runs after the run's own callbacks: the rates the step uses
        seen = []

        def on_train_batch_begin(self, batch, logs=None):
            self.seen.append((float(self.model.d_optimizer.learning_rate),
                              float(self.model.g_optimizer.learning_rate)))

    small = {"image_size": 32, "latent_dim": 16, "batch_size": 8, "precision": "float32", "lr_decay": [3, 7],
             "d_learning_rate": 2e-3, "g_learning_rate": 1e-3,
             "generator": {"widths": [16, 8]}, "discriminator": {"widths": [8, 8, 8], "dense_units": [16]}}
    with tiny_models():
        run = runs.Run(small, tmp_path / "r", images=drawn[:32])
        run.train(steps=5, verbose=0, callbacks=[Rates()])
        assert len(run.steps) == 5
        resumed = runs.Run.resume(tmp_path / "r", images=drawn[:32])
        resumed.train(epochs=100, verbose=0, callbacks=[Rates()])
    assert len(resumed.steps) == 7, "the run ends where its rates reach 0"
    factors = [min(1.0, max(0.0, (7 - step) / (7 - 3))) for step in range(7)]  # 1 1 1 1 .75 .5 .25
    expected = [rate * f for f in factors for rate in (2e-3, 1e-3)]
    assert [rate for pair in Rates.seen for rate in pair] == pytest.approx(expected)
    with pytest.raises(ValueError, match=r"fell to 0 at step 7 .* Start a new run with a later lr_decay") as error:
        runs.Run.resume(tmp_path / "r", images=drawn[:32]).train(minutes=1, verbose=0)
    assert "\n" not in str(error.value)
