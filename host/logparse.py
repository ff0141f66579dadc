"""The one reader of the firmware's UART log (QEMU and FVP alike).

Format (docs/architecture.md):

    text: QBHOUSE, score: 0.986746          one line per recognized image
    image: 12, text: ..., score: ...         the test runner's lines name the image
    instructions: 1234567890                 counter around the measured work
    kernel: <index> <name> instructions: N   per-kernel profile lines (bench build)
    HardFault ... / CFSR=...                 fault report lines
    run-status: 0                            the firmware's exit status
    EXITTHESIM                               end-of-run marker (FVP shutdown tag)

Anything else (banners, the FVP's own messages) is kept as free text.
"""
import re
from dataclasses import dataclass, field

END_MARKER = "EXITTHESIM"

_RESULT = re.compile(r"^(?:image: (?P<index>\d+), )?text: (?P<text>.*), score: (?P<score>[-+0-9.eE]+|nan)\s*$")
_INSTRUCTIONS = re.compile(r"^instructions: (?P<count>\d+)\s*$")
_KERNEL = re.compile(r"^kernel: (?P<index>\d+) (?P<name>\S+) instructions: (?P<count>\d+)\s*$")
_STATUS = re.compile(r"^run-status: (?P<status>-?\d+)\s*$")
# The first line of the platform's fault report: "<exception> (exception N) at PC 0x...".
_FAULT = re.compile(r"^(?P<what>(?:HardFault|MemManage|BusFault|UsageFault|SecureFault|NMI"
                    r"|unexpected interrupt|unexpected exception) \(exception \d+\).*)$")


@dataclass
class Recognition:
    text: str
    score: float
    index: int = None


@dataclass
class RunLog:
    results: list = field(default_factory=list)
    instructions: list = field(default_factory=list)
    kernels: list = field(default_factory=list)
    run_status: int = None
    finished: bool = False
    fault: str = None
    other: list = field(default_factory=list)


def parse(text):
    """Parse a whole log. Lines after the end-of-run marker are ignored."""
    log = RunLog()
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if line.strip() == END_MARKER:
            log.finished = True
            break
        match = _RESULT.match(line)
        if match:
            index = match.group("index")
            log.results.append(Recognition(match.group("text"), float(match.group("score")),
                                           int(index) if index is not None else None))
            continue
        match = _INSTRUCTIONS.match(line)
        if match:
            log.instructions.append(int(match.group("count")))
            continue
        match = _KERNEL.match(line)
        if match:
            log.kernels.append((int(match.group("index")), match.group("name"),
                                int(match.group("count"))))
            continue
        match = _STATUS.match(line)
        if match:
            log.run_status = int(match.group("status"))
            continue
        match = _FAULT.match(line)
        if match and log.fault is None:
            log.fault = match.group("what").strip()
            continue
        log.other.append(line)
    return log
