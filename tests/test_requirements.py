"""requirements.txt installs where students are: Linux x86_64, Windows and macOS on Apple silicon, with
Python 3.11, 3.12 and 3.13: nine targets, each resolved by pip's own resolver from the package index.

pip evaluates environment markers for the machine it runs on, not for ``--platform``, so this test
evaluates the markers of requirements.txt for each target itself and hands pip the requirements that
apply there. (The markers of the packages' own dependencies are still evaluated for this machine; a
platform-only dependency of a dependency is not covered.)
"""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REQUIREMENTS = Path(__file__).resolve().parents[1] / "requirements.txt"
PYTHONS = ("3.11", "3.12", "3.13")
#: (name, pip's --platform tags, the marker environment of that platform)
PLATFORMS = (
    ("Linux x86_64", [f"manylinux_2_{n}_x86_64" for n in range(17, 36)] + ["manylinux2014_x86_64", "linux_x86_64"],
     {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix"}),
    ("macOS arm64", ["macosx_14_0_arm64"],
     {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64", "os_name": "posix"}),
    ("Windows x86_64", ["win_amd64"],
     {"sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64", "os_name": "nt"}),
)


def requirements_for(environment: dict) -> list[str]:
    """The lines of requirements.txt that apply to ``environment``, without their markers."""
    lines = []
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            requirement.marker = None
            lines.append(str(requirement))
    return lines


def test_the_markers_choose_one_tensorflow_per_platform():
    for name, _, environment in PLATFORMS:
        chosen = [r for r in requirements_for({**environment, "python_version": "3.12"}) if r.startswith("tensorflow")]
        assert chosen == (["tensorflow==2.21.0"] if name.startswith("macOS") else ["tensorflow-cpu==2.21.0"]), name


def resolve(platform_tags, python, requirements, folder) -> subprocess.CompletedProcess:
    folder.mkdir(parents=True, exist_ok=True)
    listed = folder / "requirements.txt"
    listed.write_text("\n".join(requirements) + "\n")
    tags = [arg for tag in platform_tags for arg in ("--platform", tag)]
    return subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--only-binary=:all:",
         "--implementation", "cp", "--python-version", python, *tags, "--target", str(folder / "target"),
         "--report", str(folder / "report.json"), "--quiet", "-r", str(listed)],
        capture_output=True, text=True, timeout=900, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})


@pytest.mark.slow
def test_requirements_resolve_for_nine_targets(tmp_path):
    probe = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d",
                            str(tmp_path / "probe"), "--quiet", "six==1.17.0"], capture_output=True, text=True,
                           timeout=120)
    if probe.returncode != 0:
        pytest.skip(f"the package index cannot be reached from here ({probe.stderr.strip()[-200:]}): nothing to "
                    "resolve against")
    targets = [(name, tags, python, requirements_for({**environment, "python_version": python,
                                                      "python_full_version": f"{python}.0"}))
               for name, tags, environment in PLATFORMS for python in PYTHONS]
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda t: resolve(t[1], t[2], t[3], tmp_path / f"{t[0]}-{t[2]}".replace(" ", "_")),
                                targets))
    failed = [f"{name}, Python {python}: {' '.join(result.stderr.split())[-300:]}"
              for (name, _, python, _), result in zip(targets, results) if result.returncode != 0]
    assert not failed, "\n".join(failed)
    for name, _, python, _ in targets:
        report = json.loads((tmp_path / f"{name}-{python}".replace(" ", "_") / "report.json").read_text())
        installed = {item["metadata"]["name"].lower().replace("_", "-") for item in report["install"]}
        assert {"keras", "numpy", "jupyterlab", "nbval"} <= installed and installed & {"tensorflow", "tensorflow-cpu"}
