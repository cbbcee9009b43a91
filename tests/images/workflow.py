"""How .github/workflows/images.yml builds an image, read from the workflow so tests build it the same way."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.images.image_env import VERSION, load_matrix
from tests.support.wheels import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict[str, Any]:
    workflow: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return workflow


def steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = workflow["jobs"][job]["steps"]
    return found


def build_step() -> dict[str, str]:
    """The `with:` of images.yml's docker/build-push-action step."""
    (found,) = [
        s["with"]
        for s in steps(load("images.yml"), "build")
        if s.get("uses", "").startswith("docker/build-push-action")
    ]
    return dict(found)


def wheels_command(name: str, job: str) -> str:
    """The one `uv build` command a workflow's job runs."""
    (found,) = [s["run"].strip() for s in steps(load(name), job) if s.get("run", "").startswith("uv build")]
    return str(found)


@dataclass(frozen=True)
class ImageBuild:
    """One image build as images.yml runs it, with its expressions filled in."""

    context: Path
    target: str
    build_contexts: dict[str, Path]
    build_args: dict[str, str]


def image_build(target: str, python: str, dist: Path) -> ImageBuild:
    """images.yml's build of `target` for `python`, its `dist` folder (the wheels it built) at `dist`."""
    matrix = load_matrix()
    assert python in matrix.python, f"images.yml builds no image for Python {python}"
    # What the plan job outputs and the matrix gives; an expression not listed here fails the test.
    values = {
        "matrix.python": python,
        "matrix.component.target": target,
        "needs.plan.outputs.version": VERSION,
        "needs.plan.outputs.flytekit": matrix.flytekit,
        "needs.plan.outputs.flyte": matrix.flyte,
        "needs.plan.outputs.uv": matrix.uv,
    }

    def fill(text: str) -> str:
        def value(match: re.Match[str]) -> str:
            assert match[1] in values, f"images.yml builds with {match[0]}, which tests/images does not know"
            return values[match[1]]

        return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", value, text)

    step = build_step()
    contexts = dict(line.split("=", 1) for line in fill(step["build-contexts"]).split())
    assert contexts == {"wheels": "dist"}, f"images.yml's build contexts changed: {contexts}"
    return ImageBuild(
        context=ROOT / fill(step["context"]),
        target=fill(step["target"]),
        build_contexts={"wheels": dist},
        build_args=dict(line.split("=", 1) for line in fill(step["build-args"]).split()),
    )
