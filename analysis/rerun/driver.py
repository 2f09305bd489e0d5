"""Inside the sandbox: what ``mlflow run`` does around an entry point, with MLflow's own client.

Run as ``python driver.py REQUEST.json`` by the interpreter of an environment holding MLflow
(not the project's: ``mlflow run`` itself runs outside the project's environment). It creates the
run as ``mlflow.projects.utils._create_run`` does (tags ``mlflow.user``, ``mlflow.source.name``,
``mlflow.source.type=PROJECT``, ``mlflow.project.entryPoint``, the commit, then
``mlflow.project.env`` and ``mlflow.project.backend``), logs the parameters, runs
``bash -c "source <env>/bin/activate && <command>"`` in the project directory with
``MLFLOW_RUN_ID``, ``MLFLOW_TRACKING_URI`` and ``MLFLOW_EXPERIMENT_ID`` set (as
``backend/local.py`` does), its output to the run log, and marks the run FINISHED or FAILED
unless the code already ended it (``_maybe_set_run_terminated``). The result (run id, exit
status, seconds) is written as JSON for the tool to read. Imports only the standard library and
MLflow: this file is not part of the tool's import graph.
"""

import json
import os
import subprocess
import sys
import time


def main(request_path: str) -> int:
    """Run the request; return the command's exit status (the driver's own failures raise)."""
    with open(request_path, encoding="utf-8") as fh:
        request = json.load(fh)
    from mlflow.entities import Param  # imported late: the request is read even if MLflow is broken
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=request["tracking_uri"])
    tags = {
        "mlflow.user": os.environ.get("USER", "rerun"),
        "mlflow.source.name": request["source_name"],
        "mlflow.source.type": "PROJECT",
        "mlflow.project.entryPoint": request["entry_point"],
    }
    if request.get("commit"):
        tags["mlflow.source.git.commit"] = request["commit"]
    experiment_id = request.get("experiment_id") or "0"
    run = client.create_run(experiment_id=experiment_id, tags=tags)
    run_id = run.info.run_id
    params = [Param(k, v) for k, v in request["params"]]
    for start in range(0, len(params), 100):
        client.log_batch(run_id, params=params[start:start + 100])
    if request.get("env_manager", "virtualenv") != "local":  # the local manager sets no such tag
        client.set_tag(run_id, "mlflow.project.env", request.get("env_manager", "virtualenv"))
    client.set_tag(run_id, "mlflow.project.backend", "local")
    env = dict(os.environ)
    env.update({"MLFLOW_RUN_ID": run_id, "MLFLOW_TRACKING_URI": request["tracking_uri"],
                "MLFLOW_EXPERIMENT_ID": str(experiment_id)})
    command = f"source {request['activate']} && {request['command']}"
    started = time.perf_counter()
    with open(request["log"], "ab") as out:
        proc = subprocess.Popen(["bash", "-c", command], cwd=request["workdir"], env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, close_fds=True)
        returncode = proc.wait()
    seconds = time.perf_counter() - started
    if client.get_run(run_id).info.status not in ("FINISHED", "FAILED", "KILLED"):
        client.set_terminated(run_id, "FINISHED" if returncode == 0 else "FAILED")
    with open(request["result"], "w", encoding="utf-8") as fh:
        json.dump({"run_id": run_id, "experiment_id": str(experiment_id), "returncode": returncode,
                   "seconds": seconds}, fh)
    return returncode


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv[1]) == 0 else 1)
