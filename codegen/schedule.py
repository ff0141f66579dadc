"""Tuning-free TIR schedules that leave no workspace.

LegalizeOps gives every fused kernel one full-size intermediate buffer per
stage (pad, conv, each elementwise op of the tail...). Compiled as is they
need megabytes of workspace. The ``best`` schedule removes them with a few
rules that need no search:

1. inline every injective stage (pad, bias add, activation pieces) into its
   consumers, except a stage that reads a reduction's result when a consumer
   runs more often than the stage itself (softmax feeding a matmul would cost
   an exp per MAC). Softmax's exp is not inlined (ROW_STAGES, rows up to
   ROW_LIMIT): rule 2 puts it under the row loop, so each element's exp is
   computed once into a row buffer that its sum and its normalization read;
2. move each remaining producer (conv, matmul, mean, max, sum) under its
   consumer's loops, at the deepest loop where that causes no recomputation
   (checked by counting block executions before and after), so its buffer
   shrinks to a scalar or a row;
3. a reduction computed as a row has its reduction loops moved outside the
   row loop, so the innermost loop is contiguous and vectorizes;
   3b. a pure channel reduction (1x1 convolution, matmul) keeps a block of
   16 row elements in registers for its whole reduction;
   3c. (LLVM-MVE) output-channel blocking instead: the consumer's loop over
   output channels (matmul rows) is split by 2 or 3 and the row cut into a
   chunk of blocks of 12 or 8 elements (plus one smaller block for the rest):
   each loaded input vector feeds 2-3 ``vfma`` with scalar weights, 6 q
   registers of partial sums stay live over the whole reduction (13
   instructions per 24 MACs in the inner loop);
   3d. (LLVM-MVE) when those weights are constants their layout changes so the
   2-3 values used together are adjacent (one ``ldrd``): the compiler applies
   ``pack_constant`` to the weights it passes (``packed`` out-parameter);
   3e. (LLVM-MVE) a 1x1 convolution with constant weights and a multiple of 4
   output channels instead computes 4 channels x a row chunk per instance,
   weights packed by 4 (one ``vldrw``), init kept in the block, the channel
   loop annotated: microkernels.lower_calls replaces the nest with a call to
   the hand-written micro-kernel (ukernels/pointwise_mve.S, 112 MACs in 41
   instructions against LLVM's 24 in 13);
4. the inlined zero padding puts a bounds test in a convolution's row loop:
   the row loop is split into edges and an interior where the test is
   provably true and vanishes (C backend);
   4b. (LLVM-MVE) a window over an output dimension of extent 1 (SVTR's 3x3
   convolutions on the 1-row map) has its tap loop split into single taps:
   the padding test is provably false in the dead taps, which vanish;
   4c. (LLVM-MVE) a 5x5 stride-1 depthwise convolution keeps its padding stage,
   computed per output row into a stack buffer of padded rows; the
   convolution then runs without bounds tests, 16 outputs in q registers per
   window row;
5. hoist every reduction's init out of its reduction loops
   (``decompose_reduction``), so inner loops carry no ``if (k == 0)``.

Whatever buffer still remains is handled by lower.lift_scratch (stack if
small, else an arena tensor), never a run-time allocation.

``stock`` keeps the legalized TIR untouched (the baseline for issue 7).
"""
import tvm
from tvm import s_tir
from tvm.ir import IRModule

_REDUCE = 2  # tirx.IterVar.CommReduce
# A reduction computed under its consumer keeps at most this many partial
# results (a row on the stack: 1 KB of float32).
ROW_LIMIT = 256
# Row blocks of rule 3b, the first that divides the row: 16 float32 are four
# MVE q registers of partial sums.
ROW_BLOCKS = (16, 8)
# Rule 3c: (output channels, row elements) per register block, the first whose
# sizes divide the output; and the largest row chunk (bytes of partial sums).
CHANNEL_BLOCKS = ((3, 8), (2, 12), (2, 8), (2, 4))
CHUNK_BYTES = 2048
# Rule 3e (LLVM-MVE): a 1x1 convolution with constant weights runs the
# hand-written micro-kernel on 4 output channels x a row chunk of at most
# UKERNEL_CHUNK_BYTES of partial sums; microkernels.lower_calls puts the call in.
UKERNEL_CHANNELS = 4
UKERNEL_CHUNK_BYTES = 4096
UKERNEL_ANNOTATION = "codegen_ukernel"
# Rule 1: stages not inlined when their row fits ROW_LIMIT, computed once per
# row into a row buffer (softmax's exp is read by its sum and by the
# normalization; ch_PP-OCRv4's 6,625-class rows still compute it twice).
ROW_STAGES = ("T_softmax_exp",)
# Rule 4c: reductions of this kind read their padding stage from a row buffer.
DEPTHWISE = "group_conv2d"
WINDOW_BLOCKS = (16, 8)


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


