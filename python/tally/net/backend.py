"""What the trainer runs on: the CPU and the kernels TallyNet chose there.

Debian's BLIS picks its kernels from a table of CPU models and falls back to reference
code on a CPU it does not know. TallyNet instead reads the CPU's instruction-set
features before BLIS's first call and names the fastest BLIS kernel set they allow
(AVX2+FMA: ``zen3``), so an unseen CPU still gets the fast path. A ``BLIS_ARCH_TYPE``
in the environment is kept as the user's choice; ``TALLY_BLIS_ARCH=table`` leaves BLIS
its own table. Where the CPU has AVX-512F and FMA, the Dense layers' products (forward,
input gradient, the momentum step) and the Winograd blocks' 36 products run on TallyNet's
own loops instead of BLIS (``TALLY_GEMM=blis`` keeps BLIS for every GEMM).
"""

from __future__ import annotations

from .. import _tallynet


def backend():
    """The CPU and TallyNet's kernels, as a dict (like threadpoolctl's report)::

        {"cpu": {"architecture": "x86_64", "vendor": "AuthenticAMD", "brand": "AMD EPYC",
                 "family": 25, "model": 17, "features": ["avx2", "fma", "avx512f", ...]},
         "gemm": {"library": "BLIS 0.9.0", "kernels": "zen3", "optimized": True,
                  "chosen_by": "instruction set (AVX2+FMA, AVX-512)"},
         "elementwise_kernels": "x86-64-v4 (AVX-512)",
         "own_kernels": "TallyNet AVX-512 (Dense products, Winograd block products, stacked-row convolutions)", "threads": 2}

    ``gemm["optimized"]`` is False when BLIS runs its reference sgemm micro-kernel.
    The first call configures BLIS (once per process). Each model's convolution
    algorithms (Winograd or direct) are in `Sequential.summary()`.
    """
    (arch, vendor, brand, family, model, features, library, kernels, optimized, chosen_by,
     elementwise, threads, _, own) = _tallynet.net_backend()
    return {
        "cpu": {"architecture": arch, "vendor": vendor, "brand": brand, "family": family, "model": model,
                "features": list(features)},
        "gemm": {"library": library, "kernels": kernels, "optimized": bool(optimized), "chosen_by": chosen_by},
        "elementwise_kernels": elementwise,
        "own_kernels": own,
        "threads": threads,
    }


def backend_report():
    """`backend()` as the lines `Sequential.summary()` and the benchmarks print (the
    core's own text)."""
    return _tallynet.net_backend()[12]
