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
# mechanics, which the tiny models show at that rate and in float32 (bfloat16 is slower on models this small);
# tests/test_quality.py covers the default's averaged G and the precisions.
SMALL = {"image_size": 32, "batch_size": 16, "latent_dim": 16,
         "generator": {"widths": (16, 8)}, "discriminator": {"widths": (8, 8, 8), "dense_units": (16,)},
         **runs.BLOG_RECIPE, "precision": "float32"}
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
    with open(out / "history.csv", "a") as f:
        f.write("3,99,1.0,0" + ",0" * 20 + "\n")  # an epoch the checkpoint does not have
    resumed = runs.Run.resume(out, images=drawn[:32])
    assert not stray.exists()
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


def test_a_notebooks_setup_filters_tensorflow_noise_and_keeps_errors():
    code = ("import os, sys\n"
            "from gan_helpers.notebook import setup\n"
            "setup(quiet=True)\n"
            "import tensorflow as tf\n"
            "os.write(2, b'W0000 00:00:1 1 loop_optimizer.cc:934] Skipping loop optimization for Merge node with "
            "control input: cond/branch_executed/_25\\n')\n"
            "os.write(2, b'a real problem\\n')\n"
            "tf.get_logger().warning('5 out of the last 5 calls triggered tf.function retracing')\n"
            "tf.get_logger().error('an error')\n"
            "import warnings; warnings.warn('Possible mode collapse: spread 0.01')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    assert "Merge node" not in stderr and "retracing" not in stderr
    assert "a real problem\n" in stderr and "an error" in stderr
    assert "UserWarning: Possible mode collapse: spread 0.01\n" in stderr and ".py:" not in stderr


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
    start = readme.index("## Command line")
    summary = readme[start:readme.index("\n## ", start + 1)]
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
    assert (report["dataset"], report["crop"]) == (str(faces_dir), 0)
    # A run folder: evaluated on its own dataset and crop, with no --data and no LFW_DIR.
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    g.save(run_dir / "generator.keras")
    (run_dir / "config.json").write_text(json.dumps({"data_dir": str(faces_dir), "crop": 0.1}))
    environment = {key: value for key, value in os.environ.items() if key != "LFW_DIR"}
    result = subprocess.run([sys.executable, "-m", "gan_helpers", "evaluate", "--model", str(run_dir), "--num", "8"],
                            capture_output=True, text=True, timeout=300, env={**environment, **cli_env}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert (report["dataset"], report["crop"]) == (str(faces_dir), 0.1)


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


def test_the_collapse_warning_comes_once_per_run_and_sees_variety_that_was_lost(drawn):
    run = runs.Run(SMALL, None, images=drawn[:32])
    run.real_spread = 1e9
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run.train(epochs=2, verbose=0)
    assert [str(w.message).count("near-constant") for w in caught if "mode collapse" in str(w.message)] == [1]
    run.real_spread = 0.2
    assert run._collapse_message(0.049, peak=0.0).startswith("Possible mode collapse: the fixed batch's pixel spread is")
    lost = run._collapse_message(0.06, peak=0.11)  # a G that learnt 10x faster than D: variety had, then lost
    assert "fell to 0.060 from 0.110" in lost
    assert run._collapse_message(0.07, peak=0.11) is None  # not far enough below its own best
    assert run._collapse_message(0.06, peak=0.09) is None  # never had much more variety (a slow start)
    assert run._collapse_message(0.11, peak=0.3) is None  # above half of real faces'


# -- one writer per run folder ---------------------------------------------------

def test_a_run_folder_has_one_writer_and_a_dead_writer_leaves_it_free(tmp_path):
    folder = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom gan_helpers import files\n"
                               "files.lock_run_folder(sys.argv[1]); print('locked', flush=True); time.sleep(60)",
                               str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(files.FolderBusyError, match=f"is being written by process {holder.pid}"):
            files.lock_run_folder(folder)
    finally:
        holder.kill()  # SIGKILL: no clean-up runs, the operating system releases the lock
        holder.wait()
    assert files.lock_run_folder(folder) == folder
    assert files.lock_run_folder(folder) == folder  # this process again: allowed (a notebook cell run twice)
    files.unlock_run_folder(folder)
    files.unlock_run_folder(folder)  # each take is given back once
    assert folder.resolve() not in files._held


def test_stray_temporaries_of_running_processes_are_kept(tmp_path):
    alive = tmp_path / f".faces.{os.getppid()}.partial.npy"
    dead = tmp_path / ".faces.999999999.partial.npy"
    for path in (alive, dead):
        path.write_bytes(b"x")
    assert sorted(files.remove_stray_temporaries(tmp_path)) == [dead]
    assert alive.exists()
    assert files.remove_stray_temporaries(tmp_path, only_dead=False) == [alive]


def test_clean_up_leaves_other_programs_files_alone(tmp_path):
    others = [".notes.tmp", ".report.partial.txt", ".thesis.tmp", ".history.csv.tmp", ".x.partial", "a.1.partial.npy"]
    for name in others:
        (tmp_path / name).write_text("someone's")
    ours = tmp_path / ".faces.999999999.partial.npy"
    ours.write_bytes(b"x")
    assert files.remove_stray_temporaries(tmp_path, only_dead=False) == [ours]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(others)


@pytest.mark.slow
def test_a_second_resume_beside_a_running_training_is_refused_and_loses_nothing(tmp_path, cli_env):
    from gan_helpers.synthetic import make_face_folder

    folder = make_face_folder(tmp_path / "many", people=20, per_person=20, size=40)
    out = tmp_path / "run"
    slow = json.dumps({**json.loads(SMALL_JSON), "batch_size": 4})

    def start(*args):
        return subprocess.Popen([sys.executable, "-m", "gan_helpers", "train", *args, "--quiet"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, **cli_env})

    def wait_for_lock(process):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if (out / files.LOCK).exists() and str(process.pid) in (out / files.LOCK).read_text():
                return
            time.sleep(0.05)
        raise AssertionError(f"the training never took the lock: {process.communicate()}")

    first = start("--data", str(folder), "--size", "32", "--crop", "0", "--out", str(out), "--config", slow,
                  "--epochs", "2")
    wait_for_lock(first)
    for budget in ("1", "5"):  # one that the budget check would refuse, one that would train
        one_line_error(run_cli("train", "--resume", str(out), "--epochs", budget, **cli_env),
                       f"is being written by process {first.pid}")
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert (out / runs.CHECKPOINT).exists() and (out / runs.PREVIOUS_CHECKPOINT).exists()
    assert (out / "generator.keras").exists() and not list(out.glob(".*partial*"))
    # Two resumes at once: the first trains on, the second is refused; both checkpoints stay.
    second = start("--resume", str(out), "--epochs", "3")
    wait_for_lock(second)
    one_line_error(run_cli("train", "--resume", str(out), "--epochs", "4", **cli_env),
                   f"is being written by process {second.pid}")
    _, stderr = second.communicate(timeout=300)
    assert second.returncode == 0, stderr
    with np.load(out / runs.CHECKPOINT) as now, np.load(out / runs.PREVIOUS_CHECKPOINT) as before:
        assert json.loads(now["__progress__"].tobytes())["epoch"] == 3
        assert json.loads(before["__progress__"].tobytes())["epoch"] == 2


# -- settings checked before anything is written --------------------------------

@pytest.mark.parametrize("setting, value", [
    ("batch_size", "16"), ("batch_size", 16.5), ("batch_size", -1), ("batch_size", 100000), ("holdout", "0.2"),
    ("latent_dim", "100"), ("generator", {"bogus": 1}), ("generator", []), ("discriminator", {"widths": "wide"}),
    ("num_fixed", 0), ("seed", -2), ("d_learning_rate", 0), ("g_learning_rate", -1e-3), ("margin", "0.3"),
    ("precision", ["bfloat16"]), ("model", {"gan": 1}), ("data_dir", 5),
])
def test_a_wrong_setting_is_named_before_anything_is_built_or_written(drawn, tmp_path, setting, value):
    with pytest.raises(ValueError, match=setting):
        runs.Run({**SMALL, setting: value}, tmp_path / "r", images=drawn[:64]).train(epochs=1, verbose=0)
    assert not (tmp_path / "r").exists() or not list((tmp_path / "r").iterdir())


def test_a_batch_larger_than_the_faces_is_refused_before_the_folder_is_written(drawn, tmp_path):
    run = runs.Run({**SMALL, "batch_size": 200}, tmp_path / "r", images=drawn[:64])
    with pytest.raises(ValueError, match="batch_size 200 is more than the 64 training faces"):
        run.train(epochs=1, verbose=0)
    assert not (tmp_path / "r" / "config.json").exists()


@pytest.mark.slow
def test_explicit_flags_win_over_config_and_resume_refuses_flags_that_change_the_run(faces_dir, tmp_path, cli_env):
    out = tmp_path / "r"
    result = run_cli("train", "--data", faces_dir, "--crop", "0", "--out", out, "--epochs", "1", "--quiet",
                     "--seed", "3", "--size", "32",
                     "--config", json.dumps({**json.loads(SMALL_JSON), "seed": 5, "image_size": 64}), **cli_env)
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    assert (config["seed"], config["image_size"]) == (3, 32)
    assert "warning: Possible mode collapse" in result.stderr and "UserWarning" not in result.stderr
    for flags in (("--size", "64"), ("--seed", "1"), ("--model", "wgan"), ("--balance", "always"),
                  ("--crop", "0.1"), ("--architecture", "dcgan")):
        one_line_error(run_cli("train", "--resume", out, "--epochs", "2", *flags, **cli_env), flags[0], "drop")
    from gan_helpers.synthetic import make_face_folder

    other = make_face_folder(tmp_path / "other", people=4, per_person=4, size=40)
    one_line_error(run_cli("train", "--resume", out, "--epochs", "2", "--data", other, **cli_env),
                   "the run's own dataset")
    assert json.loads((out / "config.json").read_text())["data_dir"] == str(faces_dir)


def test_an_empty_data_path_is_refused_not_taken_for_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="dataset path is empty"):
        data.load_faces("", 32)
    one_line_error(run_cli("prepare", "--data", ""), "dataset path is empty")
    one_line_error(run_cli("train", "--data", "", "--epochs", "1", "--out", tmp_path / "r"), "dataset path is empty")


def test_a_run_folder_inside_the_dataset_is_refused(faces_dir, tmp_path):
    one_line_error(run_cli("train", "--data", faces_dir, "--epochs", "1", "--out", faces_dir / "run"),
                   "is inside the dataset")
    assert not (faces_dir / "run").exists()


@pytest.mark.parametrize("arguments", [{"limit": -1}, {"limit": 0}, {"limit": True}, {"limit": 2.5}])
def test_the_library_checks_its_own_arguments(faces_dir, tmp_path, arguments):
    with pytest.raises(ValueError, match="limit must be a whole number"):
        data.load_faces(faces_dir, 32, cache_dir=tmp_path, progress=False, **arguments)


def test_a_budget_of_true_minutes_is_refused(drawn):
    with pytest.raises(ValueError, match="--minutes must be a positive number"):
        runs.Run(SMALL, None, images=drawn[:64]).train(minutes=True, verbose=0)


def test_a_file_name_that_is_not_utf8_is_skipped_with_its_name(faces_dir, tmp_path):
    import shutil

    folder = tmp_path / "faces"
    shutil.copytree(faces_dir, folder)
    person = next(p for p in folder.iterdir() if p.is_dir())
    first = next(person.iterdir())
    bad = os.fsdecode(bytes(person) + b"/caf\xe9.jpg")
    shutil.copy(first, bad)
    with pytest.warns(UserWarning, match=r"caf\\xe9\.jpg: its name is not valid UTF-8"):
        faces = data.load_dataset(folder, 32, crop=0, cache_dir=tmp_path / "cache", progress=False)
    assert len(faces) == sum(1 for _ in faces_dir.rglob("*.jpg"))


# -- generators that are broken or of the wrong shape ------------------------------

def _constant_generator(value, shape=(32, 32, 3)):
    noise = keras.Input((4,))
    x = keras.layers.Dense(int(np.prod(shape)), kernel_initializer="zeros",
                           bias_initializer=keras.initializers.Constant(value))(noise)
    return keras.Model(noise, keras.layers.Reshape(shape)(x))


def test_a_generator_that_draws_nan_is_refused_and_one_out_of_range_is_warned():
    with pytest.raises(ValueError, match="drew 5 of 5 images with NaN"):
        sampling.generate(_constant_generator(float("nan")), 5)
    with pytest.warns(UserWarning, match=r"from 3 to 3, outside \[-1, 1\]") as caught:
        images = sampling.generate(_constant_generator(3.0), 300, batch_size=64)
    assert len(caught) == 1 and (images == 255).all()


@pytest.mark.slow
def test_sample_from_a_nan_generator_is_one_line_and_writes_nothing(tmp_path):
    _constant_generator(float("nan")).save(tmp_path / "nan.keras")
    one_line_error(run_cli("sample", "--model", tmp_path / "nan.keras", "--num", "4", "--out", tmp_path / "s",
                           "--quiet"), "NaN")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nan.keras"]


@pytest.mark.parametrize("shape", [(32, 16, 3), (32, 32, 1)])
def test_a_generator_of_another_shape_is_one_line(tmp_path, shape):
    _constant_generator(0.0, shape).save(tmp_path / "g.keras")
    with pytest.raises(ValueError, match="take square RGB images"):
        sampling.load_generator(tmp_path / "g.keras")


def test_sampling_onto_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    import errno

    _constant_generator(0.0).save(tmp_path / "g.keras")

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full)
    with pytest.raises(OSError, match=r"Cannot reserve 30,848 bytes for .*out\.npy \(No space left on device\)"):
        sampling.sample_to_files(tmp_path / "g.keras", 10, tmp_path / "out", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.keras"]


@pytest.mark.slow
def test_sampling_onto_a_real_full_filesystem(tmp_path):
    """A 1 MB tmpfs (root only): the reservation fails with one line, where a memory map would crash."""
    small = tmp_path / "small"
    small.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(small)],
                                           capture_output=True).returncode != 0:
        pytest.skip("making a small filesystem needs root and mount")
    try:
        _constant_generator(0.0).save(tmp_path / "g.keras")
        result = run_cli("sample", "--model", tmp_path / "g.keras", "--num", "400", "--out", small / "faces")
        one_line_error(result, "Cannot reserve", "faces.npy", "No space left on device")
        assert list(small.iterdir()) == []
    finally:
        subprocess.run(["umount", str(small)], capture_output=True)