def _inline_injective(sch, outputs, keep=()):
    """Rule 1. Repeats until no stage can be inlined any more."""
    changed = True
    while changed:
        changed = False
        for block in _blocks(sch):
            if _name(sch, block) in outputs or _is_reduction(sch, block) or \
                    _name(sch, block) in keep:
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


def _dead_taps(sch, block):
    """Positions, among the block's reduction iterators, of window taps over
    an output dimension of extent 1 (a read index = that output var + tap)."""
    blk = sch.get(block)
    ivs = list(blk.iter_vars)
    reduce = [iv for iv in ivs if iv.iter_type == _REDUCE]
    unit = {iv.var.name for iv in ivs if iv.iter_type != _REDUCE and int(iv.dom.extent) == 1}
    dead = []
    for read in blk.reads:
        for r in read.region:
            names = _vars_in(r.min)
            for k, iv in enumerate(reduce):
                if iv.var.name in names and names & unit and int(iv.dom.extent) > 1 \
                        and k not in dead:
                    dead.append(k)
    return dead


def _spatial_innermost(sch, block, padded, pad_readers=(), window_rows=()):
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
    # (not combined with rule 4 yet: the C backend keeps its edge partition)
    dead = _dead_taps(sch, block) if _name(sch, block) in pad_readers and \
        _name(sch, block) not in padded else []
    if dead:
        # Rule 4b: a window over an output dimension of size 1 (the 3x3
        # convolutions on SVTR's 1-row map) reads padding zeros in all taps but
        # one. With the init hoisted, that reduction loop is partitioned into
        # single taps: the simplifier proves the padding test false in the dead
        # ones and removes them (for a 3x3 kernel a third of the MACs remain).
        ivs = sch.get(block).iter_vars
        try:
            sch.decompose_reduction(block, sch.get_loops(block)[-len(ivs)])
        except s_tir.ScheduleError:
            return
        loop = sch.get_loops(block)[-len(ivs) + dead[0]]
        sch.loop_partition(loop, [1] * (int(sch.get(loop).extent) - 1))
        return  # the block is pieces now
    if _name(sch, block) in window_rows:
        _block_window(sch, block, len(reduce))
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


def _window_rows_pay(sch, pad, conv):
    """Rule 4c applies to a depthwise convolution with stride 1 along the row
    whose padded row is a whole number of vectors (5x5 kernels on rows of 4k):
    then the row copy vectorizes. Measured otherwise (3x3, stride 2): slower
    than the inlined padding test."""
    blk = sch.get(conv)
    if not _is_reduction(sch, conv) or not _name(sch, conv).startswith(DEPTHWISE):
        return False
    reduce = [iv for iv in blk.iter_vars if iv.iter_type == _REDUCE]
    padded_width = int(sch.get(pad).writes[0].source.shape[-1])
    width = int(blk.writes[0].source.shape[-1])
    kw = int(reduce[-1].dom.extent)
    return padded_width == width + kw - 1 and padded_width % 4 == 0 and width % 4 == 0


def _block_window(sch, block, nred):
    """Rule 4c: a depthwise convolution over padded rows. Loop order: window
    row, blocks of WINDOW_BLOCKS outputs, window column, block: the block's
    partial sums stay in q registers over a window row (loaded and stored once
    per window row), the window row's weights stay in registers."""
    nloops = len(sch.get(block).iter_vars)
    own = sch.get_loops(block)[-nloops:]
    extents = [int(sch.get(lp).extent) for lp in own]
    width = extents[-1]
    if any(e != 1 for e in extents[nred:-1]) or nred != 3 or extents[0] != 1:
        return
    factor = next((f for f in WINDOW_BLOCKS if width % f == 0 and width > f), None)
    if factor is None:
        return
    sch.decompose_reduction(block, own[0])
    outer, inner = sch.split(own[-1], [None, factor])
    sch.reorder(own[1], outer, own[2], inner)


def _vars_in(expr):
    return {v.name for v in tvm.tirx.analysis.undefined_vars(expr)}


