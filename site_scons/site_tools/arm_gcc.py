"""arm-none-eabi-gcc for the Corstone-300's Cortex-M55: compile, assemble, link.

Builders
  env.Firmware(elf, sources, LINKSCRIPT=...)  objects + ELF, with the link map
                                              (``<elf>.map``) and a size report
                                              (``<elf>.size.json``) as declared targets.

Settings come from toolchain.cfg through ``env['CFG']`` (gcc_prefix, cpu,
float_abi, opt_level). The compiler's version string is a dependency of every
object and ELF, so a toolchain upgrade rebuilds the firmware.
"""
import json
import os
import shutil
import subprocess

import SCons.Action
import SCons.Builder
import SCons.Errors

WARNINGS = ["-Wall", "-Wextra", "-Werror=implicit-function-declaration"]


def _cpu_flags(cfg):
    return ["-mcpu=%s" % cfg["cpu"], "-mthumb", "-mfloat-abi=%s" % cfg["float_abi"]]


def _gcc_version(gcc):
    try:
        out = subprocess.run([gcc, "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.splitlines()[0].strip()


def _size_report(target, source, env):
    """Bytes per output section and per memory region, from the ELF's section table."""
    elf = str(source[0])
    out = subprocess.run([env.subst("$READELF"), "-W", "-S", elf],
                         capture_output=True, text=True, check=True).stdout
    sections = {}
    for line in out.splitlines():
        fields = line.replace("[ ", "[").split()
        # [Nr] Name Type Addr Off Size ES Flg Lk Inf Al
        if len(fields) >= 7 and fields[0].startswith("[") and fields[0] != "[Nr]":
            name, kind, addr, size = fields[1], fields[2], fields[3], fields[5]
            flags = fields[7] if len(fields) >= 11 else ""
            if "A" not in flags or kind == "NULL":
                continue  # not loaded: debug info, symbol tables
            sections[name] = {"address": int(addr, 16), "bytes": int(size, 16),
                              "loaded": kind != "NOBITS"}
    regions = {}
    for info in sections.values():
        region = memory_region(info["address"])
        regions[region] = regions.get(region, 0) + info["bytes"]
    report = {"elf": os.path.basename(elf), "sections": sections, "regions": regions,
              "flash_bytes": sum(s["bytes"] for s in sections.values() if s["loaded"]),
              "ram_bytes": sum(s["bytes"] for s in sections.values() if not s["loaded"])}
    with open(str(target[0]), "w") as handle:
        json.dump(report, handle, indent=1, sort_keys=True)
        handle.write("\n")
    return 0


# Corstone-300 memory map (secure and non-secure aliases)
REGIONS = [
    (0x00000000, 0x00080000, "ITCM"), (0x10000000, 0x10080000, "ITCM"),
    (0x01000000, 0x01200000, "SRAM"), (0x11000000, 0x11200000, "SRAM"),
    (0x20000000, 0x20080000, "DTCM"), (0x30000000, 0x30080000, "DTCM"),
    (0x21000000, 0x21400000, "ISRAM"), (0x31000000, 0x31400000, "ISRAM"),
    (0x28000000, 0x28800000, "QSPI"), (0x38000000, 0x38800000, "QSPI"),
    (0x60000000, 0xE0000000, "DDR"),
]


def memory_region(address):
    for low, high, name in REGIONS:
        if low <= address < high:
            return name
    return "other"


# What the two layouts (corstone300.ld, corstone300_onchip.ld) INCLUDE.
LINKSCRIPT_INCLUDES = ("corstone300_memory.ld", "corstone300_sections.ld")


def _firmware(env, target, sources, LINKSCRIPT, **kw):
    """Compile ``sources`` and link them into ``target`` (an ELF) with ``LINKSCRIPT``."""
    linkscript = env.File(LINKSCRIPT).srcnode()  # no copy in the variant dir
    # -L: the script INCLUDEs its memory map and sections from its own folder
    nodes = env.Program(target, sources,
                        LINKFLAGS=env["LINKFLAGS"] + ["-L", linkscript.dir.path, "-T", linkscript.path,
                                                      "-Wl,-Map,${TARGETS[1]}"],
                        **kw)
    elf = nodes[0]
    env.Depends(elf, [linkscript] + [linkscript.dir.File(n) for n in LINKSCRIPT_INCLUDES])
    size = env.Command(str(elf) + ".size.json", elf,
                       SCons.Action.Action(_size_report, "$SIZECOMSTR"))
    env.Depends(list(elf.sources) + [elf], env.Value(env["ARM_GCC_VERSION"]))
    return nodes + size


def _map_emitter(target, source, env):
    """The link map is an output of the link: declare it (so CacheDir keeps it)."""
    return target + [env.File(str(target[0]) + ".map")], source


def generate(env):
    cfg = env["CFG"]
    env.Tool("gcc")
    env.Tool("gnulink")
    env.Tool("gas")
    prefix = cfg["gcc_prefix"]
    gcc = prefix + "gcc"
    env["CC"] = gcc
    env["AS"] = gcc
    env["LINK"] = gcc
    env["READELF"] = prefix + "readelf"
    env["OBJDUMP"] = prefix + "objdump"
    env["PROGSUFFIX"] = ".elf"
    env["ARM_GCC_VERSION"] = _gcc_version(env.WhereIs(gcc) or gcc) or "missing"
    cpu = _cpu_flags(cfg)
    env.Replace(
        CCFLAGS=cpu + [cfg["opt_level"], "-g", "-ffreestanding", "-ffunction-sections",
                       "-fdata-sections"] + WARNINGS,
        # gnu11, not c11: ISO mode turns off contracting a*b+c into vfma
        CFLAGS=["-std=gnu11"],
        ASFLAGS=cpu + ["-x", "assembler-with-cpp", "-c"],
        LINKFLAGS=cpu + ["-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections",
                         "-Wl,--no-warn-rwx-segments", "-Wl,--no-warn-execstack"],
        LIBS=["m"],
    )
    # gas's default ASCOM calls `as` directly; assemble through gcc so .S files
    # get the C preprocessor and the same CPU flags.
    env["ASCOM"] = "$AS $ASFLAGS -o $TARGET $SOURCES"
    env["ASPPCOM"] = "$AS $ASFLAGS $_CPPDEFFLAGS $_CPPINCFLAGS -o $TARGET $SOURCES"
    env.Append(PROGEMITTER=[_map_emitter])
    env.SetDefault(SIZECOMSTR="")
    env.AddMethod(_firmware, "Firmware")


def exists(env):
    cfg = env.get("CFG", {})
    return shutil.which(cfg.get("gcc_prefix", "arm-none-eabi-") + "gcc") is not None
