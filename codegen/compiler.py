"""The whole pipeline: model dir -> output dir, atomically.

frontend (Paddle -> static ONNX) -> graph (Relax import, passes, call list)
-> schedule (tuning-free TIR) -> lower (plain C ABI, C or LLVM/MVE)
-> planner (arena offsets) -> emit (files). See docs in each module.
"""
import os
import re
import shutil
import tempfile
import time

from . import emit, flib, frontend, graph as graphmod, lower, microkernels, naming, planner, qnn, schedule as schedmod
from .errors import ALL_OUTPUTS, OUTPUTS, CodegenError, clear_outputs  # noqa: F401 (re-exported)
# A kernel's local arrays (accumulator rows, padded input rows) live on the
# stack; any array bigger than this moves to the arena as a scratch tensor.
STACK_LIMIT_BYTES = 4096
_STACK_ARRAY = re.compile(r"^\s+(?:float|double|int\d+_t|uint\d+_t) \w+\[(\d+)\];")
_C_SIZES = {"float": 4, "double": 8}


def _stack_arrays(c_source):
    """{kernel symbol: [bytes of each local array]} in the generated C."""
    arrays, current = {}, None
    for line in c_source.splitlines():
        m = emit._DEF.match(line)
        if m:
            current = m.group(1)
            arrays[current] = []
            continue
        m = _STACK_ARRAY.match(line)
        if m and current:
            ctype = line.split()[0]
            arrays[current].append(
                int(m.group(1)) * _C_SIZES.get(ctype, int(re.sub(r"\D", "", ctype) or 8) // 8))
    return arrays


def _stack_hogs(c_source, limit):
    """Kernel symbols whose generated C declares a local array > limit bytes."""
    return {k for k, sizes in _stack_arrays(c_source).items() if any(b > limit for b in sizes)}


def _intervals(g):
    """Lifetimes of every arena tensor (temps, scratch), by call index."""
    start, end = {}, {}
    for k, c in enumerate(g.calls):
        for j, name in enumerate(c.args):
            t = g.tensors[name]
            root = t.alias_of or name
            if g.tensors[root].kind not in ("temp", "scratch"):
                continue
            if j >= c.num_inputs and root not in start:
                start[root] = k
            end[root] = max(end.get(root, k), k)
    return [planner.Interval(n, planner.align(g.tensors[n].nbytes), start[n], end[n])
            for n in sorted(start)]


def _const_params(g):
    """{kernel: parameter positions that are constants in every call}."""
    found = {}
    for c in g.calls:
        mine = {j for j, n in enumerate(c.args[:c.num_inputs])
                if g.tensors[g.tensors[n].alias_of or n].kind == "const"}
        found[c.kernel] = found.get(c.kernel, mine) & mine
    return found


def _pack_constants(g, packed):
    """Apply the schedule's weight layouts (schedule.pack_constant) to the
    constants each call passes, then drop constants no call uses any more."""
    import numpy as np
    for c in g.calls:
        for j, (dim, oc) in sorted(packed.get(c.kernel, {}).items()):
            name = c.args[j]
            new = "%s_pack%d_%d" % (name, dim, oc)
            if new not in g.tensors:
                arr = schedmod.pack_constant(g.consts[g.tensors[name].const_index], dim, oc)
                g.consts.append(arr)
                g.tensors[new] = graphmod.Tensor(new, list(arr.shape), str(arr.dtype), "const",
                                                 arr.nbytes, const_index=len(g.consts) - 1)
            c.args[j] = new
    used = sorted({g.tensors[n].const_index for c in g.calls for n in c.args
                   if g.tensors[n].kind == "const"})
    remap = {old: k for k, old in enumerate(used)}
    g.consts = [g.consts[k] for k in used]
    for name in list(g.tensors):
        t = g.tensors[name]
        if t.kind == "const":
            if t.const_index in remap:
                t.const_index = remap[t.const_index]
            else:
                del g.tensors[name]
    assert all(isinstance(a, np.ndarray) for a in g.consts)


def build(model_dir, input_shape, backend="c", schedule="best",
          toolchain_prefix=microkernels.PREFIX, onnx_file=None, prefix=naming.DEFAULT):
    """-> (files {name: bytes}, report dict). The dict is report.json's content plus
    ``timing_seconds`` (wall clock, never written to a file). Raises CodegenError
    for user errors. ``prefix`` names the C symbols (naming.py: "det" for the
    detector that links beside the recognizer)."""
    naming.check(prefix)
    if backend not in OUTPUTS:
        raise CodegenError("unknown backend %r (c or llvm-mve)" % backend)
    if schedule not in ("best", "stock"):
        raise CodegenError("unknown schedule %r (best or stock)" % schedule)
    t0 = time.monotonic()
    if onnx_file:  # the int8 QDQ model codegen.quantize made of model_dir's model
        model, in_name, shape, _pred = frontend.load_onnx(onnx_file, input_shape)
    else:
        model, in_name, shape, _pred = frontend.load(model_dir, input_shape)
    t_front = time.monotonic()
    mod = graphmod.to_relax(model, in_name, shape, float_library=(backend == "llvm-mve"))
    g = graphmod.extract(mod)
    t_relax = time.monotonic()

    used = sorted({c.kernel for c in g.calls if not c.library})
    library = sorted({c.kernel for c in g.calls if c.library})
    const_params = _const_params(g)
    packed = {k: {} for k in used}
    funcs = {k: schedmod.schedule(g.funcs[k], schedule, partition_padding=(backend == "c"),
                                  const_params=const_params[k], packed=packed[k],
                                  channel_blocking=(backend != "c"),
                                  window_padding=(backend != "c"))
             for k in used}
    _pack_constants(g, packed)
    scratch = {}
    if schedule == "stock":
        for k in used:
            funcs[k], scratch[k] = lower.lift_scratch(funcs[k], STACK_LIMIT_BYTES)
    symbols = {emit.KERNEL_PREFIX + k: f for k, f in funcs.items()}
    n_inputs = {}
    for c in g.calls:
        if not c.library:
            n_inputs[emit.KERNEL_PREFIX + c.kernel] = c.num_inputs
    c_src = lower.build_c(symbols)
    hogs = _stack_hogs(c_src, STACK_LIMIT_BYTES)
    if hogs:  # fall back to arena scratch for what the schedule left behind
        for sym in sorted(hogs):
            k = sym[len(emit.KERNEL_PREFIX):]
            funcs[k], scratch[k] = lower.lift_scratch(funcs[k], STACK_LIMIT_BYTES)
        symbols = {emit.KERNEL_PREFIX + k: f for k, f in funcs.items()}
        c_src = lower.build_c(symbols)
    kernels_c, signatures = emit.clean_kernels_c(c_src, n_inputs)
    signatures.update(emit.library_signatures(g))
    library_sources = sorted({qnn.LIBRARY[k] for k in library if k in qnn.LIBRARY}
                             | {f for k in library if k in flib.LIBRARY for f in flib.LIBRARY[k]})
    stack = {k: sum(v) for k, v in _stack_arrays(c_src).items()}
    stack.update({k: qnn.LIBRARY_STACK_BYTES[k] if k in qnn.LIBRARY else flib.STACK_BYTES[k]
                  for k in library})
    for k, c in enumerate(g.calls):
        for j, (shp, dt) in enumerate(scratch.get(c.kernel, [])):
            name = "scratch%d_%d" % (k, j)
            g.tensors[name] = graphmod.Tensor(name, shp, dt, "scratch",
                                              graphmod._nbytes(shp, dt))
            c.args.append(name)
    files = {}
    if backend == "c":
        files["kernels.c"] = emit.with_library(kernels_c, library_sources).encode()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            obj = os.path.join(tmp, "kernels.o")
            lower.build_llvm_object(symbols, obj)
            # the micro-kernels once, also when a library kernel calls them too
            sources = sorted(set(library_sources) | (set(microkernels.SOURCES) if microkernels.used(c_src)
                                                     else set()))
            if sources:
                microkernels.link_into(obj, toolchain_prefix, sources)
            with open(obj, "rb") as f:
                files["kernels.o"] = f.read()
    t_kernels = time.monotonic()

    intervals = _intervals(g)
    arena, offsets, ordering = planner.plan(intervals)
    planner.check(intervals, offsets)
    bound = planner.lower_bound(intervals)
    blob, const_offsets = emit.weights_blob(g.consts)
    crc = emit.crc32(blob)
    files["weights.bin"] = blob
    files["model.h"] = emit.model_h(g, arena, len(blob), crc).encode()
    files["model.c"] = emit.model_c(g, offsets, const_offsets, signatures, arena).encode()
    try:
        relax_plan = graphmod.relax_static_plan_bytes(mod)
    except Exception as err:  # a comparison only: never fail the build on it
        relax_plan = "failed: %s" % str(err).splitlines()[0]
    report = _report(g, offsets, const_offsets, intervals, arena, bound, relax_plan,
                     ordering, blob, crc, backend, schedule, shape, used)
    for entry in report["kernels"]:
        entry["stack_array_bytes"] = stack.get(entry["kernel"], 0)
    report["totals"]["max_kernel_stack_array_bytes"] = max(stack.values(), default=0)
    if prefix != naming.DEFAULT:
        report["symbol_prefix"] = prefix
    files = naming.apply(files, prefix, toolchain_prefix)
    # report.json is a pure function of the inputs (byte-identical rebuilds):
    # wall-clock times only go to the returned dict, which __main__ prints on stderr.
    files["report.json"] = emit.report_json(report).encode()
    report["timing_seconds"] = {"paddle_to_onnx": round(t_front - t0, 2),
                                "relax": round(t_relax - t_front, 2),
                                "kernels": round(t_kernels - t_relax, 2),
                                "total": round(time.monotonic() - t0, 2)}
    return files, report


def _where(g, name, offsets, const_offsets):
    t = g.tensors[name]
    root = g.tensors[t.alias_of] if t.alias_of else t
    if root.kind == "const":
        return {"weights_offset": const_offsets[root.const_index]}
    if root.kind in ("input", "output"):
        return {"external": root.kind}
    return {"arena_offset": offsets[root.name]}


def _report(g, offsets, const_offsets, intervals, arena, bound, relax_plan, ordering,
            blob, crc, backend, schedule, shape, used):
    kernels = []
    for k, c in enumerate(g.calls):
        def desc(name):
            d = {"tensor": name, "shape": g.tensors[name].shape, "dtype": g.tensors[name].dtype}
            d.update(_where(g, name, offsets, const_offsets))
            return d
        kernels.append({"index": k, "kernel": c.symbol, "ops": c.ops,
                        "macs": c.macs,
                        "inputs": [desc(n) for n in c.args[:c.num_inputs]],
                        "output": desc(c.args[c.num_inputs]),
                        "scratch": [desc(n) for n in c.args[c.num_inputs + 1:]]})
    params = sum(int(a.size) for a in g.consts)
    return {
        "backend": backend, "schedule": schedule, "input_shape": shape,
        "output_shape": g.tensors[g.output].shape,
        "kernels": kernels,
        "totals": {
            "kernel_calls": len(g.calls), "primfuncs": len(used),
            "params": params, "weights_bytes": len(blob), "weights_crc32": "0x%08X" % crc,
            "macs": sum(c.macs for c in g.calls),
            "arena_bytes": arena, "peak_live_lower_bound": bound,
            "arena_note": "intermediates only: model_run's input and output are the "
                          "caller's buffers",
            "arena_equals_lower_bound": arena == bound,
            "planner_ordering": ordering,
            "relax_static_plan_bytes": relax_plan,
            "no_reuse_bytes": sum(iv.size for iv in intervals),
            "scratch_tensors": sum(1 for t in g.tensors.values() if t.kind == "scratch"),
            "views": sum(1 for t in g.tensors.values() if t.alias_of),
        },
    }


def write_outputs(out_dir, files):
    """Replace the output directory's files all at once: stale outputs are
    removed first, new ones are renamed into place from a sibling temp dir."""
    os.makedirs(out_dir, exist_ok=True)
    clear_outputs(out_dir)
    tmp = tempfile.mkdtemp(prefix=".codegen-", dir=out_dir)
    try:
        for name in sorted(files):
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(files[name])
        from model.errors import check_not_interrupted
        check_not_interrupted()  # a compilation a signal cut short is never installed
        for name in sorted(files):
            os.replace(os.path.join(tmp, name), os.path.join(out_dir, name))
    except BaseException:
        clear_outputs(out_dir)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

