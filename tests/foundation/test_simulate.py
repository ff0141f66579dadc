"""Simulator command lines and verdicts (no simulator needed)."""
import json
import stat

from host import simulate


def test_qemu_command_is_deterministic_and_headless():
    cmd = simulate.qemu_command("qemu-system-arm", "mps3-an547", "app.elf", ["-d", "guest_errors"])
    assert cmd[:3] == ["qemu-system-arm", "-machine", "mps3-an547"]
    assert cmd[cmd.index("-icount") + 1] == "shift=0"
    assert "enable=on,target=native" in cmd
    assert cmd[cmd.index("-kernel") + 1] == "app.elf"
    assert cmd[-2:] == ["-d", "guest_errors"]


def test_fvp_command_follows_arms_conventions():
    cmd = simulate.fvp_command("FVP_Corstone_SSE-300_Ethos-U55", "app.elf")
    joined = " ".join(cmd)
    assert "mps3_board.uart0.out_file=-" in joined
    assert "mps3_board.uart0.shutdown_tag=EXITTHESIM" in joined
    assert "mps3_board.visualisation.disable-visualisation=1" in joined
    assert "telnetterminal0.start_telnet=0" in joined
    assert cmd[-2:] == ["-a", "app.elf"]


def test_verdicts():
    ok, reason = simulate.verdict("a.elf", "run-status: 0\nEXITTHESIM\n", 0, 10)
    assert ok["passed"] and reason is None
    hang, reason = simulate.verdict("a.elf", "booting\n", None, 10)
    assert not hang["passed"] and "hangs" in reason
    fault, reason = simulate.verdict("a.elf", "HardFault (exception 3) at PC 0x1\nrun-status: 99\nEXITTHESIM\n", 99, 10)
    assert not fault["passed"] and reason.startswith("firmware fault: HardFault")
    bad, reason = simulate.verdict("a.elf", "run-status: 3\nEXITTHESIM\n", 3, 10)
    assert not bad["passed"] and "status 3" in reason
    early, reason = simulate.verdict("a.elf", "text: x, score: 1\n", 0, 10)
    assert not early["passed"] and "before the end-of-run marker" in reason


def _fake_simulator(tmp_path, script):
    path = tmp_path / "fake-qemu"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_main_writes_log_and_status(tmp_path, capsys):
    fake = _fake_simulator(tmp_path, 'printf "hello\\r\\nrun-status: 0\\r\\nEXITTHESIM\\r\\n"\n')
    log, status = tmp_path / "run.log", tmp_path / "run.status"
    rc = simulate.main(["--qemu-binary", fake, "--elf", "a.elf", "--log", str(log),
                        "--status", str(status)])
    assert rc == 0
    assert log.read_text() == "hello\nrun-status: 0\nEXITTHESIM\n"
    assert json.loads(status.read_text())["passed"] is True


def test_main_timeout_kills_and_fails(tmp_path, capsys):
    fake = _fake_simulator(tmp_path, "echo booting; exec sleep 30\n")
    status = tmp_path / "run.status"
    status.write_text('{"passed": true}')  # a stale verdict must not survive
    rc = simulate.main(["--qemu-binary", fake, "--elf", "a.elf", "--log", str(tmp_path / "l"),
                        "--status", str(status), "--timeout", "1"])
    assert rc == 1
    assert json.loads(status.read_text())["passed"] is False
    assert "hangs" in capsys.readouterr().err


def test_missing_simulator_is_one_clear_line(tmp_path, capsys):
    status = tmp_path / "run.status"
    status.write_text('{"passed": true}')
    rc = simulate.main(["--qemu-binary", "no-such-qemu", "--elf", "a.elf",
                        "--log", str(tmp_path / "l"), "--status", str(status)])
    assert rc == 2 and not status.exists()
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no-such-qemu" in err and "not found" in err
