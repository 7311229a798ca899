"""Builds the `_tally` extension module from Swift (`swift build -c release`).

The Swift package's `TallyPython` product is a shared library exporting
`PyInit__tally`; it is copied to the extension's file name. The Swift standard
library is linked statically so the installed module needs no toolchain.
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
    def __init__(self, name):
        super().__init__(name, sources=[], py_limited_api=True)


class BuildSwift(build_ext):
    def build_extension(self, ext):
        swift = shutil.which("swift") or ("/opt/swift/usr/bin/swift" if os.path.exists("/opt/swift/usr/bin/swift") else None)
        if swift is None:
            sys.exit("error: building tally needs the Swift toolchain (`swift` on PATH, 6.0 or later); see README.md")
        include = sysconfig.get_paths().get("include", "")
        has_pc = subprocess.run(["pkg-config", "--exists", "python3"], capture_output=True).returncode == 0
        if not has_pc:
            sys.exit("error: building tally needs the Python headers (Debian: `apt-get install python3-dev`; "
                     f"pkg-config python3 not found; this interpreter's include folder is {include})")
        cmd = [swift, "build", "-c", "release", "--product", "TallyPython",
               "--scratch-path", os.path.join(ROOT, ".build-release"), "-Xswiftc", "-static-stdlib"]
        print(" ".join(cmd), flush=True)
        subprocess.check_call(cmd, cwd=ROOT)
        built = os.path.join(ROOT, ".build-release", "release", "libTallyPython.so")
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(built, target)




setup(
    ext_modules=[SwiftExtension("tally._tally")],
    cmdclass={"build_ext": BuildSwift},
    options={"bdist_wheel": {"py_limited_api": "cp311"}},
)
