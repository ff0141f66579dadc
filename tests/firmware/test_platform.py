"""The Corstone-300 platform on QEMU, built with plain arm-none-eabi-gcc (no SCons):
the apps' behaviour, the log contract, the memory placement and the counter.
"""
import os
import re
import subprocess
import zlib

import pytest

from host import logparse, simulate

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIRMWARE = os.path.join(ROOT, "firmware")
PLATFORM = os.path.join(FIRMWARE, "platform")
HERE = os.path.dirname(os.path.abspath(__file__))

GCC = "arm-none-eabi-gcc"
QEMU = "qemu-system-arm"
CPU = ["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"]
CFLAGS = CPU + ["-O3", "-g", "-std=gnu11", "-ffreestanding", "-ffunction-sections", "-fdata-sections",
                "-Wall", "-Wextra", "-Werror", "-I", PLATFORM]
LDFLAGS = CPU + ["-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections",
                 "-L", PLATFORM, "-T", os.path.join(PLATFORM, "corstone300.ld")]
PLATFORM_SOURCES = ["startup.c", "platform.c", "uart.c", "retarget.c", "fault.c", "counter.c",
                    "exit.c", "crc32.c"]

ONCHIP_LDFLAGS = LDFLAGS[:-1] + [os.path.join(PLATFORM, "corstone300_onchip.ld")]


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """build(name, sources, extra_objects=(), ldflags=LDFLAGS) -> ELF path; platform
    objects compiled once."""
    out = tmp_path_factory.mktemp("firmware")
    objects = []
    for source in PLATFORM_SOURCES:
        obj = str(out / (source + ".o"))
        subprocess.run([GCC] + CFLAGS + ["-c", os.path.join(PLATFORM, source), "-o", obj],
                       check=True, capture_output=True, text=True)
        objects.append(obj)

    def _build(name, sources, extra_objects=(), ldflags=LDFLAGS):
        elf = str(out / (name + ".elf"))
        result = subprocess.run([GCC] + CFLAGS + list(sources) + objects + list(extra_objects)
                                + ldflags + ["-lm", "-o", elf], capture_output=True, text=True)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        return elf

    _build.out = out
    return _build


def run_qemu(elf, timeout=60):
    """(UART text, QEMU exit code or None when the timeout killed it)."""
    cmd = simulate.qemu_command(QEMU, "mps3-an547", elf)
    try:
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        return (expired.stdout or b"").decode(errors="replace"), None
    return done.stdout.decode(errors="replace"), done.returncode


def app(name):
    return os.path.join(FIRMWARE, "app", name, "main.c")


def test_platform_check_passes_with_deterministic_count(build):
    elf = build("platform_check", [app("platform_check")])
    first, rc = run_qemu(elf)
    assert rc == 0, first
    log = logparse.parse(first)
    assert log.finished and log.run_status == 0 and log.fault is None
    assert "check: pass" in first
    assert re.search(r"\(\d+\.\d{3} per MAC\)", first)  # float printf is linked without -u
    assert "MVE integer+float" in first and "FPU on" in first
    assert len(log.instructions) == 1 and log.instructions[0] > 0
    second, _ = run_qemu(elf)
    assert logparse.parse(second).instructions == log.instructions


def test_platform_check_kernel_is_mve(build):
    elf = build("platform_check", [app("platform_check")])
    disassembly = subprocess.run(["arm-none-eabi-objdump", "-d", "-m", "armv8.1-m.main", elf],
                                 capture_output=True, text=True, check=True).stdout
    kernel = disassembly.split("<matmul_mve>:", 1)[1].split("\n\n", 1)[0]
    assert "vldrw" in kernel and re.search(r"vmul\.f32\s+q", kernel)


