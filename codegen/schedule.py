"""Tuning-free TIR schedules that leave no workspace.

LegalizeOps gives every fused kernel one full-size intermediate buffer per
stage (pad, conv, each elementwise op of the tail...). Compiled as is they
need megabytes of workspace. The ``best`` schedule removes them with a few
rules that need no search:

1. inline every injective stage (pad, bias add, activation pieces) into its
   consumers, except a stage that reads a reduction's result when a consumer
   runs more often than the stage itself (softmax feeding a matmul would cost
   an exp per MAC). Softmax's exp is inlined into both its sum and its
   normalization: two exps per element, but no row buffer;
2. move each remaining producer (conv, matmul, mean, max, sum) under its
   consumer's loops, at the deepest loop where that causes no recomputation
   (checked by counting block executions before and after), so its buffer
   shrinks to a scalar or a row;
3. a reduction computed as a row has its reduction loops moved outside the
   row loop, so the innermost loop is contiguous and vectorizes;
4. the inlined zero padding puts a bounds test in a convolution's row loop:
   the row loop is split into edges and an interior where the test is
   provably true and vanishes;
5. hoist every reduction's init out of its reduction loops
   (``decompose_reduction``), so inner loops carry no ``if (k == 0)``.

Whatever buffer still remains is handled by lower.lift_scratch (stack if
small, else an arena tensor), never a run-time allocation.

``stock`` keeps the legalized TIR untouched (the baseline for issue 7).
"""
from tvm import s_tir
from tvm.ir import IRModule

_REDUCE = 2  # tirx.IterVar.CommReduce
# A reduction computed under its consumer keeps at most this many partial
# results (a row on the stack: 1 KB of float32).
ROW_LIMIT = 256
# Row blocks of rule 3b, the first that divides the row: 16 float32 are four
# MVE q registers of partial sums.
ROW_BLOCKS = (16, 8)


def _is_reduction(sch, block):
    return any(iv.iter_type == _REDUCE for iv in sch.get(block).iter_vars)


def _name(sch, block):
    return sch.get(block).name_hint


def _blocks(sch):
    return sch.get_child_blocks(sch.get_sblock("root"))


def _executions(sch, block):
    n = 1
    for lp in sch.get_loops(block):
        n *= int(sch.get(lp).extent)
    return n


def _inline_injective(sch, outputs):
    """Rule 1. Repeats until no stage can be inlined any more."""
    changed = True
    while changed:
        changed = False
        for block in _blocks(sch):
            if _name(sch, block) in outputs or _is_reduction(sch, block):
                continue
            after_reduction = any(_is_reduction(sch, p) for p in sch.get_producers(block))
            mine = _executions(sch, block)
            if after_reduction and any(_executions(sch, c) > mine
                                       for c in sch.get_consumers(block)):
                continue  # e.g. softmax feeding a matmul: an exp per MAC
            try:
                sch.compute_inline(block)
            except s_tir.ScheduleError:
                continue
            changed = True
            break
    # An injective stage kept alive by the rule above may still absorb its
    # elementwise consumers.
    for block in _blocks(sch):
        if _name(sch, block) in outputs or _is_reduction(sch, block):
            continue
        try:
            sch.reverse_compute_inline(block)
        except s_tir.ScheduleError:
            pass


def _inner_extent(sch, loops, depth):
    n = 1
    for lp in loops[depth:]:
        n *= int(sch.get(lp).extent)
    return n


def _valid_depths(sch, block, consumer):
    """Consumer loop depths where compute_at works without recomputation."""
    before = _executions(sch, block)
    name, cname = _name(sch, block), _name(sch, consumer)
    depths = []
    for depth in range(len(sch.get_loops(consumer)), 0, -1):
        trial = sch.copy()
        try:
            trial.compute_at(trial.get_sblock(name),
                             trial.get_loops(trial.get_sblock(cname))[depth - 1],
                             preserve_unit_loops=True)
        except s_tir.ScheduleError:
            continue
        if _executions(trial, trial.get_sblock(name)) == before:
            depths.append(depth)
    return depths


def _spatial_innermost(sch, block, padded):
    """Move a reduction's spatial loops (the row it computes) inside its
    reduction loops, so the innermost loop walks contiguous data with one
    broadcast weight: the shape C compilers and LLVM vectorize (MVE vfma)."""
    ivs = sch.get(block).iter_vars
    loops = sch.get_loops(block)[-len(ivs):]
    spatial = [lp for lp, iv in zip(loops, ivs) if iv.iter_type != _REDUCE]
    reduce = [lp for lp, iv in zip(loops, ivs) if iv.iter_type == _REDUCE]
    if not reduce or all(int(sch.get(lp).extent) == 1 for lp in spatial):
        return
    try:
        sch.reorder(*(reduce + spatial))
    except s_tir.ScheduleError:
        return
    if _name(sch, block) in padded:
        # The init must be hoisted first: partitioning the row loop of a
        # block that still has an init would re-zero it per piece.
        ivs = sch.get(block).iter_vars
        try:
            sch.decompose_reduction(block, sch.get_loops(block)[-len(ivs)])
        except s_tir.ScheduleError:
            return
        if _partition_padding_edges(sch, block):
            return
    _block_row(sch, block, len(reduce))


