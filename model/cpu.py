"""Process-level CPU settings for training, applied before Paddle is imported."""
import os


def mkl_cpu_type(cpuinfo="/proc/cpuinfo"):
    """``MKL_DEBUG_CPU_TYPE`` value for this CPU, or None.

    The Paddle wheel's MKL (libmklml_intel) takes its generic, non-AVX2 code
    paths on AMD CPUs.  ``MKL_DEBUG_CPU_TYPE=5`` selects its AVX2 kernels: on the
    2-core AMD EPYC machines a PP-OCRv3 training step (batch 16, 32x320, one
    thread) went from 2.25 s to 1.32 s, the convolutions' GEMMs about 2x
    faster.  Only for AMD CPUs that have AVX2 and FMA (the kernels need them)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            text = f.read(65536)
    except OSError:
        return None
    vendor = flags = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "vendor_id" and not vendor:
            vendor = value.strip()
        elif key == "flags" and not flags:
            flags = value
    if vendor == "AuthenticAMD" and {"avx2", "fma"} <= set(flags.split()):
        return "5"
    return None


def tune_for_training(environ=os.environ, cpuinfo="/proc/cpuinfo"):
    """One OpenMP thread per process (measured faster than two on 2 cores, and
    data-parallel processes use the cores) and MKL's AVX2 path on AMD.  Values
    the user set are kept.  Must run before Paddle (and its MKL) is loaded."""
    environ.setdefault("OMP_NUM_THREADS", "1")
    cpu_type = mkl_cpu_type(cpuinfo)
    if cpu_type:
        environ.setdefault("MKL_DEBUG_CPU_TYPE", cpu_type)
