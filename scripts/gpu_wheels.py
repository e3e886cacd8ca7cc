"""The wheels the GPU machine lacks: fetch them here, install them there. Standard library only (it
runs on the GPU machine before pydantic, TRL or anything else of cptbench's is importable).

    python scripts/gpu_wheels.py fetch [--list scripts/gpu-wheels.txt] [--out .gpu-wheels/wheels] \
        [--python-version 3.12] [--max-mib 48]
    python scripts/gpu_wheels.py install --wheels .gpu-wheels/wheels --target DIR --report FILE.json
    python scripts/gpu_wheels.py total [--wheels .gpu-wheels/wheels] [--max-mib 48]

``fetch`` downloads each line of the list for CPython ``--python-version`` on manylinux x86-64
(``pip download --only-binary=:all: --no-deps``); a package published only as a source archive is
built into a pure-Python wheel here (``pip wheel --no-deps``; anything but ``*-none-any`` is refused).
``drop=GLOB,...`` on a line removes files from that wheel and from its RECORD. It fails when the
wheels together exceed ``--max-mib``.

``install`` installs, with ``pip install --no-index --no-deps --target``, each wheel whose package
this interpreter has not installed, or has in an older version; it writes what it installed, what
was there already, and what it could not install, to ``--report``.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MIB = 2**20
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
WHEEL_NAME = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-(?P<python>[^-]+)-(?P<abi>[^-]+)-(?P<platform>.+)\.whl$")


def read_list(path: Path) -> list[tuple[str, list[str]]]:
    """(requirement, drop globs) per non-comment line."""
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, *options = line.split()
        drop = []
        for option in options:
            key, _, value = option.partition("=")
            if key != "drop" or not value:
                raise SystemExit(f"{path}: {line!r}: unknown option {option!r} (only drop=GLOB,...)")
            drop.extend(value.split(","))
        entries.append((requirement, drop))
    return entries


def pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)


def fetch_one(requirement: str, out: Path, python_version: str) -> Path:
    """The wheel of ``requirement`` for the target interpreter, in ``out``."""
    abi = "cp" + python_version.replace(".", "")
    with tempfile.TemporaryDirectory() as tmp:
        platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
        done = pip("download", "--quiet", "--no-deps", "--only-binary=:all:", "--python-version", python_version,
                   "--implementation", "cp", "--abi", abi, *platforms, "-d", tmp, requirement)
        if done.returncode != 0:  # published as a source archive only: build it (pure Python or refused)
            done = pip("wheel", "--quiet", "--no-deps", "-w", tmp, requirement)
            built = list(Path(tmp).glob("*.whl"))
            if done.returncode != 0 or not built or not built[0].name.endswith("-none-any.whl"):
                raise SystemExit(f"{requirement}: no wheel for CPython {python_version} manylinux x86-64, and no pure-Python "
                                 f"build either\n{done.stderr[-2000:]}")
        wheel = next(Path(tmp).glob("*.whl"))
        target = out / wheel.name
        os.replace(wheel, target)
    return target


def slim(wheel: Path, drop: list[str]) -> tuple[int, int]:
    """Rewrite ``wheel`` without the files matching ``drop`` (their RECORD lines go too); (files
    dropped, bytes saved)."""
    before = wheel.stat().st_size
    tmp = wheel.with_suffix(".tmp")
    dropped = set()
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        names = [i.filename for i in source.infolist()]
        dropped = {n for n in names if any(fnmatch.fnmatch(n, pattern) for pattern in drop)}
        for info in source.infolist():
            if info.filename in dropped:
                continue
            data = source.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                lines = data.decode("utf-8").splitlines()
                data = ("\n".join(line for line in lines if line.split(",", 1)[0] not in dropped) + "\n").encode("utf-8")
            target.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    os.replace(tmp, wheel)
    return len(dropped), before - wheel.stat().st_size


def total(wheels: Path) -> tuple[int, list[tuple[str, int]]]:
    sizes = sorted(((w.name, w.stat().st_size) for w in wheels.glob("*.whl")), key=lambda x: -x[1])
    return sum(size for _, size in sizes), sizes


def fetch(args) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.whl"):
        old.unlink()
    entries = read_list(args.list)
    slimmed = {}
    for requirement, drop in entries:
        wheel = fetch_one(requirement, args.out, args.python_version)
        if drop:
            files, saved = slim(wheel, drop)
            slimmed[wheel.name] = {"files_dropped": files, "mib_saved": round(saved / MIB, 2), "drop": drop}
        print(f"{wheel.stat().st_size / MIB:7.2f} MiB  {wheel.name}{'  (slimmed)' if drop else ''}")
    size, sizes = total(args.out)
    manifest = {"python_version": args.python_version, "platforms": list(PLATFORMS), "list": str(args.list),
                "total_mib": round(size / MIB, 2), "max_mib": args.max_mib, "slimmed": slimmed,
                "wheels": {name: round(s / MIB, 3) for name, s in sizes}}
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    print(f"{len(sizes)} wheels, {size / MIB:.2f} MiB in all (limit {args.max_mib} MiB) in {args.out}")
    if size > args.max_mib * MIB:
        print(f"too large: {size / MIB:.2f} MiB > {args.max_mib} MiB", file=sys.stderr)
        return 1
    return 0


def _version_key(version: str):
    try:
        from packaging.version import Version

        return Version(version)
    except Exception:  # packaging missing or an odd version: compare the leading numbers
        return tuple(int(part) for part in re.findall(r"\d+", version)[:4])


def needs_install(name: str, version: str) -> str | None:
    """Why the wheel is needed (None: this interpreter has the package in that version or newer)."""
    try:
        present = metadata.version(name)
    except metadata.PackageNotFoundError:
        return "missing"
    try:
        older = _version_key(present) < _version_key(version)
    except TypeError:
        older = present != version
    return f"older ({present})" if older else None


def install(args) -> int:
    report: dict[str, object] = {"python": sys.version.split()[0], "target": str(args.target), "installed": {},
                                 "present": {}, "not_installable": {}, "pip": None}
    wheels = sorted(args.wheels.glob("*.whl")) if args.wheels.is_dir() else []
    if not wheels:
        report["note"] = f"no wheels in {args.wheels} (run ./scripts/gpu-wheels.sh where a registry is reachable)"
    here = f"cp{sys.version_info.major}{sys.version_info.minor}"
    chosen = []
    for wheel in wheels:
        match = WHEEL_NAME.match(wheel.name)
        if not match:
            report["not_installable"][wheel.name] = "not a wheel file name"
            continue
        name, version = match["name"], match["version"]
        if match["python"].startswith("cp") and here not in match["python"].split("."):
            why = needs_install(name, version)
            if why:
                report["not_installable"][name] = f"{why}; the wheel is for {match['python']}, this is {here}"
            else:
                report["present"][name] = metadata.version(name)
            continue
        why = needs_install(name, version)
        if why:
            report["installed"][name] = f"{version} ({why})"
            chosen.append(str(wheel))
        else:
            report["present"][name] = metadata.version(name)
    code = 0
    if chosen and "site-packages" not in str(args.target):
        # dill (datasets' fingerprints) pickles a module whose path has no "site-packages" by value,
        # and pyarrow's module does not pickle
        report["pip"] = {"returncode": 2, "stderr": f"--target {args.target}: the path must contain 'site-packages'"}
        chosen, code = [], 2
    if chosen:
        args.target.mkdir(parents=True, exist_ok=True)
        done = pip("install", "--quiet", "--no-index", "--no-deps", "--upgrade", "--target", str(args.target), *chosen)
        report["pip"] = {"returncode": done.returncode, "stderr": done.stderr[-3000:]}
        code = done.returncode
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"wheels: {len(report['installed'])} installed into {args.target}, {len(report['present'])} present already, "
          f"{len(report['not_installable'])} not installable")
    return code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("fetch")
    one.add_argument("--list", type=Path, default=REPO / "scripts" / "gpu-wheels.txt")
    one.add_argument("--out", type=Path, default=REPO / ".gpu-wheels" / "wheels")
    one.add_argument("--python-version", default="3.12")
    one.add_argument("--max-mib", type=float, default=48)
    two = commands.add_parser("install")
    two.add_argument("--wheels", type=Path, default=REPO / ".gpu-wheels" / "wheels")
    two.add_argument("--target", type=Path, required=True)
    two.add_argument("--report", type=Path, required=True)
    three = commands.add_parser("total")
    three.add_argument("--wheels", type=Path, default=REPO / ".gpu-wheels" / "wheels")
    three.add_argument("--max-mib", type=float, default=48)
    args = parser.parse_args()
    if args.command == "fetch":
        return fetch(args)
    if args.command == "install":
        return install(args)
    size, _ = total(args.wheels)
    print(f"{size / MIB:.2f} MiB in {args.wheels} (limit {args.max_mib} MiB)")
    return 0 if size <= args.max_mib * MIB else 1


if __name__ == "__main__":
    sys.exit(main())
