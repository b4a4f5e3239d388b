"""Runs the steps of `action.yml` the way a GitHub Actions runner runs a composite action,
as far as this machine can: each `run:` script with `bash --noprofile --norc -eo pipefail`
(the runner's `shell: bash`), the step's `env:` with its `${{ }}` expressions filled in,
a fresh `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY` per step, `if:` conditions, and the
action's outputs from its steps' outputs.

Only the expressions action.yml uses are understood (context lookups, `!cancelled()`,
`&&`, `==`, `!=`, string literals): anything else raises, so a new kind of expression in
action.yml fails the test instead of being silently misread. `uses:` steps (setup-python)
cannot run here: the caller supplies their outputs.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.github.runner_files import parse_output_file

_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_PATH = re.compile(r"^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)+$")


@dataclass
class StepRun:
    id: str
    name: str
    ran: bool
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""


@dataclass
class ActionRun:
    steps: list[StepRun]
    outputs: dict[str, str]

    def step(self, step_id: str) -> StepRun:
        return next(s for s in self.steps if s.id == step_id)

    @property
    def failed(self) -> bool:
        return any(s.ran and s.returncode != 0 for s in self.steps)


def load_action(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


class ActionRunner:
    def __init__(
        self,
        action_dir: Path,
        workspace: Path,
        runner_temp: Path,
        github: Mapping[str, str],
        uses: Callable[[dict[str, Any]], dict[str, str]],
        environ: Mapping[str, str],
    ) -> None:
        self.action_dir = action_dir
        self.action = load_action(action_dir / "action.yml")
        self.workspace = workspace
        self.runner_temp = runner_temp
        self.github = dict(github)  # GITHUB_* variables of the simulated job
        self.uses = uses
        self.environ = dict(environ)

    # -- expressions ----------------------------------------------------------------------

    def _lookup(self, path: str, inputs: Mapping[str, str], steps: Mapping[str, StepRun]) -> str:
        if not _PATH.match(path):
            raise ValueError(f"expression not understood by this runner: {path!r}")
        head, *rest = path.split(".")
        if head == "inputs" and len(rest) == 1:
            return inputs[rest[0]]
        if head == "steps" and len(rest) == 3 and rest[1] == "outputs":
            step = steps.get(rest[0])
            return step.outputs.get(rest[2], "") if step else ""
        if head == "github" and rest == ["action_path"]:
            return str(self.action_dir)
        if head == "github" and rest == ["token"]:
            return self.github.get("GITHUB_TOKEN", "")
        if head == "runner" and rest == ["temp"]:
            return str(self.runner_temp)
        if head == "runner" and rest == ["os"]:
            return "Linux"
        raise ValueError(f"context not known to this runner: {path!r}")

    def fill(self, text: str, inputs: Mapping[str, str], steps: Mapping[str, StepRun]) -> str:
        return _EXPR.sub(lambda m: self._lookup(m.group(1), inputs, steps), text)

    def condition(self, text: str, inputs: Mapping[str, str], steps: Mapping[str, StepRun]) -> bool:
        match = _EXPR.fullmatch(text.strip())
        expression = match.group(1) if match else text.strip()
        return all(self._term(term.strip(), inputs, steps) for term in expression.split("&&"))

    def _term(self, term: str, inputs: Mapping[str, str], steps: Mapping[str, StepRun]) -> bool:
        if term in {"!cancelled()", "always()"}:
            return True
        if term == "success()":
            return not any(s.ran and s.returncode for s in steps.values())
        match = re.fullmatch(r"(\S+)\s*(==|!=)\s*'([^']*)'", term)
        if not match:
            raise ValueError(f"condition not understood by this runner: {term!r}")
        value = self._lookup(match.group(1), inputs, steps)
        return (value == match.group(3)) == (match.group(2) == "==")

    # -- running --------------------------------------------------------------------------

    def run(
        self, with_: Mapping[str, str], reuse: Mapping[str, dict[str, str]] | None = None, only: set[str] | None = None
    ) -> ActionRun:
        """Every step in order. `reuse` gives the outputs of steps (by id) that already ran
        in an earlier run of this runner (the install, say); `only` runs just those ids."""
        declared = self.action.get("inputs", {})
        unknown = set(with_) - set(declared)
        assert not unknown, f"inputs not declared in action.yml: {unknown}"
        inputs = {
            name: str(with_[name]) if name in with_ else str(spec.get("default", "")) for name, spec in declared.items()
        }
        inputs = {name: self.fill(value, inputs, {}) for name, value in inputs.items()}
        steps: dict[str, StepRun] = {}
        runs: list[StepRun] = []
        for number, step in enumerate(self.action["runs"]["steps"]):
            step_id = step.get("id", f"step{number}")
            name = step.get("name", step_id)
            if reuse and step_id in reuse:
                result = StepRun(step_id, name, False, outputs=dict(reuse[step_id]))
            elif (only is not None and step_id not in only) or (
                "if" in step and not self.condition(str(step["if"]), inputs, steps)
            ):
                result = StepRun(step_id, name, False)
            elif "uses" in step:
                result = StepRun(step_id, name, True, outputs=self.uses(step))
            else:
                result = self._run_script(step, step_id, name, inputs, steps)
            steps[step_id] = result
            runs.append(result)
        outputs = {
            name: self.fill(str(spec["value"]), inputs, steps) for name, spec in self.action.get("outputs", {}).items()
        }
        return ActionRun(runs, outputs)

    def _run_script(
        self, step: dict[str, Any], step_id: str, name: str, inputs: Mapping[str, str], steps: Mapping[str, StepRun]
    ) -> StepRun:
        assert step.get("shell") == "bash", f"step {name!r} must say `shell: bash` (composite steps need a shell)"
        folder = self.runner_temp / "steps" / step_id
        folder.mkdir(parents=True, exist_ok=True)
        output, summary, script = folder / "output", folder / "summary", folder / "script.sh"
        output.write_text("")
        summary.write_text("")
        script.write_text(str(step["run"]))
        env = {
            **self.environ,
            **self.github,
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_ACTION_PATH": str(self.action_dir),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            "RUNNER_TEMP": str(self.runner_temp),
            "RUNNER_OS": "Linux",
        }
        env.pop("GITHUB_TOKEN", None)  # only a step that maps the input into its env gets it
        for key, value in (step.get("env") or {}).items():
            env[str(key)] = self.fill(str(value), inputs, steps)
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        return StepRun(
            step_id,
            name,
            True,
            proc.returncode,
            proc.stdout,
            proc.stderr,
            parse_output_file(output.read_text()),
            summary.read_text(),
        )


def hermetic_environ() -> dict[str, str]:
    """This process's environment without anything that would leak into the simulated job."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WASITEST_", "GITHUB_", "RUNNER_", "PYTEST_", "VIRTUAL_ENV")) and k not in {"GH_TOKEN"}
    } | {"NO_COLOR": "1"}
