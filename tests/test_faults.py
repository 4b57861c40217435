"""What happens when things go wrong: runs, checkpoints, the command line.

CLI behaviour is tested in a
subprocess, as a user meets it; the rest with unit tests. The data
pipeline's faults (16-bit PNGs, damaged caches, crops, symlink loops) are
in test_data.py.
"""

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from gan_helpers import data, files, models, runs, sampling
from gan_helpers._quiet import import_tensorflow
from helpers import config_json, default_sigint, expect_collapse, one_line_error, run_cli

tf = import_tensorflow()
import keras  # noqa: E402

# The blog's recipe (runs.BLOG_RECIPE: lr 1e-3, no averaged G): these tests are about the training's
# mechanics, which the tiny models show at that rate; tests/test_quality.py covers the default's averaged G.
SMALL = {"image_size": 32, "batch_size": 16, "latent_dim": 16,
         "generator": {"widths": (16, 8)}, "discriminator": {"widths": (8, 8, 8), "dense_units": (16,)},
         **runs.BLOG_RECIPE}
SMALL_JSON = config_json(SMALL)


def train_cli(faces_dir, out, *extra, env=None):
    return run_cli("train", "--data", str(faces_dir), "--size", "32", "--crop", "0", "--out", str(out),
               "--config", SMALL_JSON, "--quiet", *extra, **(env or {}))


# -- data loss and stuck runs -------------------------------------------------

@pytest.mark.slow
def test_a_new_run_refuses_a_folder_holding_files_it_would_write(faces_dir, tmp_path, cli_env):
    out = tmp_path / "copy_of_pretrained"
    out.mkdir()
    (out / "generator.keras").write_bytes(b"precious")
    (out / "history.csv").write_text("epoch\n1\n")
    result = train_cli(faces_dir, out, "--epochs", "1", env=cli_env)
    one_line_error(result, "generator.keras", "history.csv", "another --out")
    assert (out / "generator.keras").read_bytes() == b"precious"
    assert (out / "history.csv").read_text() == "epoch\n1\n"
    with pytest.raises(FileExistsError, match="would overwrite"):
        runs.Run(SMALL, out, images=np.zeros((32, 32, 32, 3), np.uint8)).train(epochs=1, verbose=0)


def test_unrelated_files_do_not_block_a_run_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    assert files.check_new_run_folder(tmp_path) == tmp_path


