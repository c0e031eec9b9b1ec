"""Runs the steps of action.yml the way a runner would, on this machine: the install step
against a local copy of a release (served on loopback), a corrupted checksum, then the plan and
apply steps. Usage: python test_action.py BINARY WORKDIR (PyYAML installed)."""

import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import tarfile
import threading
from functools import partial
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def steps():
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    found = {step["name"]: step for step in action["runs"]["steps"]}
    for step in found.values():
        # Inputs reach scripts through env only: an expression in a script is an injection.
        assert "${{" not in step["run"], f"{step['name']} has an expression in its script"
    return found, action["inputs"]


def run(step, env, cwd, expect):
    result = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    if result.returncode != expect:
        sys.exit(f"{step['name']}: exit {result.returncode}, expected {expect}\n{output}")
    return output


def main(binary, work):
    work = Path(work)
    found, inputs = steps()
    version = inputs["version"]["default"]
    release = work / "release"
    name = f"tokenplan-v{version}-x86_64-unknown-linux-musl"
    (release / name).mkdir(parents=True)
    shutil.copy2(binary, release / name / "tokenplan")
    archive = release / f"{name}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(release / name, arcname=name)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    (release / "SHA256SUMS").write_text(f"{digest}  {archive.name}\n")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = partial(Quiet, directory=str(release))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    runner = {
        "RUNNER_OS": "Linux",
        "RUNNER_ARCH": "X64",
        "VERSION": version,
        "ACTION_REPOSITORY": "acme/tokenplan",
        "ACTION_PATH": str(ROOT),
        "TOKENPLAN_RELEASE_URL": f"http://127.0.0.1:{server.server_address[1]}",
    }
    try:
        temp = work / "runner-temp"
        temp.mkdir()
        github_path = work / "github-path"
        install = {**runner, "RUNNER_TEMP": str(temp), "GITHUB_PATH": str(github_path)}
        out = run(found["Install tokenplan"], install, work, 0)
        # The pinned version is the one being released: bump action.yml with Cargo.toml.
        assert f"tokenplan {version}\n" in out, f"action.yml pins {version}:\n{out}"
        bin_dir = github_path.read_text().strip()
        assert (Path(bin_dir) / "tokenplan").is_file(), bin_dir

        # A checksum that does not match stops the install.
        (release / "SHA256SUMS").write_text(f"{'0' * 64}  {archive.name}\n")
        bad_temp = work / "bad-temp"
        bad_temp.mkdir()
        out = run(found["Install tokenplan"], {**install, "RUNNER_TEMP": str(bad_temp)}, work, 1)
        assert "FAILED" in out, out
    finally:
        server.shutdown()

    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    project = work / "project"
    shutil.copytree(ROOT / "fixtures/projects/quickstart", project)
    plain = {"PATH": path, "GITHUB_EVENT_NAME": "push", "LABELS": "false", "RUNNER_TEMP": str(work)}
    out = run(found["Plan"], {**plain, "PROJECT": str(project)}, work, 0)
    assert "::notice" in out and "--github-comment" not in out, out
    out = run(
        found["Apply"],
        {**plain, "PROJECT": str(project), "PLAN_FILE": "", "ALLOW_DESTROY": " tracker , public trend"},
        work,
        0,
    )
    assert "Apply complete! Tokens: 3 added" in out, out
    print("action.yml: install (checksum verified, mismatch refused), plan and apply steps pass")


if __name__ == "__main__":
    main(*sys.argv[1:])
