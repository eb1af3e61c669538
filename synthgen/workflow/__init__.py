"""`synthgen run`: the whole pipeline (prepare, train, sample, audit, validate, export) from one
config into one run folder, skipping what is up to date and safe to kill at any moment.

    from synthgen.workflow import run
    result = run("configs/run/demo.yaml", "runs/demo")

Modules: `config` (the run config), `stages` (what each stage calls and writes), `state`
(run.json and folder hashes), `runner` (planning, skipping, staging, committing),
`live` (the terminal view), `cli` (`synthgen run`).
"""

from synthgen.workflow.config import RunConfig, load_run_config
from synthgen.workflow.runner import PlannedStage, RunResult, plan_run, run

__all__ = ["PlannedStage", "RunConfig", "RunResult", "load_run_config", "plan_run", "run"]