def test_fault_reports_registers_and_exits_nonzero(build):
    text, rc = run_qemu(build("fault_demo", [app("fault_demo")]))
    assert rc == 99, text
    log = logparse.parse(text)
    assert log.finished and log.run_status == 99
    assert log.fault.startswith("BusFault")
    assert re.search(r"BFAR  0xf0000000 \(valid\)", text)
    assert re.search(r"CFSR  0x[0-9a-f]{8}", text) and re.search(r"PC    0x1000[0-9a-f]{4}", text)


def test_hang_is_left_to_the_timeout(build):
    text, rc = run_qemu(build("hang_demo", [app("hang_demo")]), timeout=3)
    assert rc is None
    assert "spinning forever" in text and logparse.END_MARKER not in text


def test_counter_counts_instructions_exactly(build):
    text, rc = run_qemu(build("counter_check", [os.path.join(HERE, "counter_check.c")]))
    assert rc == 0, text
    pairs = [(int(e), int(m)) for e, m in re.findall(r"spin: expected (\d+) measured (\d+)", text)]
    assert len(pairs) == 3
    for expected, measured in pairs:
        # one tick (31.25 instructions) of resolution plus the call around the loop
        assert expected <= measured <= expected + 64, (expected, measured)


def test_weights_blob_is_aligned_in_ddr_with_zlib_crc(build):
    weights = bytes((i * 7919 + 13) % 251 for i in range(1 << 20)) + b"tail!"  # odd length
    folder = build.out / "codegen"
    folder.mkdir(exist_ok=True)
    (folder / "weights.bin").write_bytes(weights)
    blob = str(build.out / "weights.o")
    subprocess.run([GCC] + CPU + ["-Wa,-I," + str(folder), "-c", os.path.join(PLATFORM, "blob.S"),
                                  "-o", blob], check=True)
    text, rc = run_qemu(build("blob_check", [os.path.join(HERE, "blob_check.c")], [blob]))
    assert rc == 0, text
    match = re.search(r"address 0x([0-9a-f]+) region (\S+) size (\d+) span (\d+) crc 0x([0-9a-f]+)", text)
    address, region, size, span, crc = match.groups()
    assert int(address, 16) % 16 == 0 and region == "DDR"
    assert int(size) == int(span) == len(weights)
    assert int(crc, 16) == zlib.crc32(weights)
    assert "incremental crc 0x%08x" % zlib.crc32(weights) in text


def weights_object(build, name, weights):
    folder = build.out / name
    folder.mkdir(exist_ok=True)
    (folder / "weights.bin").write_bytes(weights)
    blob = str(build.out / (name + ".o"))
    subprocess.run([GCC] + CPU + ["-Wa,-I," + str(folder), "-c", os.path.join(PLATFORM, "blob.S"),
                                  "-o", blob], check=True)
    return blob


def test_onchip_layout_puts_weights_in_qspi_and_the_arena_in_sram(build):
    """memory=onchip (corstone300_onchip.ld): read-only data in the QSPI flash,
    which QEMU loads from the ELF like any segment, the arena in SRAM, the
    app's buffers in DTCM, nothing in DDR; the CRC read back on the device matches."""
    weights = bytes((i * 131 + 7) % 253 for i in range(3 << 20))
    blob = weights_object(build, "onchip", weights)
    elf = build("blob_check_onchip", [os.path.join(HERE, "blob_check.c")], [blob], ONCHIP_LDFLAGS)
    text, rc = run_qemu(elf)
    assert rc == 0, text
    assert re.search(r"region QSPI size %d" % len(weights), text), text
    assert "crc 0x%08x" % zlib.crc32(weights) in text
    table = subprocess.run(["arm-none-eabi-readelf", "-W", "-S", elf], capture_output=True, text=True,
                           check=True).stdout
    address = {m.group(1): int(m.group(2), 16)
               for m in re.finditer(r"\]\s+(\.\S+)\s+\S+\s+([0-9a-f]{8})", table)}
    assert 0x38000000 <= address[".model_weights"] < 0x38800000   # QSPI
    assert 0x38000000 <= address[".rodata"] < 0x38800000          # QSPI
    assert not [s for s, a in address.items() if 0x60000000 <= a < 0xE0000000]  # nothing in DDR
    symbols = dict(line.split()[::-2] for line in subprocess.run(
        ["arm-none-eabi-nm", elf], capture_output=True, text=True, check=True).stdout.splitlines()
        if len(line.split()) == 3)
    assert 0x31000000 <= int(symbols["__model_arena_start"], 16) < 0x31200000  # SSE-300 SRAM
    assert 0x30000000 <= int(symbols["__ddr_bss_start"], 16) < 0x30080000      # DTCM