def _partition_padding_edges(sch, block):
    """Rule 4: with the zero padding inlined, the row loop of a convolution
    tests the input bounds at every MAC. Split the row loop into two edge
    pieces of KW iterations and an interior; in the interior the simplifier
    proves the bounds and the test disappears, so it vectorizes. (If it cannot
    prove them the test simply stays: still correct.) True if it split."""
    # Called right after _spatial_innermost: the block's own loops are its
    # reduction loops first, then its spatial loops, the row last.
    ivs = sch.get(block).iter_vars
    nred = sum(1 for iv in ivs if iv.iter_type == _REDUCE)
    loops = sch.get_loops(block)[-len(ivs):]
    if nred == 0:
        return
    row = loops[-1]
    width, kw = int(sch.get(row).extent), int(sch.get(loops[nred - 1]).extent)
    if kw < 2 or width <= 3 * kw:
        return False
    try:
        sch.loop_partition(row, [kw, width - 2 * kw])  # the rest: kw
    except s_tir.ScheduleError:
        return False
    return True


def _block_row(sch, block, nred):
    """Rule 3b: for a pure channel reduction (1x1 convolution, matmul) whose
    row is its only non-unit spatial loop, split the row into blocks of
    ROW_BLOCKS and move the reduction loops inside the block loop: each block's
    partial sums stay in vector registers for the whole reduction instead of a
    load and a store per MAC (LLVM/MVE: 11 instructions per 16 MACs).
    Windowed convolutions are left alone: measured slower blocked."""
    nloops = len(sch.get(block).iter_vars)
    own = sch.get_loops(block)[-nloops:]
    extents = [int(sch.get(lp).extent) for lp in own]
    width = extents[-1]
    if any(e != 1 for e in extents[1:nred]) or any(e != 1 for e in extents[nred:-1]):
        return
    factor = next((f for f in ROW_BLOCKS if width % f == 0 and width > f), None)
    if factor is None:
        return
    outer, _inner = sch.split(own[-1], [None, factor])
    own = sch.get_loops(block)[-(nloops + 1):]
    sch.reorder(outer, *own[:nred])


def _try_compute_at(sch, block, padded):
    """Rule 2 for one producer. Reductions compute one row (the consumer's
    innermost loop) if it fits ROW_LIMIT, else the biggest region that fits,
    else a scalar (rules 3-4 then vectorize along the row); everything else
    goes to the deepest valid loop."""
    for consumer in sch.get_consumers(block):
        loops = sch.get_loops(consumer)
        depths = _valid_depths(sch, block, consumer)
        if not depths:
            continue
        depth = depths[0]
        if _is_reduction(sch, block):
            rows = [d for d in depths if _inner_extent(sch, loops, d) <= ROW_LIMIT]
            single = len(loops) - 1  # one row: the consumer's innermost loop
            depth = single if single in rows else (rows[-1] if rows else depths[0])
        sch.compute_at(block, loops[depth - 1], preserve_unit_loops=True)
        if _is_reduction(sch, block):
            _spatial_innermost(sch, block, padded)
        return True
    return False


def _compute_at_consumers(sch, outputs, padded):
    """Rule 2 for every producer left at the root after rule 1, last first.
    Only blocks present now are moved: blocks that scheduling creates (a
    hoisted init) are already where they belong."""
    todo = [_name(sch, b) for b in _blocks(sch)]
    done = set(outputs)
    progress = True
    while progress:
        progress = False
        for block in reversed(_blocks(sch)):
            name = _name(sch, block)
            if name not in todo or name in done or not sch.get_consumers(block):
                continue
            done.add(name)
            if _try_compute_at(sch, block, padded):
                progress = True
                break


def _all_blocks(sch, parent=None):
    parent = sch.get_sblock("root") if parent is None else parent
    for child in sch.get_child_blocks(parent):
        yield child
        yield from _all_blocks(sch, child)


def _decompose_reductions(sch):
    """Rule 3: the init goes right above the outermost reduction loop."""
    names = [_name(sch, b) for b in _all_blocks(sch)]
    for name in names:
        block = sch.get_sblock(name)
        if not _is_reduction(sch, block) or sch.get(block).init is None:
            continue
        count = len(sch.get_loops(block))
        for i in reversed(range(count)):
            trial = sch.copy()
            try:
                trial.decompose_reduction(trial.get_sblock(name),
                                          trial.get_loops(trial.get_sblock(name))[i])
            except s_tir.ScheduleError:
                continue
            sch.decompose_reduction(block, sch.get_loops(block)[i])
            break


def schedule(func, mode="best", partition_padding=True):
    """Return a scheduled copy of one legalized/fused PrimFunc.
    partition_padding enables rule 4. It pays off with gcc (v3 recognizer on
    QEMU: 1.35 G -> 0.92 G instructions) but not with TVM's LLVM/MVE backend
    (0.81 G -> 0.96 G: LLVM vectorizes the select form better than the split
    loops, whose interior keeps a row test), so the compiler turns it off there."""
    if mode == "stock":
        return func
    if mode != "best":
        raise ValueError("unknown schedule %r" % mode)
    sch = s_tir.Schedule(IRModule({"main": func}))
    outputs = {_name(sch, b) for b in sch.get_output_blocks(sch.get_sblock("root"))}
    # Blocks reading a zero-padding stage, noted before rule 1 inlines it.
    padded = {_name(sch, c) for b in _blocks(sch) if "pad" in _name(sch, b).lower()
              for c in sch.get_consumers(b)} if partition_padding else set()
    _inline_injective(sch, outputs)
    _compute_at_consumers(sch, outputs, padded)
    _decompose_reductions(sch)
    return sch.mod["main"]
