"""Checks the shared libraries of an installed tally wheel against a manylinux policy.

Run with the interpreter of the environment the wheel is installed in:

    python scripts/check_wheel_libs.py WHITELIST_FILE

WHITELIST_FILE lists, one per line, the system libraries the wheel's manylinux policy
allows (taken from auditwheel's own policy table by scripts/test_wheel.sh). Every
library that `ldd` resolves for the extension modules and the grafted libraries must be
one of those or a library inside the wheel (`tally.libs/`); no RUNPATH may point
outside the wheel (at a Swift toolchain, say); and `_tally` (the metrics) must need no
BLAS at all. Prints what it checked; exits 1 naming the first problem.
"""
import glob
import importlib.util
import os
import re
import subprocess
import sys

LOADER = re.compile(r"^(linux-vdso\.so\.\d|/lib64/ld-linux-x86-64\.so\.2|ld-linux-x86-64\.so\.2)")


def ldd(path):
    """[(soname, resolved path or None)] for every library `path` loads."""
    out = subprocess.run(["ldd", path], capture_output=True, text=True, check=True).stdout
    deps = []
    for line in out.splitlines():
        line = line.strip()
        if not line or LOADER.match(line):
            continue
        name, _, rest = line.partition(" => ")
        target = rest.split(" (")[0].strip() if rest else None
        deps.append((name.strip(), None if target in (None, "not found") else target))
    return deps


def dynamic_section(path):
    """(NEEDED sonames, RUNPATH/RPATH entries) read by readelf."""
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out)
    paths = re.findall(r"\((?:RUNPATH|RPATH)\)\s+Library (?:runpath|rpath): \[(.+?)\]", out)
    return needed, [p for entry in paths for p in entry.split(":")]


def main():
    allowed = {line.strip() for line in open(sys.argv[1]) if line.strip()}
    spec = importlib.util.find_spec("tally")
    package = os.path.dirname(spec.origin)
    site = os.path.dirname(package)
    grafted = os.path.join(site, "tally.libs")
    files = sorted(glob.glob(os.path.join(package, "**", "*.so"), recursive=True)
                   + glob.glob(os.path.join(grafted, "*.so*")))
    names = {os.path.basename(f) for f in files}
    assert {"_tally.abi3.so", "_tallynet.abi3.so"} <= names, f"extension modules missing from the wheel: {sorted(names)}"
    problems = []
    for f in files:
        rel = os.path.relpath(f, site)
        needed, runpaths = dynamic_section(f)
        for p in runpaths:
            if not p.startswith("$ORIGIN"):
                problems.append(f"{rel}: RUNPATH {p!r} points outside the wheel")
        for soname, target in ldd(f):
            if target is None:
                problems.append(f"{rel}: needs {soname}, which is not found")
            elif os.path.realpath(target).startswith(os.path.realpath(grafted) + os.sep):
                continue
            elif soname not in allowed:
                problems.append(f"{rel}: needs {soname} ({target}), outside the policy and not in the wheel")
        if os.path.basename(f) == "_tally.abi3.so" and any("blas" in n or "blis" in n for n in needed):
            problems.append(f"{rel}: the metrics module needs a BLAS: {needed}")
        print(f"{rel}: NEEDED {', '.join(needed)}" + (f"; RUNPATH {':'.join(runpaths)}" if runpaths else ""))
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)
    print(f"{len(files)} libraries: every dependency is in the wheel or allowed by the policy")


if __name__ == "__main__":
    main()
