"""A real Label Studio server for the test session (its own venv, loopback, clean environment).

The first run prepares a data dir (≈ 40 s of migrations, an admin and two annotator accounts with
legacy API tokens) and caches it under ``.cache/labelstudio-template/<version>/``; every session then
copies that dir and starts in ≈ 5 s. The real port is read from the server's log (Label Studio
silently moves to port+1 when the port is taken). Stopped with SIGTERM.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LS_VENV = Path(os.environ.get("REFINERY_LABEL_STUDIO_VENV", REPO / ".venv-labelstudio"))
CACHE = REPO / ".cache" / "labelstudio-template"
ADMIN_EMAIL = "admin@refinery.local"
ADMIN_TOKEN = "refinery-test-admin-token-0001"
PASSWORD = "refinery-test-password"
# Label Studio accounts of the two test annotators: same emails as tests/conftest.py gives our users.
LS_ANNOTATORS = {"annotator1@example.com": "refinery-test-annotator1-token",
                 "annotator2@example.com": "refinery-test-annotator2-token"}
PORT_RE = re.compile(r"(?:http://(?:127\.0\.0\.1|localhost|0\.0\.0\.0)|Listening at: \S+):(\d+)|port (\d+)")


class LabelStudioUnavailable(RuntimeError):
    pass


def ls_binary() -> Path:
    exe = LS_VENV / "bin" / "label-studio"
    if not exe.exists():
        raise LabelStudioUnavailable(
            f"Label Studio is not installed at {LS_VENV} (no bin/label-studio). Install it with "
            f"`scripts/labelstudio.sh install`, or point REFINERY_LABEL_STUDIO_VENV at an existing venv.")
    return exe


def ls_version() -> str:
    found = sorted(LS_VENV.glob("lib/python*/site-packages/label_studio-*.dist-info"))
    if not found:
        raise LabelStudioUnavailable(f"No label_studio dist-info in {LS_VENV}; the install looks broken.")
    return found[-1].name.removeprefix("label_studio-").removesuffix(".dist-info")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(data_dir: Path) -> dict:
    """Only what Label Studio needs: it reads unprefixed HOST, PORT, USERNAME, DEBUG … from the env."""
    return {
        "PATH": f"{LS_VENV / 'bin'}:/usr/bin:/bin", "HOME": str(data_dir), "PYTHONUNBUFFERED": "1",
        "LANG": "C.UTF-8",
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "LABEL_STUDIO_USERNAME": ADMIN_EMAIL, "LABEL_STUDIO_PASSWORD": PASSWORD,
        "LABEL_STUDIO_USER_TOKEN": ADMIN_TOKEN, "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true", "LABEL_STUDIO_COLLECT_ANALYTICS": "false",
        "LABEL_STUDIO_LATEST_VERSION_CHECK": "false", "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "",
        "LABEL_STUDIO_SSRF_PROTECTION_ENABLED": "false",
    }


@dataclass
class LabelStudioServer:
    data_dir: Path
    proc: subprocess.Popen | None = None
    port: int | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 120.0, port: int | None = None) -> "LabelStudioServer":
        exe = ls_binary()
        wanted = port or free_port()
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(exe), "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(wanted)],
            env=clean_env(self.data_dir), stdout=log, stderr=subprocess.STDOUT, cwd=self.data_dir,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        self.port = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LabelStudioUnavailable(f"Label Studio exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self.port is None:
                self.port = self._port_from_log(wanted)
            if self.port is not None and self.healthy():
                return self
            time.sleep(0.5)
        self.stop()
        raise LabelStudioUnavailable(f"Label Studio did not become healthy in {timeout:.0f} s:\n{self.log_tail()}")

    def _port_from_log(self, wanted: int) -> int | None:
        text = self.log_path.read_text(errors="replace")
        ports = [int(a or b) for a, b in PORT_RE.findall(text)]
        ports = [p for p in ports if wanted <= p <= wanted + 20]
        return ports[-1] if ports else None

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def log_tail(self, n: int = 40) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def run_cli(self, *args: str, timeout: float = 120) -> str:
        out = subprocess.run([str(ls_binary()), *args], env=clean_env(self.data_dir), cwd=self.data_dir,
                             capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise LabelStudioUnavailable(f"label-studio {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None


def prepare_template() -> Path:
    """The cached, fully migrated data dir for this Label Studio version (made once)."""
    ls_binary()
    target = CACHE / ls_version()
    if (target / ".ready").exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    work = CACHE / f"{ls_version()}.tmp-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    server = LabelStudioServer(work).start(timeout=300)
    try:
        for email, token in LS_ANNOTATORS.items():
            server.run_cli("init", "--username", email, "--password", PASSWORD, "--user-token", token,
                           "--enable-legacy-api-token", "--quiet")
    finally:
        server.stop()
    (work / ".ready").write_text(ls_version())
    if server.log_path and server.log_path.exists():
        server.log_path.unlink()
    try:
        work.rename(target)
    except OSError:  # another session won the race; use theirs
        shutil.rmtree(work, ignore_errors=True)
    return target


def start_session_server(base: Path) -> LabelStudioServer:
    template = prepare_template()
    data = base / "labelstudio-data"
    shutil.copytree(template, data)
    return LabelStudioServer(data).start()