def test_a_full_disk_at_a_checkpoint_names_the_file_and_how_to_go_on(drawn, tmp_path, monkeypatch):
    import errno

    run = runs.Run(SMALL, tmp_path / "r", images=drawn[:64])

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    with expect_collapse(), pytest.raises(OSError) as caught:
        run.train(epochs=2, verbose=0)
    message = str(caught.value)
    assert f"Could not write {tmp_path / 'r' / runs.CHECKPOINT}: No space left on device." in message
    assert "keeps its last complete checkpoint" in message and "--resume" in message and "--epochs 2" in message
    assert not list((tmp_path / "r").glob(".*partial*"))


@pytest.mark.slow
def test_a_run_at_its_budget_without_a_generator_writes_it_without_training(drawn, tmp_path, cli_env):
    run = runs.Run(SMALL, tmp_path / "r", images=drawn[:64])
    with expect_collapse():
        run.train(epochs=1, verbose=0)
    (tmp_path / "r" / "generator.keras").unlink()  # as after a full disk
    (tmp_path / "r" / "config.json").write_text(json.dumps({**json.loads((tmp_path / "r" / "config.json").read_text()),
                                                            "data_dir": str(tmp_path)}))
    steps = runs.read_csv(tmp_path / "r" / "steps.csv")
    result = run_cli("train", "--resume", tmp_path / "r", "--epochs", "1", **cli_env)
    assert result.returncode == 0 and "wrote its generator from the last checkpoint" in result.stdout, result.stderr
    assert (tmp_path / "r" / "generator.keras").exists() and runs.read_csv(tmp_path / "r" / "steps.csv") == steps
    one_line_error(run_cli("train", "--resume", tmp_path / "r", "--epochs", "1", **cli_env), "give more than 1")


