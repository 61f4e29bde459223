"""The dbt project as Dagster loads it.

Apart from the definitions so that a deployment can prepare it before any
process starts: `make dagster-prepare` runs dagster-dbt's
`project prepare-and-package` on this file, which parses the project and
writes the manifest the assets are made from (target/dagster). `dagster
dev` (`make orchestrate`) re-parses it on every load instead.
"""
import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# dagster-dbt runs `dbt` from PATH: this environment's, whatever PATH was.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

feature_pipeline_project = DbtProject(project_dir=PROJECT_ROOT, target_path="target/dagster")
feature_pipeline_project.prepare_if_dev()
