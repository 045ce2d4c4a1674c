"""The setup files agree: environment.yml pins exactly what pyproject.toml pins, and CI runs the README's command."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pyproject_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        deps += extra
    return sorted(deps)


def environment_pins():
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = lines.index("  - pip:") + 1
    pins = [line.strip()[2:] for line in lines[start:] if line.strip().startswith("- ")]
    return sorted(p for p in pins if not p.startswith("-e"))


def test_environment_yml_matches_pyproject():
    assert environment_pins() == pyproject_pins()


def test_torch_pinned_to_the_cpu_build_on_disk_and_no_torchvision():
    pins = pyproject_pins()
    assert "torch==2.13.0" in pins
    assert not any(p.startswith("torchvision") for p in pins)


def test_key_packages_are_pinned_or_bounded():
    for name in ["jupyterlab", "ipywidgets", "matplotlib", "nbval", "pytest", "tqdm"]:
        (pin,) = [p for p in pyproject_pins() if re.match(rf"{name}(?![\w-])", p)]  # pytest, not pytest-xdist
        assert re.search(r"(==|<)", pin), pin
    assert any(p.startswith("jupyterlab==4.") for p in pyproject_pins())
    assert any(p.startswith("ipywidgets==8.") for p in pyproject_pins())


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    command = "python3 course.py test"
    assert command in readme
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert command in [line.strip() for line in ci]


def test_readme_has_the_lab_command():
    assert "python3 course.py lab" in (ROOT / "README.md").read_text()
