"""Project-level checks: system checks, production deploy checks, migrations in sync and applying."""
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args, env_extra=None, cwd=ROOT):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_system_checks_pass():
    r = _manage("check", "--fail-level", "WARNING")
    assert r.returncode == 0, r.stdout + r.stderr


def test_deploy_checks_clean_with_production_settings():
    r = _manage("check", "--deploy", "--fail-level", "WARNING", env_extra={
        "DJANGO_SETTINGS_MODULE": "refinery.settings_production",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "refinery.example.com",
    })
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no issues" in r.stdout


def test_openapi_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    r = _manage("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    schema = out.read_text()
    for path in ("/api/jobs/", "/api/augment-runs/", "/api/augment-methods/"):
        assert path in schema


def test_production_settings_refuse_the_dev_secret_key():
    r = _manage("check", env_extra={"DJANGO_SETTINGS_MODULE": "refinery.settings_production", "SECRET_KEY": ""})
    assert r.returncode != 0 and "SECRET_KEY" in r.stderr


def _fresh_database_url(tmp_path) -> tuple[str, callable]:
    """A brand-new empty database of the kind the suite runs on (SQLite file or PostgreSQL)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return f"sqlite:///{tmp_path / 'migrate.sqlite3'}", lambda: None
    import psycopg

    name = f"refinery_migrate_{secrets.token_hex(4)}"
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url.rsplit("/", 1)[0] + "/" + name, drop


def test_migrations_match_models_and_apply(tmp_path):
    r = _manage("makemigrations", "--check", "--dry-run")
    assert r.returncode == 0, "models changed without a migration:\n" + r.stdout + r.stderr
    # Apply every migration to a fresh database (the tests otherwise build tables from models),
    # then create the users twice: the second run must find them and change nothing.
    url, drop = _fresh_database_url(tmp_path)
    env = {"REFINERY_DATA_DIR": str(tmp_path), "DATABASE_URL": url}
    try:
        r = _manage("migrate", "--noinput", env_extra=env)
        assert r.returncode == 0, r.stdout + r.stderr
        r = _manage("bootstrap", "--no-demo", env_extra=env)
        assert r.returncode == 0 and "Created users" in r.stdout, r.stdout + r.stderr
        r = _manage("bootstrap", "--no-demo", env_extra=env)
        assert r.returncode == 0 and "exist" in r.stdout, r.stdout + r.stderr
    finally:
        drop()


def test_production_settings_refuse_to_start_without_allowed_hosts():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "ALLOWED_HOSTS"}
    env.update(DJANGO_SETTINGS_MODULE="refinery.settings_production", SECRET_KEY=secrets.token_urlsafe(60))
    for value in (None, "", " , "):
        run_env = env if value is None else dict(env, ALLOWED_HOSTS=value)
        r = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=run_env, capture_output=True,
                           text=True, timeout=300)
        assert r.returncode != 0 and "Set ALLOWED_HOSTS" in r.stderr, (value, r.stderr[-500:])
    r = _manage("check", "--deploy", "--fail-level", "WARNING", env_extra=dict(env, ALLOWED_HOSTS="refinery.example.com"))
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.slow
def test_setup_recreates_a_half_created_venv_and_keeps_a_working_one(tmp_path):
    """`python3 -m venv` that failed half-way (e.g. Debian without python3.11-venv: bin/python, no pip)
    must not be taken for a venv on the next run."""
    venv = tmp_path / "venv"
    env = {**os.environ, "REFINERY_VENV": str(venv), "PYTHON": sys._base_executable}
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    assert (venv / "bin" / "python").exists()

    def setup_venv():
        r = subprocess.run(["bash", "scripts/setup.sh", "venv"], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stderr

    out = setup_venv()
    assert "incomplete or broken" in out and "Creating" in out
    assert subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "--version"], capture_output=True,
                          timeout=120).returncode == 0
    (venv / "keep-me").write_text("a working venv is left alone")
    out = setup_venv()
    assert "Creating" not in out and (venv / "keep-me").exists()
    # Only a bin/ folder left over from an interrupted run is recreated too.
    import shutil

    shutil.rmtree(venv)
    (venv / "bin").mkdir(parents=True)
    assert "Creating" in setup_venv() and (venv / "bin" / "pip").exists()
