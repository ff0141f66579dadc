"""The firmware log parser, on the shapes of output QEMU and the FVP produce."""
from host import logparse

QEMU_LOG = """Cortex-M55 OCR on Corstone-300
text: QBHOUSE, score: 0.986746
instructions: 1234567
run-status: 0
EXITTHESIM
"""


def test_recognizer_log():
    log = logparse.parse(QEMU_LOG)
    assert log.finished and log.run_status == 0 and log.fault is None
    assert [(r.text, r.score, r.index) for r in log.results] == [("QBHOUSE", 0.986746, None)]
    assert log.instructions == [1234567]
    assert log.other == ["Cortex-M55 OCR on Corstone-300"]


def test_fvp_log_with_crlf_and_simulator_chatter():
    text = ("telnetterminal0: Listening for serial connection on port 5000\r\n"
            "image: 3, text: a, b, score: 0.5\r\nrun-status: 0\r\nEXITTHESIM\r\n"
            "Info: /OSCI/SystemC: Simulation stopped by user.\r\n")
    log = logparse.parse(text)
    assert log.finished and log.run_status == 0
    assert (log.results[0].index, log.results[0].text) == (3, "a, b")
    assert not any("Simulation stopped" in line for line in log.other)


def test_fault_and_missing_marker():
    log = logparse.parse("BusFault (exception 5) at PC 0x10000d64\n"
                         "  BusFault: precise data bus error (PRECISERR)\nrun-status: 99\n")
    assert not log.finished
    assert log.fault == "BusFault (exception 5) at PC 0x10000d64"
    assert log.run_status == 99
    for first_line in ("SecureFault (exception 7) at PC 0x1", "NMI (exception 2) at PC 0x1",
                       "unexpected interrupt (exception 40) at PC 0x1"):
        assert logparse.parse(first_line + "\n").fault == first_line
    # Text that merely mentions a fault name is not a fault report.
    assert logparse.parse("text: BusFault, score: 0.9\n").fault is None


def test_kernel_profile_lines():
    log = logparse.parse("kernel: 0 fused_conv2d_add instructions: 4242\nEXITTHESIM\n")
    assert log.kernels == [(0, "fused_conv2d_add", 4242)]