@pytest.mark.slow
@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_in_the_first_epoch_saves_and_prints_a_resume_command_that_works(
        tmp_path, cli_env, signum, status):
    import shlex

    from gan_helpers.synthetic import make_face_folder

    # Enough small batches that the first epoch lasts a few seconds.
    folder = make_face_folder(tmp_path / "many", people=20, per_person=30, size=40)
    out = tmp_path / "my run"  # a space: the printed command must quote it
    slow = json.dumps({**json.loads(SMALL_JSON), "batch_size": 2})
    process = subprocess.Popen([sys.executable, "-m", "gan_helpers", "train", "--data", str(folder), "--size", "32",
                                "--crop", "0", "--out", str(out), "--config", slow, "--epochs", "1", "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **cli_env}, preexec_fn=default_sigint)
    deadline = time.monotonic() + 120
    while not (out / "config.json").exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    time.sleep(1.0)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == status, (process.returncode, stderr)
    assert (out / "generator.keras").exists() and not (out / runs.CHECKPOINT).exists()
    if signum == signal.SIGTERM:
        assert "Terminated (SIGTERM); the run is saved." in stderr, stderr
    # --out refuses, pointing at --resume; the printed command, pasted, continues the run.
    one_line_error(train_cli(folder, out, "--epochs", "1", env=cli_env), "--resume")
    command = shlex.split(stdout.split("Resume with: ")[1].splitlines()[0])
    assert command[:4] == ["python", "-m", "gan_helpers", "train"] and command[5] == str(out), command
    assert "--epochs" in command or "--minutes" in command, command  # a budget, or it would be refused
    resumed = run_cli(*command[3:], "--quiet", **cli_env)
    assert resumed.returncode == 0, resumed.stderr
    assert "starting it from epoch 0" in resumed.stdout and "Trained 1 epoch(s)" in resumed.stdout
    assert (out / runs.CHECKPOINT).exists()


def test_an_interrupted_save_keeps_the_previous_generator_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "generator.keras"
    target.write_bytes(b"the previous generator")
    g = models.build_generator(latent_dim=8, image_size=32, widths=(8, 8))

    def save_half_then_ctrl_c(path, *args, **kwargs):
        Path(path).write_bytes(b"half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(g, "save", save_half_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        runs.save_model(g, target)
    assert target.read_bytes() == b"the previous generator"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["generator.keras"]


def test_every_run_file_goes_through_an_atomic_write(drawn, tmp_path, monkeypatch):
    written = []
    real = files.atomic_path

    def recording(path):
        written.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(files, "atomic_path", recording)
    run = runs.Run(SMALL, tmp_path / "r", images=drawn[:32])
    with expect_collapse():
        run.train(epochs=1, verbose=0)
    assert {"config.json", "checkpoint.npz", "history.csv", "steps.csv", "generator.keras"} <= set(written)
    assert not [p for p in (tmp_path / "r").iterdir() if files.is_temporary(p)]


def test_a_killed_checkpoint_write_leaves_nothing_behind_after_resume(drawn, tmp_path):
    out = tmp_path / "r"
    run = runs.Run(SMALL, out, images=drawn[:32])
    with expect_collapse():
        run.train(epochs=2, verbose=0)
    # What SIGKILL between the CSVs and the checkpoint (old order), or in the middle of a write, leaves:
    stray = out / f".checkpoint.4242{files.PARTIAL}.npz"
    stray.write_bytes(b"half")
    (out / ".history.csv.tmp").write_text("old-style leftover")
    with open(out / "history.csv", "a") as f:
        f.write("3,99,1.0,0" + ",0" * 20 + "\n")  # an epoch the checkpoint does not have
    resumed = runs.Run.resume(out, images=drawn[:32])
    assert not stray.exists() and not (out / ".history.csv.tmp").exists()
    assert [row["epoch"] for row in runs.read_csv(out / "history.csv")] == [1, 2]
    with expect_collapse():
        resumed.train(epochs=3, verbose=0)
    epochs = [row["epoch"] for row in runs.read_csv(out / "history.csv")]
    assert epochs == [1, 2, 3]
    assert len(runs.read_csv(out / "steps.csv")) == len(resumed.steps) == 3 * (32 // 16)


# -- damaged checkpoints ------------------------------------------------------

def _damage(path: Path, how: str):
    content = path.read_bytes()
    if how == "truncated":
        path.write_bytes(content[: len(content) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "flipped":
        middle = len(content) // 2
        path.write_bytes(content[:middle] + bytes(255 - b for b in content[middle:middle + 64])
                         + content[middle + 64:])
    elif how == "random":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, len(content), np.uint8).tobytes())


@pytest.mark.parametrize("how", ["truncated", "empty", "flipped", "random"])
def test_a_damaged_checkpoint_falls_back_to_the_previous_one(drawn, tmp_path, how):
    out = tmp_path / "r"
    run = runs.Run(SMALL, out, images=drawn[:32])
    with expect_collapse():
        run.train(epochs=2, verbose=0)
    assert (out / runs.PREVIOUS_CHECKPOINT).exists()
    _damage(out / runs.CHECKPOINT, how)
    with pytest.warns(UserWarning, match="damaged.*previous checkpoint"):
        resumed = runs.Run.resume(out, images=drawn[:32])
    assert resumed.epoch == 1 and [row["epoch"] for row in resumed.history] == [1]


@pytest.mark.parametrize("how", ["truncated", "empty", "flipped", "random"])
@pytest.mark.slow
def test_a_damaged_checkpoint_without_a_previous_one_gives_one_line(faces_dir, tmp_path, cli_env, how):
    out = tmp_path / "r"
    assert train_cli(faces_dir, out, "--epochs", "1", env=cli_env).returncode == 0
    assert not (out / runs.PREVIOUS_CHECKPOINT).exists()
    _damage(out / runs.CHECKPOINT, how)
    result = run_cli("train", "--resume", str(out), "--epochs", "2", "--quiet", **cli_env)
    line = one_line_error(result, str(out / runs.CHECKPOINT), "damaged", "start a new run")
    assert "pickle" not in line


# -- silent nonsense ------------------------------------------------------------

@pytest.mark.parametrize("num", ["0", "-5"])
def test_evaluate_refuses_a_number_of_images_below_one(num):
    one_line_error(run_cli("evaluate", "--model", str(sampling.PRETRAINED), "--num", num), "--num", num)


@pytest.mark.slow
def test_evaluate_on_one_person_says_why_it_cannot(tmp_path, cli_env):
    from gan_helpers.synthetic import make_face_folder

    folder = make_face_folder(tmp_path / "one", people=1, per_person=12, size=64)
    g = models.build_generator(latent_dim=8, image_size=32, widths=(8, 8))
    g.save(tmp_path / "g.keras")
    result = run_cli("evaluate", "--model", str(tmp_path / "g.keras"), "--data", str(folder), "--num", "4",
                 "--crop", "0", "--quiet", **cli_env)
    one_line_error(result, "1 people", "several people")


@pytest.mark.parametrize("args", [("--minutes", "nan"), ("--minutes", "0"), ("--minutes", "-1"),
                                  ("--minutes", "inf"), ("--epochs", "0"), ("--epochs", "-3")])
def test_budgets_that_train_nothing_or_forever_are_refused(faces_dir, tmp_path, cli_env, args):
    result = train_cli(faces_dir, tmp_path / "r", *args, env=cli_env)
    one_line_error(result, f"argument {args[0]}", args[1])
    assert not (tmp_path / "r" / "generator.keras").exists()


@pytest.mark.parametrize("budget", [{"minutes": float("nan")}, {"minutes": 0}, {"epochs": 0}, {"epochs": -3}])
def test_run_train_checks_its_budget_too(drawn, budget):
    with pytest.raises(ValueError, match="--(minutes|epochs)"):
        runs.Run(SMALL, None, images=drawn[:32]).train(verbose=0, **budget)


@pytest.mark.parametrize("command", ["train", "prepare"])
@pytest.mark.parametrize("size", ["1024", "100000", "65"])
def test_sizes_are_checked_before_anything_is_allocated(faces_dir, tmp_path, command, size):
    args = ("--minutes", "1", "--out", str(tmp_path / "r")) if command == "train" else ()
    result = run_cli(command, "--data", str(faces_dir), "--size", size, *args)
    one_line_error(result, "argument --size", "even number from 16 to 128", size)


def test_a_run_checks_its_size_before_building_models(monkeypatch):
    def refuse(**kwargs):
        pytest.fail("built a model before checking the size")

    # The factory takes the builders from these tables (filled at import), not from the module attributes.
    monkeypatch.setitem(models.GENERATORS, "exercise", refuse)
    monkeypatch.setattr(models, "build_discriminator", refuse)
    with pytest.raises(ValueError, match="image_size must be an even integer from 16 to 128"):
        runs.Run({**SMALL, "image_size": 1024}, None)


def test_sample_streams_batches_to_the_npy(tmp_path, monkeypatch):
    g = models.build_generator(latent_dim=8, image_size=32, widths=(8, 8))
    g.save(tmp_path / "g.keras")
    expected = sampling.generate(sampling.load_generator(tmp_path / "g.keras"), 300, seed=3)
    sizes = []
    real_predict = keras.Model.predict

    def predict(self, x, *args, **kwargs):
        sizes.append(len(x))
        return real_predict(self, x, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "predict", predict)
    grid = sampling.sample_to_files(tmp_path / "g.keras", 300, tmp_path / "out", seed=3, batch_size=64,
                                    progress=False)
    assert max(sizes) <= 64 and sum(sizes) == 300
    saved = np.load(tmp_path / "out.npy", mmap_mode="r")
    # The same noise, image by image; other batch sizes may round a pixel to the next level.
    np.testing.assert_allclose(np.asarray(saved, int), expected, atol=1)
    assert np.mean(np.asarray(saved) == expected) > 0.99
    assert grid.shape == (sampling.GRID_IMAGES, 32, 32, 3)
    assert (tmp_path / "out.png").exists()


# -- messages -------------------------------------------------------------------

def test_seed_names_its_flag():
    one_line_error(run_cli("demo", "--seed", "-1"), "argument --seed", "-1")


def test_crop_names_its_flag(faces_dir):
    one_line_error(run_cli("prepare", "--data", str(faces_dir), "--crop", "-5"), "argument --crop", "-5")


def test_a_truncated_keras_file_is_called_damaged_not_missing(tmp_path):
    truncated = tmp_path / "g.keras"
    truncated.write_bytes(sampling.PRETRAINED.read_bytes()[:100_000])
    line = one_line_error(run_cli("sample", "--model", str(truncated), "--out", str(tmp_path / "x")),
                          "damaged or incomplete")
    assert "not found" not in line.lower()


def test_an_image_as_model_says_what_a_model_is(tmp_path):
    picture = tmp_path / "face.jpg"
    picture.write_bytes(b"\xff\xd8\xff\xe0 not really")
    line = one_line_error(run_cli("demo", "--model", str(picture)), "not a .keras file")
    assert "TFSMLayer" not in line


@pytest.mark.slow
def test_a_garbled_config_names_the_file(faces_dir, tmp_path, cli_env):
    out = tmp_path / "r"
    assert train_cli(faces_dir, out, "--epochs", "1", env=cli_env).returncode == 0
    (out / "config.json").write_text("{ garbled")
    one_line_error(run_cli("train", "--resume", str(out), "--epochs", "2", **cli_env), str(out / "config.json"), "damaged")


def test_an_out_that_is_a_file_or_cannot_be_written(faces_dir, tmp_path, cli_env):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    one_line_error(train_cli(faces_dir, a_file, "--epochs", "1", env=cli_env), "is a file")
    line = one_line_error(train_cli(faces_dir, "/sys/gan_run", "--epochs", "1", env=cli_env), "Cannot write")
    assert "Errno" not in line


@pytest.mark.slow
def test_train_quiet_shows_no_bars_and_the_default_shows_them(faces_dir, tmp_path, cli_env):
    quiet = train_cli(faces_dir, tmp_path / "quiet", "--epochs", "1", env=cli_env)
    assert quiet.returncode == 0 and "Preparing" not in quiet.stderr and "training" not in quiet.stderr
    loud = run_cli("train", "--data", str(faces_dir), "--size", "32", "--crop", "0", "--out", str(tmp_path / "loud"),
               "--config", json.dumps({**json.loads(SMALL_JSON), "data_dir": None}), "--epochs", "1",
               GAN_CACHE_DIR=str(tmp_path / "other_cache"))
    assert loud.returncode == 0, loud.stderr
    # The training bar counts this run's steps: 8 people x 12 images, 80% of the people, batch 16.
    assert "Preparing" in loud.stderr and "training" in loud.stderr
    # The explicit --data wins over --config's data_dir (null: "find a dataset").
    assert json.loads((tmp_path / "loud" / "config.json").read_text())["data_dir"] == str(faces_dir)


def test_train_and_evaluate_check_paths_without_importing_tensorflow(tmp_path):
    code = ("import sys; from gan_helpers import cli\n"
            "for args in (['train', '--data', '/no/such/folder', '--minutes', '1', '--out', sys.argv[1]],\n"
            "             ['evaluate', '--model', '/no/such.keras'],\n"
            "             ['evaluate', '--model', sys.argv[2], '--data', '/no/such/folder']):\n"
            "    assert cli.main(args) == 2\n"
            "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported before the check'\n")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "r"), str(sampling.PRETRAINED)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("error: ") == 3 and "does not exist" in result.stderr


def test_tensorflow_noise_is_filtered_and_everything_else_passes():
    code = ("import os, sys\n"
            "from gan_helpers._quiet import filter_stderr\n"
            "restore = filter_stderr()\n"
            "os.write(2, b'E0000 00:00:1 1 cpu_feature_guard: oneDNN supports DT_INT32 only on platforms with "
            "AVX-512. Falling back.\\n')\n"
            "os.write(2, b'a real problem\\n')\n"
            "print('progress 50%', end='\\r', file=sys.stderr, flush=True)\n"
            "print('Traceback follows', file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    stderr = result.stderr.decode()
    assert result.returncode == 0
    assert "oneDNN" not in stderr
    assert "a real problem\n" in stderr and "progress 50%\r" in stderr
    assert "Traceback follows" in stderr


def test_help_texts_say_what_each_flag_does():
    train = run_cli("train", "--help").stdout
    sample = run_cli("sample", "--help").stdout
    for place in ("$LFW_DIR", "data/lfw-deepfunneled", "data/lfw,", "data/lfw_funneled", ".tgz",
                  "../shared/datasets/lfw-deepfunneled"):
        assert place in " ".join(train.split()), place
    assert "seed of the weights" in " ".join(train.split())
    assert "one of --minutes and --epochs is required" in " ".join(train.split())
    assert "how many images" in " ".join(sample.split())


def test_the_readme_command_summary_matches_the_cli():
    from gan_helpers import cli as cli_module

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "(--minutes M | --epochs E)" in readme and "[--minutes M | --epochs E]" not in readme
    summary = readme[readme.index("## Command line"):readme.index("### What happens when things go wrong")]
    commands = next(a for a in cli_module.build_parser()._actions if a.dest == "command").choices
    for name, parser in commands.items():
        assert f"python -m gan_helpers {name} " in summary, name
        flags = {o for a in parser._actions for o in a.option_strings if o.startswith("--") and o != "--help"}
        missing = {flag for flag in flags if flag not in summary}
        assert not missing, f"README's summary of `{name}` lacks {sorted(missing)}"


# -- the CLI measures what it says ------------------------------------------

def test_training_and_evaluation_never_share_a_person(faces_dir, tmp_path):
    faces = data.load_dataset(faces_dir, 32, crop=0, cache_dir=tmp_path / "c", progress=False)
    run = runs.Run({**SMALL, "data_dir": str(faces_dir), "crop": 0}, tmp_path / "r")
    run._ensure_images()
    _, holdout_idx = data.split_by_person(faces.people, validation_fraction=data.EVALUATION_HOLDOUT, seed=0)
    trained_on = {image.tobytes() for image in run.images}
    held_out = {image.tobytes() for image in faces.images[holdout_idx]}
    people_in_training = {p for p, image in zip(faces.people, faces.images) if image.tobytes() in trained_on}
    assert held_out and not trained_on & held_out
    assert not people_in_training & set(faces.people[holdout_idx])
    assert len(run.images) + len(holdout_idx) == len(faces)
    _, evaluated = data.train_and_holdout(faces_dir, 32, crop=0, cache_dir=tmp_path / "c", progress=False)
    assert not trained_on & {image.tobytes() for image in evaluated}


@pytest.mark.slow
def test_config_records_the_resolved_dataset_and_the_split(faces_dir, tmp_path, cli_env):
    out = tmp_path / "r"
    result = run_cli("train", "--size", "32", "--crop", "0", "--out", str(out), "--config", SMALL_JSON, "--epochs", "1",
                 "--quiet", LFW_DIR=str(faces_dir), **cli_env)
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    assert Path(config["data_dir"]) == faces_dir and config["holdout"] == data.EVALUATION_HOLDOUT


@pytest.mark.slow
def test_evaluate_states_its_units(faces_dir, tmp_path, cli_env):
    g = models.build_generator(latent_dim=8, image_size=32, widths=(8, 8))
    g.save(tmp_path / "g.keras")
    result = run_cli("evaluate", "--model", str(tmp_path / "g.keras"), "--data", str(faces_dir), "--num", "8",
                 "--crop", "0", **cli_env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["units"]["swd"].startswith("x1e3") and "measuring" in result.stderr


def test_open_refuses_a_folder_whose_run_has_other_settings(drawn, tmp_path):
    with expect_collapse():
        runs.Run.open(SMALL, tmp_path / "r", images=drawn[:32]).train(epochs=1, verbose=0)
    again = runs.Run.open(SMALL, tmp_path / "r", images=drawn[:32])
    assert again.epoch == 1
    with pytest.raises(ValueError, match="other settings.*margin"):
        runs.Run.open({**SMALL, "margin": 0.2}, tmp_path / "r", images=drawn[:32])


def test_the_collapse_warning_is_a_warning_tests_can_expect(drawn):
    run = runs.Run(SMALL, None, images=drawn[:32])
    run.real_spread = 1e9  # any generator is "collapsed" against this
    with pytest.warns(UserWarning, match="Possible mode collapse"):
        run.train(epochs=1, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run.real_spread = 1e-9
        run.train(epochs=2, verbose=0)
