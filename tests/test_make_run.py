"""`make run` for real: scripts/run.sh on a fresh data dir serves the UI with the demo collection, the demo
dataset and the trained demo adapter; a second run is fast and keeps the data."""
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "make-run-curator-password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepared_data_dir(tmp_path: Path) -> Path:
    """A new data dir that shares the offline assets `make test` prepared (converting the model is slow)."""
    real = Path(os.environ.get("REFINERY_DATA_DIR") or ROOT / "var").resolve()
    assert (real / ".stamp-assets").is_file(), "setup.sh has not prepared the offline assets"
    data = tmp_path / "var"
    data.mkdir()
    for name in ("models", "nltk_data"):
        if (real / name).exists():
            (data / name).symlink_to(real / name)
    shutil.copy(real / ".stamp-assets", data / ".stamp-assets")
    return data


def _start(data: Path, port: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "DATABASE_URL", "REFINERY_", "LABEL_STUDIO_"))}
    env.update(REFINERY_DATA_DIR=str(data), REFINERY_PORT=str(port), REFINERY_CURATOR_PASSWORD=PASSWORD)
    return subprocess.Popen(["bash", "scripts/run.sh"], cwd=ROOT, env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def _wait_ready(proc: subprocess.Popen, port: int, log: Path, timeout: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        assert proc.poll() is None, f"make run exited with {proc.returncode}:\n{log.read_text()[-4000:]}"
        try:
            if requests.get(f"http://127.0.0.1:{port}/login/", timeout=10).status_code == 200:
                return time.monotonic() - t0
        except requests.RequestException:  # not listening yet, or still importing Django
            pass
        time.sleep(0.5)
    raise AssertionError(f"not serving after {timeout:.0f} s:\n{log.read_text()[-4000:]}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _curator_session(port: int) -> requests.Session:
    s = requests.Session()
    base = f"http://127.0.0.1:{port}"
    r = s.get(f"{base}/login/")
    r = s.post(f"{base}/login/", data={"username": "curator", "password": PASSWORD,
                                       "csrfmiddlewaretoken": s.cookies["csrftoken"]},
               headers={"Referer": f"{base}/login/"})
    assert r.status_code == 200 and "/login/" not in r.url, r.text[:500]
    return s


@pytest.mark.slow
def test_make_run_serves_the_demo_and_a_second_run_is_fast_and_keeps_the_data(tmp_path):
    data, port = _prepared_data_dir(tmp_path), _free_port()
    base = f"http://127.0.0.1:{port}"

    log1 = tmp_path / "run1.log"
    proc = _start(data, port, log1)
    try:
        _wait_ready(proc, port, log1, timeout=900)
        out = log1.read_text()
        assert "Created users" in out and "annotator2" in out
        assert f"Refinery is running at http://127.0.0.1:{port}/" in out
        s = _curator_session(port)
        collections = s.get(f"{base}/api/collections/").json()
        demo = next(c for c in collections["results"] if c["name"] == "demo")
        assert s.get(f"{base}/collections/{demo['id']}/").status_code == 200
        assert "demo" in s.get(f"{base}/datasets/").text
        adapters = s.get(f"{base}/training/adapters/").text
        assert "demo-a1" in adapters  # make run's demo ends with a trained, promoted adapter
        # the task worker runs: a pipeline run queued through the API is picked up and finishes
        config = s.get(f"{base}/api/pipeline-configs/").json()["results"][0]
        run = s.post(f"{base}/api/pipeline-configs/{config['id']}/run/", json={},
                     headers={"X-CSRFToken": s.cookies["csrftoken"], "Referer": base}).json()
        deadline = time.monotonic() + 300
        while (job := s.get(f"{base}/api/jobs/{run['job']}/").json())["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, job
            time.sleep(1)
        assert job["status"] == "succeeded", job
    finally:
        _stop(proc)
    assert not any(f"--bind 127.0.0.1:{port}" in line for line in
                   subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines())

    log2 = tmp_path / "run2.log"
    proc = _start(data, port, log2)
    try:
        seconds = _wait_ready(proc, port, log2, timeout=300)
        out = log2.read_text()
        assert "already present" in out and "Created users" not in out
        assert seconds < 120, f"second make run took {seconds:.0f} s"
        s = _curator_session(port)  # the same password still works: the data was kept
        assert "demo-a1" in s.get(f"{base}/training/adapters/").text
    finally:
        _stop(proc)
