"""model.cpu: MKL's AVX2 path is chosen on AMD CPUs with AVX2+FMA only, and a
value the user set is kept."""
from model import cpu

AMD = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx fma avx2\n"
AMD_OLD = "vendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx\n"
INTEL = "vendor_id\t: GenuineIntel\nflags\t\t: fpu sse2 avx fma avx2\n"


def _info(tmp_path, text):
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    return str(path)


def test_cpu_type_by_vendor_and_flags(tmp_path):
    assert cpu.mkl_cpu_type(_info(tmp_path, AMD)) == "5"
    assert cpu.mkl_cpu_type(_info(tmp_path, AMD_OLD)) is None
    assert cpu.mkl_cpu_type(_info(tmp_path, INTEL)) is None
    assert cpu.mkl_cpu_type(str(tmp_path / "missing")) is None


def test_tune_for_training_keeps_user_values(tmp_path):
    env = {}
    cpu.tune_for_training(env, _info(tmp_path, AMD))
    assert env == {"OMP_NUM_THREADS": "1", "MKL_DEBUG_CPU_TYPE": "5"}
    env = {"OMP_NUM_THREADS": "2", "MKL_DEBUG_CPU_TYPE": "0"}
    cpu.tune_for_training(env, _info(tmp_path, AMD))
    assert env == {"OMP_NUM_THREADS": "2", "MKL_DEBUG_CPU_TYPE": "0"}
    env = {}
    cpu.tune_for_training(env, _info(tmp_path, INTEL))
    assert env == {"OMP_NUM_THREADS": "1"}