def test_a_killed_cache_write_is_cleaned_up_by_the_next(faces_dir, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    stale = cache / ".faces_32px.999999999.partial.npy"  # a process id that is not running
    stale.write_bytes(b"half an array")
    data.load_dataset(faces_dir, 32, crop=0, cache_dir=cache, progress=False)
    assert not stale.exists() and list(cache.glob("faces_*.npy"))


@pytest.mark.parametrize("out, written", [("grid", "grid.png"), ("grid.jpg", "grid.jpg")])
def test_demo_out_without_an_extension_gets_png(tmp_path, out, written):
    from gan_helpers import cli

    assert cli.main(["demo", "--num", "4", "--out", str(tmp_path / out)]) == 0
    assert [p.name for p in tmp_path.iterdir()] == [written]


def test_demo_out_with_another_extension_is_one_line(tmp_path, capsys):
    from gan_helpers import cli

    assert cli.main(["demo", "--num", "4", "--out", str(tmp_path / "grid.txt")]) == 2
    assert "write the grid as .png or .jpg" in capsys.readouterr().err and not list(tmp_path.iterdir())


@pytest.mark.parametrize("size", [31, 256])
def test_evaluate_of_a_generator_of_a_size_training_never_makes_is_one_line(faces_dir, tmp_path, capsys, size):
    from gan_helpers import cli

    _constant_generator(0.0, (size, size, 3)).save(tmp_path / "g.keras")
    assert cli.main(["evaluate", "--model", str(tmp_path / "g.keras"), "--data", str(faces_dir), "--num", "4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"draws {size}x{size} images" in err[0], err


def test_a_run_whose_dataset_moved_says_so_and_how_to_point_at_it(faces_dir, tmp_path):
    import shutil

    faces = shutil.copytree(faces_dir, tmp_path / "faces")
    run = runs.Run({**SMALL, "data_dir": str(faces), "crop": 0}, tmp_path / "r")
    with expect_collapse():
        run.train(epochs=1, verbose=0)
    faces.rename(tmp_path / "elsewhere")
    with pytest.raises(FileNotFoundError, match=r"faces \(its config.json's data_dir\) is not there any more; "
                                                "if the faces moved, resume with --data NEW_PLACE"):
        runs.Run.resume(tmp_path / "r").train(epochs=2, verbose=0)


def test_the_resume_hint_asks_for_what_is_left_of_this_calls_minutes(drawn, tmp_path):
    run = runs.Run(SMALL, tmp_path / "my run", images=drawn[:64])
    run._seconds_before_call, run.seconds = 1800.0, 1920.0  # 30 minutes before this call, 2 in it
    assert run.resume_command(minutes=10) == f"python -m gan_helpers train --resume '{tmp_path / 'my run'}' --minutes 8"
    assert run.resume_command(epochs=5).endswith("--epochs 5")


def test_a_dataset_named_in_config_is_the_one_searched_and_checked_first(tmp_path):
    one_line_error(run_cli("train", "--config", json.dumps({"data_dir": str(tmp_path / "no-such-faces")}),
                           "--epochs", "1", "--out", tmp_path / "r"), "no-such-faces")
    one_line_error(run_cli("train", "--config", json.dumps({"data_dir": 5}), "--epochs", "1", "--out", tmp_path / "r"),
                   "data_dir must be a path")


def test_a_folder_that_cannot_be_locked_is_used_with_a_warning(tmp_path, monkeypatch):
    import errno
    import fcntl

    def no_locks(handle, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with pytest.warns(UserWarning, match=r"Cannot lock .* \(No locks available\)"):
        assert files.lock_run_folder(tmp_path / "r") == tmp_path / "r"
    assert (tmp_path / "r").resolve() not in files._held


@pytest.mark.parametrize("value, smoke", [("1", True), ("true", True), ("Yes", True), ("on", True), ("0", False),
                                          ("false", False), ("no", False), ("OFF", False), ("", False)])
def test_the_smoke_switch_reads_true_and_false_the_usual_way(monkeypatch, value, smoke):
    from gan_helpers.notebook import smoke_test

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("GAN_SMOKE", value)
    assert smoke_test() is smoke
    monkeypatch.delenv("GAN_SMOKE")
    monkeypatch.setenv("CI", value)
    assert smoke_test() is smoke
    monkeypatch.setenv("GAN_SMOKE", "0")  # GAN_SMOKE decides when both are set
    assert smoke_test() is False


def test_an_unclear_smoke_switch_is_an_error(monkeypatch):
    from gan_helpers.notebook import smoke_test

    monkeypatch.setenv("GAN_SMOKE", "maybe")
    with pytest.raises(ValueError, match="GAN_SMOKE='maybe' is neither true nor false"):
        smoke_test()
    monkeypatch.delenv("GAN_SMOKE")
    monkeypatch.setenv("CI", "woodpecker")  # a CI service that sets its own name
    assert smoke_test() is True


def full_disk(*args, **kwargs):
    """What a write does on a full disk: part of the file, then ENOSPC."""
    import errno

    target = next(a for a in args if isinstance(a, (str, Path)))
    Path(target).write_bytes(b"\x89PNG half a picture")
    raise OSError(errno.ENOSPC, "No space left on device")


def test_pictures_are_written_whole_or_not_at_all(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from gan_helpers import notebook, plots

    grid = tmp_path / "demo.png"
    plots.save_grid(np.zeros((4, 8, 8, 3), np.uint8), grid)
    before = grid.read_bytes()
    monkeypatch.setattr(Image.Image, "save", lambda self, fp, *a, **k: full_disk(fp))
    with pytest.raises(OSError, match="Could not write .*demo.png"):
        plots.save_grid(np.full((4, 8, 8, 3), 255, np.uint8), grid)
    assert grid.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["demo.png"]
    monkeypatch.undo()  # matplotlib writes its PNGs through Pillow too
    monkeypatch.chdir(tmp_path)
    fig = plt.figure()
    saved = notebook.save_fig("curves", fig)
    before = saved.read_bytes()
    monkeypatch.setattr(type(fig), "savefig", lambda self, fp, *a, **k: full_disk(fp))
    with pytest.raises(OSError, match="Could not write .*curves.png"):
        notebook.save_fig("curves", fig)
    assert saved.read_bytes() == before and [p.name for p in saved.parent.iterdir()] == ["curves.png"]
    plt.close(fig)


@pytest.mark.parametrize("args, fragment", [
    (["sample", "--model", str(sampling.PRETRAINED), "--out", "o/"], "needs a file name"),
    (["sample", "--model", str(sampling.PRETRAINED), "--out", ""], "needs a file name"),
    (["sample", "--model", str(sampling.PRETRAINED), "--out", "missing-folder/faces"], "does not exist"),
    (["train", "--minutes", "1e308"], "up to 525,600"),
])
def test_outputs_and_budgets_that_cannot_work_are_one_line_before_tensorflow_loads(tmp_path, args, fragment):
    (tmp_path / "o").mkdir()
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "gan_helpers", *args], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    one_line_error(result, fragment)
    assert time.perf_counter() - started < 20  # refused by the parser, not after loading a model
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"] and not list((tmp_path / "o").iterdir())


def test_stored_settings_of_the_wrong_type_are_one_line(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    config = runs.default_config(image_size=32, seed=0)
    (folder / "config.json").write_text(json.dumps({**config, "replicas": "2"}))
    with pytest.raises(ValueError, match=r"config.json: replicas must be a whole number from 1 to 1,024\. "
                                         r"Received: replicas='2'"):
        runs.Run.resume(folder)
    import shutil

    shutil.copy(sampling.PRETRAINED, folder / "generator.keras")
    (folder / "config.json").write_text(json.dumps({**config, "data_dir": 5}))
    one_line_error(run_cli("evaluate", "--model", folder), "data_dir must be a path", "config.json")


@pytest.mark.slow
def test_resume_and_evaluate_notice_a_changed_dataset(tmp_path, cli_env):
    from gan_helpers.synthetic import make_face_folder

    faces = make_face_folder(tmp_path / "faces", people=8, per_person=12, size=96)
    out = tmp_path / "run"
    assert train_cli(faces, out, "--epochs", "1", env=cli_env).returncode == 0
    recorded = json.loads((out / "config.json").read_text())["dataset"]
    assert recorded == data.fingerprint(faces) and recorded["images"] == 96
    make_face_folder(tmp_path / "more", people=3, per_person=5, size=96)
    for person in (tmp_path / "more").iterdir():  # 15 images of 3 new people join the folder
        person.rename(faces / f"new_{person.name}")
    refused = run_cli("train", "--resume", out, "--epochs", "2", "--quiet", **cli_env)
    one_line_error(refused, "are not the ones this run trained on (111 images now, 96 then)", "--switch-data")
    assert json.loads((out / "config.json").read_text())["dataset"] == recorded
    warned = run_cli("evaluate", "--model", out, "--num", "16", "--quiet", **cli_env)
    assert warned.returncode == 0 and "warning: the faces at" in warned.stderr, warned.stderr
    switched = run_cli("train", "--resume", out, "--epochs", "2", "--switch-data", "--quiet", **cli_env)
    assert switched.returncode == 0, switched.stderr
    assert json.loads((out / "config.json").read_text())["dataset"]["images"] == 111


def test_an_unreadable_checkpoint_is_not_called_damaged(drawn, tmp_path, monkeypatch):
    import builtins
    import errno

    out = tmp_path / "r"
    with expect_collapse():
        runs.Run(SMALL, out, images=drawn[:32]).train(epochs=2, verbose=0)
    checkpoint, previous = out / "checkpoint.npz", out / "checkpoint.previous.npz"
    before = checkpoint.read_bytes(), previous.read_bytes()
    real_open = builtins.open

    def locked(file, *args, **kwargs):  # as chmod 000 does for a user who is not root
        if Path(str(file)) == checkpoint:
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", locked)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "resuming from the previous checkpoint" either
        with pytest.raises(PermissionError, match="Cannot read the checkpoint .*checkpoint.npz .*chmod u\\+r"):
            runs.Run.resume(out, images=drawn[:32]).train(epochs=3, verbose=0)
    monkeypatch.undo()
    assert (checkpoint.read_bytes(), previous.read_bytes()) == before


@pytest.mark.parametrize("extra, fragment", [
    (["--config", '{"generator": {"widths": [100000000, 10]}}'], "need more memory than this machine has"),
    (["--config", '{"batch_size": 16}', "--distribute", "mirrored", "--replicas", "64"],
     "each replica needs at least one"),
])
def test_settings_that_cannot_train_are_one_line_and_leave_no_folder(faces_dir, tmp_path, cli_env, extra, fragment):
    out = tmp_path / "r"
    result = run_cli("train", "--data", faces_dir, "--size", "32", "--crop", "0", "--epochs", "1", "--out", out,
                     "--quiet", *extra, **cli_env)
    one_line_error(result, fragment)
    assert not out.exists()  # the same --out works once the settings are fixed


def test_demo_refuses_more_faces_than_one_picture_holds():
    one_line_error(run_cli("demo", "--num", "100000"), "at most 1,024", "use `sample`")
