"""The command line: real runs in a subprocess, one-line errors."""


import pytest
from helpers import run_cli


def test_prepare_reports_counts_and_uses_the_cache(face_folder, tmp_path):
    env = {"GAN_CACHE_DIR": str(tmp_path / "cache")}
    first = run_cli("prepare", "--data", str(face_folder), "--size", "32", "--quiet", **env)
    assert first.returncode == 0, first.stderr
    assert "Used 30 images of 6 people" in first.stdout and "(0 skipped)" in first.stdout
    second = run_cli("prepare", "--data", str(face_folder), "--size", "32", "--quiet", **env)
    assert "(from cache)" in second.stdout


@pytest.mark.parametrize("args, message", [
    (("prepare", "--data", "/definitely/not/here"), "does not exist"),
    (("prepare", "--size", "65", "--data", "."), "argument --size: must be an even number from 16 to 128"),
])
def test_bad_input_gives_one_clear_line(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.slow
def test_prepare_counts_all_of_lfw(lfw_dir, tmp_path):
    result = run_cli("prepare", "--data", str(lfw_dir), "--size", "64", "--quiet", GAN_CACHE_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Used 13,233 images of 5,749 people" in result.stdout