def test_onchip_layout_fails_the_link_with_one_clear_line_when_weights_do_not_fit(build):
    blob = weights_object(build, "too_big", bytes(9 << 20))  # fp32-sized weights: 9 MB > 8 MB QSPI
    elf = str(build.out / "too_big.elf")
    result = subprocess.run([GCC] + CFLAGS + [os.path.join(HERE, "blob_check.c"), blob]
                            + [str(build.out / (s + ".o")) for s in PLATFORM_SOURCES]
                            + ONCHIP_LDFLAGS + ["-lm", "-o", elf], capture_output=True, text=True)
    assert result.returncode != 0 and not os.path.exists(elf)
    assert "QSPI" in result.stderr and "overflowed" in result.stderr, result.stderr


def test_sections_land_in_their_regions(build):
    elf = build("platform_check", [app("platform_check")])
    table = subprocess.run(["arm-none-eabi-readelf", "-W", "-S", elf], capture_output=True, text=True,
                           check=True).stdout
    address = {m.group(1): int(m.group(2), 16)
               for m in re.finditer(r"\]\s+(\.\S+)\s+\S+\s+([0-9a-f]{8})", table)}
    assert address[".vectors"] == 0x10000000                   # ITCM, where reset reads it
    assert 0x10000000 <= address[".text"] < 0x10080000         # ITCM
    assert 0x30000000 <= address[".data"] < 0x30080000         # DTCM
    assert 0x30000000 <= address[".bss"] < 0x30080000          # DTCM
    assert 0x70000000 <= address[".rodata"] < 0x80000000       # DDR, Secure alias on the FVP
    assert 0x70000000 <= address[".model_arena"] < 0x80000000  # DDR


def test_a_signal_stops_the_simulator_and_writes_no_verdict(build, tmp_path):
    """Ctrl-C (or SIGTERM) during a run: host.simulate kills QEMU (which runs in
    its own session, out of the terminal's reach), exits 128 + signal with one
    line and leaves no log or status that could pass for a run."""
    import signal
    import sys
    import time
    elf = build("hang_demo_sig", [app("hang_demo")])
    log, status = tmp_path / "run.log", tmp_path / "run.status"
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc = subprocess.Popen([sys.executable, "-m", "host.simulate", "--elf", elf, "--log", str(log),
                                 "--status", str(status), "--timeout", "60"], cwd=ROOT,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 30
        while not _qemu_children(proc.pid) and time.time() < deadline:
            time.sleep(0.2)
        qemu = _qemu_children(proc.pid)
        assert qemu, "QEMU never started"
        proc.send_signal(sig)
        err = proc.communicate(timeout=30)[1]
        assert proc.returncode == 128 + sig, err
        errors = [l for l in err.splitlines() if l.startswith("error:")]
        assert len(errors) == 1 and "interrupted by %s" % signal.Signals(sig).name in errors[0], err
        assert "Traceback" not in err
        time.sleep(0.5)
        assert not [p for p in qemu if os.path.exists("/proc/%d" % p)], "QEMU outlived the run"
        assert not log.exists() and not status.exists()


def _qemu_children(pid):
    """PIDs of qemu-system-arm processes whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/comm" % entry) as handle:
                comm = handle.read().strip()
        except OSError:
            continue
        if int(fields[1]) == pid and comm.startswith("qemu-system"):
            found.append(int(entry))
    return found
