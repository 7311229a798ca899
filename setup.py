"""Builds the extension modules from Swift (`swift build -c release`, once for both).

The Swift package's `TallyPython` product is a shared library exporting
`PyInit__tally` (the metrics; it links no BLAS), and `TallyNetPython` one exporting
`PyInit__tallynet` (the trainer, on BLIS); each is copied to its extension's file
name. The Swift standard library is linked statically so the installed modules need
no toolchain.
"""
import os
import shutil
import subprocess
import sys
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


class SwiftExtension(Extension):
    """An extension module that is the Swift package's dynamic library `product`."""

    def __init__(self, name, product):
        super().__init__(name, sources=[], py_limited_api=True)
        self.product = product


EXTENSIONS = [SwiftExtension("tally._tally", "TallyPython"), SwiftExtension("tally._tallynet", "TallyNetPython")]


class BuildSwift(build_ext):
    def build_extensions(self):
        # One scratch folder for both products: the targets they share (Tally, the
        # bridge's plumbing) compile once, the second build reuses them.
        for ext in self.extensions:
            self.swift_build(ext.product)
        for ext in self.extensions:
            built = os.path.join(ROOT, ".build-release", "release", f"lib{ext.product}.so")
            target = self.get_ext_fullpath(ext.name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(built, target)

    def swift_build(self, product):
        swift = shutil.which("swift") or ("/opt/swift/usr/bin/swift" if os.path.exists("/opt/swift/usr/bin/swift") else None)
        if swift is None:
            sys.exit("error: building tally needs the Swift toolchain (`swift` on PATH, 6.0 or later); see README.md")
        include = sysconfig.get_paths().get("include", "")
        has_pc = subprocess.run(["pkg-config", "--exists", "python3"], capture_output=True).returncode == 0
        if not has_pc:
            sys.exit("error: building tally needs the Python headers (Debian: `apt-get install python3-dev`; "
                     f"pkg-config python3 not found; this interpreter's include folder is {include})")
        cmd = [swift, "build", "-c", "release", "--product", product,
               "--scratch-path", os.path.join(ROOT, ".build-release"), "-Xswiftc", "-static-stdlib"]
        print(" ".join(cmd), flush=True)
        subprocess.check_call(cmd, cwd=ROOT)


setup(
    ext_modules=EXTENSIONS,
    cmdclass={"build_ext": BuildSwift},
    options={"bdist_wheel": {"py_limited_api": "cp311"}},
)