def _channel_axes(sch, block):
    """For a pure channel reduction (1x1 convolution, matmul: every reduction
    loop but one of extent 1) -> (axis, row): positions, in the output, of the
    axis the broadcast operand varies with but the row operand does not
    (output channel / matmul row) and of the row (last axis). Else None."""
    blk = sch.get(block)
    ivs = list(blk.iter_vars)
    spatial = [iv for iv in ivs if iv.iter_type != _REDUCE]
    reduce = [iv for iv in ivs if iv.iter_type == _REDUCE]
    if len(blk.writes) != 1 or sum(int(iv.dom.extent) != 1 for iv in reduce) != 1:
        return None
    out = blk.writes[0]
    index = [r.min for r in out.region]
    if len(index) != len(spatial) or any(
            not isinstance(e, tvm.tirx.Var) or not e.same_as(iv.var)
            for e, iv in zip(index, spatial)):
        return None
    names = [iv.var.name for iv in spatial]
    row = names[-1]
    reads = [r for r in blk.reads if not r.source.same_as(out.source)]
    if len(reads) != 2:
        return None
    used = [set().union(*[_vars_in(r.min) for r in rd.region]) for rd in reads]
    vec = [u for u in used if row in u]
    if len(vec) != 1:
        return None
    scalar = reads[1] if vec[0] is used[0] else reads[0]
    other = used[1] if vec[0] is used[0] else used[0]
    for pos, name in enumerate(names[:-1]):
        if name in other and name not in vec[0] and int(spatial[pos].dom.extent) > 1:
            dims = [d for d, r in enumerate(scalar.region) if _vars_in(r.min) == {name}]
            return pos, len(names) - 1, scalar.source, (dims[0] if len(dims) == 1 else None)
    return None


