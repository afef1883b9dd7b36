"""A PEP 517 build backend for the wsprobe binding, standard library only.

The binding is pure Python (ctypes), so a wheel is a zip of the wsprobe
package and its metadata; nothing needs building and nothing comes from an
index. The version is the one in the repository's meson.build (or, in an
sdist, its PKG-INFO), written into the wheel as wsprobe/_version.py.
"""
import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "wsprobe"
TAG = "py3-none-any"


def _version():
    meson = os.path.join(ROOT, "..", "..", "meson.build")
    pkg_info = os.path.join(ROOT, "PKG-INFO")
    for path, pattern in ((meson, r"version:\s*'([^']+)'"),
                          (pkg_info, r"^Version: (\S+)$")):
        try:
            with open(path, encoding="utf-8") as f:
                m = re.search(pattern, f.read(), re.M)
        except OSError:
            continue
        if m:
            return m.group(1)
    raise RuntimeError("no version: neither %s nor %s" % (meson, pkg_info))


def _metadata(version):
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n"
            "Summary: Probe WebSocket servers for race conditions "
            "(ctypes binding over libwsprobe)\nLicense: MIT\n"
            "Requires-Python: >=3.11\n"
            "Description-Content-Type: text/markdown\n\n%s"
            % (NAME, version, readme))


def _package_files():
    """(archive name, path) of every module of the package."""
    pkg = os.path.join(ROOT, NAME)
    for name in sorted(os.listdir(pkg)):
        if name.endswith(".py") and name != "_version.py":
            yield "%s/%s" % (NAME, name), os.path.join(pkg, name)


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest())
    return "%s,sha256=%s,%d" % (name, digest.rstrip(b"=").decode(), len(data))


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory,
                                     config_settings=None):
    version = _version()
    dist_info = "%s-%s.dist-info" % (NAME, version)
    os.makedirs(os.path.join(metadata_directory, dist_info), exist_ok=True)
    with open(os.path.join(metadata_directory, dist_info, "METADATA"), "w",
              encoding="utf-8") as f:
        f.write(_metadata(version))
    return dist_info


def build_wheel(wheel_directory, config_settings=None,
                metadata_directory=None):
    version = _version()
    dist_info = "%s-%s.dist-info" % (NAME, version)
    wheel = "%s-%s-%s.whl" % (NAME, version, TAG)
    entries = []
    for arcname, path in _package_files():
        with open(path, "rb") as f:
            entries.append((arcname, f.read()))
    entries.append(("%s/_version.py" % NAME,
                    ("version = %r\n" % version).encode()))
    entries.append(("%s/METADATA" % dist_info,
                    _metadata(version).encode("utf-8")))
    entries.append(("%s/WHEEL" % dist_info,
                    ("Wheel-Version: 1.0\nGenerator: wsprobe_build\n"
                     "Root-Is-Purelib: true\nTag: %s\n" % TAG).encode()))
    entries.append(("%s/top_level.txt" % dist_info, b"wsprobe\n"))
    record = "\n".join(_record_line(n, d) for n, d in entries)
    record += "\n%s/RECORD,,\n" % dist_info
    entries.append(("%s/RECORD" % dist_info, record.encode()))
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w",
                         zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(name, data)
    return wheel


def build_sdist(sdist_directory, config_settings=None):
    version = _version()
    base = "%s-%s" % (NAME, version)
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as t:
        for rel in ["pyproject.toml", "README.md",
                    "build_backend/wsprobe_build.py"] + [
                        a for a, _ in _package_files()]:
            t.add(os.path.join(ROOT, rel), arcname="%s/%s" % (base, rel))
        info = _metadata(version).encode("utf-8")
        ti = tarfile.TarInfo("%s/PKG-INFO" % base)
        ti.size = len(info)
        t.addfile(ti, io.BytesIO(info))
    return name
