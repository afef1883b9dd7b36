"""The binding installs offline on Debian: into a fresh venv (bookworm's
pip refuses the system's Python), from the in-tree build backend, with
nothing from an index; the installed package imports and probes."""
import os
import re
import subprocess
import sys

from conftest import BINDING, REPO


def test_installs_into_a_venv_offline(tmp_path, raceserver):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                   timeout=120)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-index",
                          "--disable-pip-version-check", BINDING],
                         capture_output=True, text=True, timeout=120)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    with open(os.path.join(REPO, "meson.build")) as f:
        version = re.search(r"version:\s*'([^']+)'", f.read()).group(1)
    s = raceserver()
    # Outside the sources, so that the import can only be the installed
    # package.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    p = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import wsprobe, wsprobe.asyncio; "
         "print(wsprobe.__file__); print(wsprobe.__version__); "
         "print(wsprobe.probe(%r, send='x').outcome)" % s.url()],
        capture_output=True, text=True, cwd=str(tmp_path), env=env,
        timeout=60)
    assert p.returncode == 0, p.stderr
    where, got_version, outcome = p.stdout.split()
    assert where.startswith(str(venv)), where
    assert got_version == version
    assert outcome == "ok"
    # The source tree is left as it was: no build directory, no egg-info.
    left = [n for n in os.listdir(BINDING)
            if n in ("build", "dist") or n.endswith(".egg-info")]
    assert left == []
    assert not os.path.exists(os.path.join(BINDING, "wsprobe",
                                           "_version.py"))