def _channel_block(sch, block, consumer, const_params, packed):
    """Rule 3c: output-channel blocking of a pure channel reduction. The
    consumer's loop over the broadcast axis (output channel / matmul row) is
    split by oc and the producer is computed for oc channels x a row chunk,
    the chunk cut into blocks of vec elements (CHANNEL_BLOCKS): every loaded
    row vector feeds oc multiply-adds, each broadcast weight vec / 4; the
    oc x vec partial sums stay in registers for the whole reduction. The
    trial on a copy must not change the number of MACs. True if applied."""
    axes = _channel_axes(sch, block)
    if axes is None:
        return False
    axis, row, scalar, dim = axes
    loops = sch.get_loops(consumer)
    shape = [int(d) for d in sch.get(block).writes[0].source.shape]
    if len(loops) != len(shape) or [int(sch.get(lp).extent) for lp in loops] != shape:
        return False
    width, channels = shape[row], shape[axis]
    # The row chunk: a divisor of the row whose partial sums fit CHUNK_BYTES,
    # most of it in whole blocks of vec (ch_PP-OCRv4's 6,625 classes: 125),
    # the rest one smaller block. Three channels only without a rest: LLVM
    # miscompiled a 3-channel block with a rest into an endless loop (QEMU).
    plan = None
    for oc, vec in CHANNEL_BLOCKS:
        chunks = [d for d in range(vec, width + 1) if width % d == 0 and
                  d * oc * 4 <= CHUNK_BYTES and (oc == 2 or d % vec == 0)]
        if channels % oc == 0 and chunks:
            plan = oc, vec, max(chunks, key=lambda d: ((d - d % vec) * 16 // d, d))
            break
    params = list(sch.mod["main"].params)
    index = next((k for k, p in enumerate(params) if p.same_as(scalar)), None)
    constant = packed is not None and index in const_params and dim is not None
    pointwise = None
    if constant and _name(sch, block).startswith("conv2d") and channels % UKERNEL_CHANNELS == 0:
        # Rule 3e: the largest row chunk whose partial sums fit UKERNEL_CHUNK_BYTES
        fits = [d for d in range(1, width + 1)
                if width % d == 0 and d * UKERNEL_CHANNELS * 4 <= UKERNEL_CHUNK_BYTES]
        pointwise = max(fits)
    if plan is None and pointwise is None:
        return False
    oc, vec, chunk = plan if pointwise is None else (UKERNEL_CHANNELS, None, pointwise)
    name, cname = _name(sch, block), _name(sch, consumer)
    before = _executions(sch, block)
    trial = sch.copy()
    try:
        if pointwise is None:
            _channel_block_apply(trial, trial.get_sblock(name), trial.get_sblock(cname),
                                 axis, row, oc, vec, chunk)
        else:
            _pointwise_apply(trial, trial.get_sblock(name), trial.get_sblock(cname),
                             axis, row, chunk)
    except s_tir.ScheduleError:
        return False
    # after a loop partition the pieces sit in blocks under a "_common" block
    # (rule 3e keeps its init: the block itself does the MACs)
    blocks = {_name(trial, b): b for b in _all_blocks(trial)
              if _name(trial, b).startswith(name + "_update") or
              (pointwise is not None and _name(trial, b) == name)}
    common = [b for n, b in blocks.items() if n.endswith("_common")]
    after = sum(_executions(trial, b) for n, b in blocks.items()
                if not n.endswith(("_partition", "_common")))
    after *= _executions(trial, common[0]) if common else 1
    if after != before:
        return False
    if constant:
        # Rule 3d: the broadcast operand is a constant (weights): store the
        # oc values used together next to each other, so one ldrd (3e: one
        # vldrw) loads them.
        sch.transform_layout(block, scalar.name, _pack_map(len(scalar.ty.shape), dim, oc))
        packed[index] = (dim, oc)
    if pointwise is None:
        _channel_block_apply(sch, block, consumer, axis, row, oc, vec, chunk)
    else:
        _pointwise_apply(sch, block, consumer, axis, row, chunk)
    return True


def _pointwise_apply(sch, block, consumer, axis, row, chunk):
    """Rule 3e: 4 output channels x a row chunk of a 1x1 convolution per
    producer instance, its update loops ordered (channel, row, reduction) and
    the channel loop annotated: microkernels.lower_calls replaces that loop
    nest with a call to the hand-written MVE micro-kernel (ukernels/)."""
    _compute_at_channel_chunk(sch, block, consumer, axis, row, UKERNEL_CHANNELS, chunk)
    # The init stays in the block: the micro-kernel starts its sums at zero
    # (a hoisted init would be a separate zeroing pass over the chunk).
    ivs = sch.get(block).iter_vars
    own = sch.get_loops(block)[-len(ivs):]
    spatial = [lp for lp, iv in zip(own, ivs) if iv.iter_type != _REDUCE]
    reduce = [lp for lp, iv in zip(own, ivs) if iv.iter_type == _REDUCE]
    units = [lp for k, lp in enumerate(spatial) if k not in (axis, row)]
    units += [lp for lp in reduce if int(sch.get(lp).extent) == 1]
    (channel_sum,) = [lp for lp in reduce if int(sch.get(lp).extent) != 1]
    sch.reorder(*units, spatial[axis], spatial[row], channel_sum)
    sch.annotate(spatial[axis], UKERNEL_ANNOTATION, "pointwise_f32x4")


def _pack_map(ndim, dim, oc):
    def index_map(*idx):
        return idx[:dim] + (idx[dim] // oc,) + idx[dim + 1:] + (idx[dim] % oc,)
    return tvm.tirx.IndexMap.from_func(index_map, ndim=ndim)


def pack_constant(arr, dim, oc):
    """The numpy side of rule 3d: the same layout change as _pack_map."""
    import numpy as np
    shape = arr.shape[:dim] + (arr.shape[dim] // oc, oc) + arr.shape[dim + 1:]
    return np.ascontiguousarray(np.moveaxis(arr.reshape(shape), dim + 1, -1))


def _compute_at_channel_chunk(sch, block, consumer, axis, row, oc, chunk):
    """Split the consumer's output-channel loop by oc and its row by chunk,
    and compute the producer per (oc channels x chunk) instance."""
    loops = sch.get_loops(consumer)
    a_o, a_i = sch.split(loops[axis], [None, oc])
    r_o, r_i = sch.split(loops[row], [None, chunk])
    order = [lp for k, lp in enumerate(loops) if k not in (axis, row)]
    order = order[:axis] + [a_o] + order[axis:] + [r_o, a_i, r_i]
    sch.reorder(*order)
    sch.compute_at(block, r_o, preserve_unit_loops=True)


def _channel_block_apply(sch, block, consumer, axis, row, oc, vec, chunk):
    _compute_at_channel_chunk(sch, block, consumer, axis, row, oc, chunk)
    name = _name(sch, block)
    nivs = len(sch.get(block).iter_vars)
    sch.decompose_reduction(block, sch.get_loops(block)[-nivs])
    update = sch.get_sblock(name + "_update")
    ivs = sch.get(update).iter_vars
    own = sch.get_loops(update)[-nivs:]
    spatial = [lp for lp, iv in zip(own, ivs) if iv.iter_type != _REDUCE]
    reduce = [lp for lp, iv in zip(own, ivs) if iv.iter_type == _REDUCE]
    units = [lp for k, lp in enumerate(spatial) if k not in (axis, row)]
    sch.reorder(*units, spatial[row], *reduce, spatial[axis])
    main = chunk - chunk % vec
    if main == chunk:
        pieces = [(update, vec)]
    else:
        # the rest (fewer than vec elements) is one smaller block
        sch.loop_partition(spatial[row], [main])
        pieces = [(b, size) for b, size in zip(
            [b for b in _all_blocks(sch) if _name(sch, b).startswith(name + "_update_")
             and not _name(sch, b).endswith(("_partition", "_common"))],
            (vec, chunk - main))]
    for blk, size in pieces:
        # the piece's loops end with: row, the reductions, the channel
        loops = sch.get_loops(blk)
        x = loops[-(len(reduce) + 2)]
        ch = loops[-1]
        if int(sch.get(x).extent) == size:  # the rest: one block
            sch.reorder(*loops[-(len(reduce) + 1):-1], ch, x)
        else:
            x_o, x_i = sch.split(x, [None, size])
            sch.reorder(x_o, *sch.get_loops(blk)[-(len(reduce) + 1):-1], ch, x_i)
        sch.unroll(ch)


def _try_compute_at(sch, block, padded, const_params=(), packed=None, blocking=False,
                    pad_readers=(), kept_pads=(), window_rows=()):
    """Rule 2 for one producer. Reductions compute one row (the consumer's
    innermost loop) if it fits ROW_LIMIT, else the biggest region that fits,
    else a scalar (rules 3-4 then vectorize along the row); everything else
    goes to the deepest valid loop."""
    consumers = sch.get_consumers(block)
    if _name(sch, block) in kept_pads:
        # Rule 4c: the padded input rows one output row of a depthwise
        # convolution reads, computed right above it into a stack buffer
        # (recomputed per output row: about 0.1 instructions per MAC); the
        # convolution then has no bounds test at all.
        conv = consumers[0]
        # the deepest loop shared with the convolution's consumer: the row's
        shared = [a for a, b in zip(sch.get_loops(conv),
                                    sch.get_loops(sch.get_consumers(conv)[0]))
                  if sch.get(a).same_as(sch.get(b))]
        sch.compute_at(block, shared[-1], preserve_unit_loops=True)
        return True
    if blocking and _is_reduction(sch, block) and len(consumers) == 1 \
            and _channel_block(sch, block, consumers[0], const_params, packed):
        return True
    for consumer in consumers:
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
            _spatial_innermost(sch, block, padded, pad_readers, window_rows)
        return True
    return False


def _compute_at_consumers(sch, outputs, padded, const_params=(), packed=None, blocking=False,
                          pad_readers=(), kept_pads=(), window_rows=()):
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
            if _try_compute_at(sch, block, padded, const_params, packed, blocking,
                               pad_readers, kept_pads, window_rows):
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
        if not _is_reduction(sch, block) or sch.get(block).init is None or any(
                UKERNEL_ANNOTATION in sch.get(lp).annotations for lp in sch.get_loops(block)):
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


def schedule(func, mode="best", partition_padding=True, const_params=(), packed=None,
             channel_blocking=False, window_padding=False):
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
    pad_readers = {_name(sch, c) for b in _blocks(sch) if "pad" in _name(sch, b).lower()
                   for c in sch.get_consumers(b)}
    padded = pad_readers if partition_padding else set()
    # Rule 4c (LLVM): depthwise convolutions keep their padding stage.
    kept_pads = {_name(sch, b) for b in _blocks(sch) if "pad" in _name(sch, b).lower()
                 and len(sch.get_consumers(b)) == 1
                 and _window_rows_pay(sch, b, sch.get_consumers(b)[0])} \
        if window_padding else set()
    window_rows = {_name(sch, c) for b in _blocks(sch) if _name(sch, b) in kept_pads
                   for c in sch.get_consumers(b)}
    rows = {_name(sch, b) for b in _blocks(sch) if _name(sch, b) in ROW_STAGES
            and int(sch.get(b).writes[0].source.shape[-1]) <= ROW_LIMIT}
    _inline_injective(sch, outputs, set(kept_pads) | rows)
    _compute_at_consumers(sch, outputs, padded - window_rows, const_params,
                          packed if channel_blocking else None, channel_blocking,
                          pad_readers, kept_pads, window_rows)
    _decompose_reductions(sch)
    return sch.mod["main"]
