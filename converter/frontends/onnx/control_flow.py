"""Control flow: If (inlined when its condition is known at conversion, else a TFLite IF with a then and
an else subgraph), Loop (a TFLite WHILE) and Scan (a WHILE over the scanned axis). Bodies are lowered
into IR subgraphs of the root graph by swapping the graph, emitter and value table (_Scope); outer values
a body reads become operands of the IF/WHILE."""
from __future__ import annotations

import numpy as np
from edgerun.converter.frontends.onnx.layout import Val, _Emitter, _ident
from edgerun.converter.ir import Graph, Tensor

from edgerun.errors import ConversionError


class ControlFlowMixin:
    """_op_If, _op_Loop, _op_Scan and the subgraph machinery they share."""

    def _op_If(self, node, ins, at):
        """An If whose condition is known at conversion (a constant, or computed from shapes and constant
        inputs: constant_inputs / --set-input) is replaced by the nodes of the branch it takes; otherwise it
        becomes a TFLite IF (_if_at_run_time)."""
        cond = ins[0]
        if cond.const is None:
            return self._if_at_run_time(node, cond, at)
        if np.asarray(cond.const).size != 1:
            raise self.err(f"If condition has {np.asarray(cond.const).size} elements; it must have one")
        branch = at["then_branch"] if bool(np.asarray(cond.const).reshape(-1)[0]) else at["else_branch"]
        from onnx import numpy_helper

        for t in branch.initializer:
            self.vals[t.name] = self.cval(numpy_helper.to_array(t), t.name)
        for inner in branch.node:
            self._lower(inner)
        self.node = node
        missing = [o.name for o in branch.output if o.name not in self.vals]
        if missing:
            raise self.err(f"If branch output {missing[0]!r} is not produced in the branch")
        if len(branch.output) != len(node.output):
            raise self.err(f"If branch has {len(branch.output)} outputs, the node {len(node.output)}")
        return [self.vals[o.name] for o in branch.output]

    # -- control flow at run time: If -> IF, Loop -> WHILE ----------------------------------------------------
    # A branch or loop body becomes an IR subgraph of the root graph (graph.subgraphs; TFLite subgraph index =
    # 1 + position), lowered like a small model of its own with the graph, emitter and value table swapped
    # (_Scope): outer run-time values it reads by name become extra operands of the IF/WHILE and inputs of the
    # subgraph (in their _crossing_layout), outer constants are copied in. Nested If/Loop/Scan inside a body
    # recurse through the same methods.
    @staticmethod
    def _free_names(graph) -> list:
        """Names a graph's nodes (and their nested subgraphs) read without defining them, in first-use order."""
        defined = {i.name for i in graph.input} | {t.name for t in graph.initializer}
        out: list = []
        for n in graph.node:
            names = list(n.input)
            for a in n.attribute:
                for sub in ([a.g] if a.HasField("g") else []) + list(a.graphs):
                    names += ControlFlowMixin._free_names(sub)
            for x in names:
                if x and x not in defined and x not in out:
                    out.append(x)
            defined.update(o for o in n.output if o)
        for o in graph.output:
            if o.name not in defined and o.name not in out:
                out.append(o.name)
        return out

    def _captured(self, *graphs) -> list:
        """[(name, outer Val)] for the outer values the bodies read."""
        names: list = []
        for g in graphs:
            names += [n for n in self._free_names(g) if n not in names]
        out = []
        for n in names:
            if n not in self.vals:
                raise self.err(f"a {self.node.op_type} body reads {n!r}, which is not defined before this node")
            out.append((n, self.vals[n]))
        return out

    @staticmethod
    def _crossing_layout(v: Val) -> tuple:
        """The layout a run-time value keeps when it enters or leaves a branch: its first permutation layout
        (e.g. channels-last after a Conv, so no TRANSPOSE pair surrounds the boundary), else the ONNX one."""
        if v.const is not None:
            return _ident(v.rank)
        return v.perm_layout() or _ident(v.rank)

    def _operand(self, v: Val) -> Tensor:
        """v in the ONNX layout with exactly its IR shape (0-d stays 0-d): an operand crossing into a body."""
        t = self.ir(v)
        shape = self.ir_shape(v, _ident(v.rank))
        if tuple(t.shape) == shape:
            return t
        if v.const is not None:
            arr = np.asarray(v.const, dtype=t.dtype).reshape(shape)
            return self.g.const(self.em._name("const"), arr)
        return self._copy(t, shape)

    def _copy(self, t: Tensor, shape) -> Tensor:
        """A RESHAPE of t to `shape` (a new tensor even when the shape is the same)."""
        shape = tuple(int(d) for d in shape)
        if shape.count(-1) > 1:
            raise self.err(f"cannot pass {t.name!r} {shape} across a subgraph boundary: more than one dynamic "
                           "dimension")
        s = self.em.const(np.array(shape, np.int32).reshape(len(shape)), np.int32, "shape")
        return self.em.op1("RESHAPE", [t, s], shape, {"newShape": list(shape)})

    class _Scope:
        """Lowering into a fresh subgraph: swaps the graph, emitter and value table, restores them on exit.
        A ConversionError raised inside gets `where` (which body of which node) appended."""

        def __init__(self, low, name: str, where: str = ""):
            self.low, self.g, self.where = low, Graph(name=name), where

        def __enter__(self):
            lo = self.low
            self.saved = (lo.g, lo.em, lo.vals, lo.node, lo.em.scope)
            lo.g, lo.em, lo.vals = self.g, _Emitter(self.g), {}
            lo.em.scope = self.saved[4]
            return self.g

        def __exit__(self, exc_type, exc, tb):
            lo = self.low
            lo.g, lo.em, lo.vals, lo.node, lo.em.scope = self.saved
            if self.where and exc_type is not None and issubclass(exc_type, ConversionError):
                raise ConversionError(f"{exc} [in {self.where}]") from None
            return False

    def _sub_input(self, name, shape, dtype, dyn=frozenset(), layout=None) -> Val:
        """A new input of the current subgraph holding an ONNX value in `layout` (default the ONNX layout);
        bound to `name` if given."""
        v = Val(name or self._tmp("in"), shape, dtype, dyn=dyn)
        layout = _ident(v.rank) if layout is None else layout
        t = self.g.input(name or self.em._name("in"), self.ir_shape(v, layout), dtype)
        v.forms[layout] = t
        if name:
            self.vals[name] = v
        return v

    def _capture_operands(self, captured) -> list:
        """The outer tensors for the run-time entries of `captured`, each in its crossing layout."""
        return [self.ir(v, self._crossing_layout(v)) for _, v in captured if v.const is None]

    def _bind_captured(self, captured) -> list:
        """Bind the outer values a body reads: constants are copied in, run-time values become inputs (in their
        crossing layout). Returns the input Vals, in the order of the run-time entries of `captured`."""
        ins = []
        for name, ov in captured:
            if ov.const is not None:
                v = Val(name, ov.shape, ov.dtype, const=ov.const, dyn=ov.dyn)
                v.alt = ov.alt
                self.vals[name] = v
            else:
                ins.append(self._sub_input(name, ov.shape, ov.dtype, ov.dyn, self._crossing_layout(ov)))
        return ins

    def _lower_body(self, body):
        """Lower a body's initializers and nodes into the current subgraph; its output Vals."""
        from onnx import numpy_helper

        outer = self.node
        for t in body.initializer:
            self.vals[t.name] = self.cval(numpy_helper.to_array(t), t.name)
        for inner in self._fuse_patterns(list(body.node)):
            self._lower(inner)
        self.node = outer
        outs = []
        for o in body.output:
            if o.name not in self.vals:
                raise self.err(f"body output {o.name!r} is not produced in the body")
            outs.append(self.vals[o.name])
        return outs

    def _sub_output(self, v: Val, done: list, shape=None, layout=None) -> Tensor:
        """v in `layout` (default the ONNX layout) as an output of the current subgraph, after the outputs
        `done`: an op's result (a copy of a constant, an input or a value already returned), of IR shape
        `shape` (default v's in that layout)."""
        layout = _ident(v.rank) if layout is None else layout
        shape = self.ir_shape(v, layout) if shape is None else tuple(shape)
        t = self.ir(v, layout)
        if t.is_const:
            arr = np.asarray(t.data).reshape(tuple(max(d, 1) for d in shape))
            t = self.g.const(self.em._name("const"), arr)
            return self._copy(t, shape)
        if tuple(t.shape) != shape or any(t is i for i in self.g.inputs) or any(t is o for o in done):
            return self._copy(t, shape)
        return t

    def _loop_output(self, v: Val, var: Val, done: list) -> Tensor:
        """The body output for loop variable `var`: its input tensor itself when v is var (WHILE copies
        nothing for it), else like _sub_output."""
        t = self._input_tensor(var)
        return t if v is var else self._sub_output(v, done, t.shape)

    @staticmethod
    def _input_tensor(v: Val) -> Tensor:
        """The subgraph input tensor of a Val made by _sub_input (its first form)."""
        return next(iter(v.forms.values()))

    def _add_subgraph(self, sg: Graph) -> int:
        self.root.subgraphs.append(sg)
        return len(self.root.subgraphs)  # subgraph 0 is the main graph

    def _label(self, node) -> str:
        return (node.name or (node.output[0] if node.output else node.op_type)).replace("/", "_")

    def _if_at_run_time(self, node, cond: Val, at):
        """If with a run-time condition -> IF(cond, captured...) with a then and an else subgraph; both take the
        outer run-time values either branch reads, in the same order, and return the node's outputs."""
        if int(np.prod(cond.shape)) != 1:
            raise self.err(f"If condition has shape {cond.shape}; it must have one element")
        branches = [at["then_branch"], at["else_branch"]]
        captured = self._captured(*branches)
        operands = self._capture_operands(captured)
        c = self.ir(cond)
        label = self._label(node)
        results, graphs, layouts = [], [], None
        for which, b in zip(("then", "else"), branches):
            if len(b.output) != len(node.output):
                raise self.err(f"{which} branch has {len(b.output)} outputs, the node {len(node.output)}")
            where = (f"the {which} branch of If {node.name or label!r}, whose condition is computed at run time "
                     "so both branches are converted; if it depends on an input fixed in practice, "
                     "constant_inputs=... / --set-input folds the If")
            with self._Scope(self, f"{label}/{which}", where) as sg:
                self._bind_captured(captured)
                vals = self._lower_body(b)
                if layouts is None:  # outputs leave in the then branch's layouts (the else branch follows)
                    layouts = [self._crossing_layout(v) for v in vals]
                for v, lay in zip(vals, layouts):
                    sg.outputs.append(self._sub_output(v, sg.outputs, layout=lay if len(lay) == v.rank else None))
            results.append(vals)
            graphs.append(sg)
        shapes, dtypes, dyns = [], [], []
        for j, (a, b) in enumerate(zip(*results)):
            oname = node.output[j] or f"output {j}"
            sa, sb = graphs[0].outputs[j].shape, graphs[1].outputs[j].shape
            why = (f"rank {a.rank} in the then branch and {b.rank}" if a.rank != b.rank else
                   f"type {a.dtype} in the then branch and {b.dtype}" if a.dtype != b.dtype else
                   f"shape {sa} in the then branch and {sb}" if sa != sb else None)
            if why:
                raise self.err(f"If with a condition computed at run time: output {oname!r} has {why} in the "
                               "else branch, and a TFLite IF needs branch outputs of one type and shape; if the "
                               "condition depends on an input that is fixed in practice (a sample rate, a mode "
                               "flag), make that input a constant (convert(constant_inputs=...), --set-input "
                               "NAME=VALUE) and the If folds")
            shapes.append(sa)
            dtypes.append(a.dtype)
            dyns.append(a.dyn | b.dyn)
        ti, ei = self._add_subgraph(graphs[0]), self._add_subgraph(graphs[1])
        outs = self.em.op("IF", [c] + operands, shapes, {"thenSubgraphIndex": ti, "elseSubgraphIndex": ei},
                          dtypes=dtypes)
        return [self.new(t, lay if len(lay) == a.rank else _ident(a.rank), a.shape, dyn)
                for t, a, dyn, lay in zip(outs, results[0], dyns, layouts)]

    def _scalar_operand(self, v: Val | None, default, dtype, what: str) -> Tensor:
        """A one-element value (or `default` when absent) as a 0-d tensor of `dtype`."""
        if v is None:
            return self.g.const(self.em._name(what), np.array(default, dtype))
        if int(np.prod(v.shape)) != 1:
            raise self.err(f"{what} has shape {v.shape}; it must have one element")
        if v.const is not None:
            return self.g.const(self.em._name(what), np.asarray(v.const, dtype).reshape(()))
        if v.dtype != np.dtype(dtype):
            raise self.err(f"{what} is {v.dtype}, expected {np.dtype(dtype)}")
        t = self.ir(v)
        return t if t.shape == () else self._copy(t, ())

    def _op_Loop(self, node, ins, at):
        """Loop -> WHILE over (iteration i, trip count M, condition, loop-carried values..., scan buffers...,
        captured outer values...). cond subgraph: i < M and condition; body subgraph: the ONNX body with
        iter_num = i, returning i + 1. Scan outputs need a trip count known at conversion and a condition that
        cannot end the loop early: each iteration writes its value into row i of a (M, ...) buffer
        (DYNAMIC_UPDATE_SLICE)."""
        body = at["body"]
        M, c0, vs = (ins + [None, None])[0], (ins + [None, None])[1], ins[2:]
        n_v = len(vs)
        if len(body.input) != 2 + n_v:
            raise self.err(f"Loop body has {len(body.input)} inputs, expected {2 + n_v} (iteration number, "
                           "condition and the loop-carried values)")
        n_scan = len(body.output) - 1 - n_v
        if n_scan < 0:
            raise self.err(f"Loop body has {len(body.output)} outputs, expected at least {1 + n_v}")
        for v in vs:
            if v is None:
                raise self.err("an absent loop-carried value is not supported")
        captured = self._captured(body)
        i64, b8 = np.dtype(np.int64), np.dtype(np.bool_)
        i0 = self.g.const(self.em._name("iteration"), np.array(0, i64))
        m_t = self._scalar_operand(M, np.iinfo(np.int64).max, i64, "trip count M")
        c_t = self._scalar_operand(c0, True, b8, "loop condition")
        v_ts = [self._operand(v) for v in vs]
        cap_ts = self._capture_operands(captured)
        label = self._label(node)
        with self._Scope(self, f"{label}/body", f"the body of {node.op_type} {node.name or label!r}") as bg:
            i_v = self._sub_input(body.input[0].name or None, (), i64)
            m_v = self._sub_input(None, (), i64)
            c_v = self._sub_input(body.input[1].name or None, (), b8)
            v_in = [self._sub_input(body.input[2 + k].name or None, v.shape, v.dtype, v.dyn)
                    for k, v in enumerate(vs)]
            cap_in = self._bind_captured(captured)
            outs = self._lower_body(body)
            cond_out, v_out, scan_out = outs[0], outs[1:1 + n_v], outs[1 + n_v:]
            trips = self._scan_trips(M, c0, cond_out, c_v, n_scan)
            one = self.g.const(self.em._name("one"), np.array(1, i64))  # 0-d (em.const makes it 1-d)
            res = [self.em.op1("ADD", [i_v.forms[_ident(0)], one], (), {"fusedActivationFunction": 0}),
                   self._loop_output(m_v, m_v, [])]
            if cond_out.dtype != b8 or int(np.prod(cond_out.shape)) != 1:
                raise self.err(f"Loop body condition {cond_out.name!r} is {cond_out.dtype} {cond_out.shape}; "
                               "expected one bool")
            res.append(self._loop_output(cond_out, c_v, res))
            for k, (a, b) in enumerate(zip(v_in, v_out)):
                if a.dtype != b.dtype or a.shape != b.shape:
                    raise self.err(f"loop-carried value {k} ({body.output[1 + k].name!r}) changes from "
                                   f"{a.dtype} {a.shape} to {b.dtype} {b.shape} in the body; TFLite's WHILE "
                                   "needs loop variables of fixed type and shape")
                res.append(self._loop_output(b, a, res))
            bufs_in, buf0 = [], []
            for k, y in enumerate(scan_out):
                if y.dyn:
                    raise self.err(f"scan output {body.output[1 + n_v + k].name!r} has a dynamic shape")
                shape = (trips,) + y.shape
                bufs_in.append(self._sub_input(None, shape, y.dtype))
                buf0.append(np.zeros(shape, y.dtype))
                res.append(self._scan_write(bufs_in[-1], y, i_v.forms[_ident(0)]))
            res += [self._loop_output(v, v, res) for v in cap_in]
            bg.outputs = res
            # loop variables in WHILE order: i, M, condition, carried, scan buffers, captured
            order = [i_v, m_v, c_v] + v_in + bufs_in + cap_in
            bg.inputs = [self._input_tensor(v) for v in order]
        with self._Scope(self, f"{label}/cond") as cg:
            var = [cg.input(self.em._name("in"), t.shape, t.dtype) for t in bg.inputs]
            less = self.em.op1("LESS", [var[0], var[1]], (), dtype=b8)
            cg.outputs = [self.em.op1("LOGICAL_AND", [less, var[2]], (), dtype=b8)]
        ci, bi = self._add_subgraph(cg), self._add_subgraph(bg)
        buf_ts = [self.g.const(self.em._name("scan_init"), b) for b in buf0]
        loop_in = [i0, m_t, c_t] + v_ts + buf_ts + cap_ts
        outs_t = self.em.op("WHILE", loop_in, [t.shape for t in bg.inputs],
                            {"condSubgraphIndex": ci, "bodySubgraphIndex": bi},
                            dtypes=[t.dtype for t in bg.inputs])
        finals = [self.new(t, _ident(v.rank), v.shape, v.dyn) for t, v in zip(outs_t[3:3 + n_v], vs)]
        scans = [self.new(t, _ident(len(t.shape)), t.shape) for t in outs_t[3 + n_v:3 + n_v + n_scan]]
        return finals + scans

    def _scan_trips(self, M, c0, cond_out, c_in, n_scan) -> int:
        """The number of iterations of a Loop with scan outputs (refused unless known at conversion)."""
        if not n_scan:
            return 0
        if M is None or M.const is None:
            raise self.err("Loop with scan outputs needs a trip count M known at conversion (the outputs' length "
                           "is fixed in TFLite); fix it with input_shapes/constant_inputs or remove the scan outputs")
        trips = int(np.asarray(M.const).reshape(-1)[0])
        if trips < 1:
            raise self.err(f"Loop with scan outputs and trip count {trips}: empty scan outputs are not supported")
        always = cond_out.const is not None and bool(np.asarray(cond_out.const).reshape(-1)[0])
        passthrough = cond_out is c_in and (c0 is None or (c0.const is not None and
                                                           bool(np.asarray(c0.const).reshape(-1)[0])))
        if not (always or passthrough):
            raise self.err("Loop with scan outputs whose condition is computed in the body may stop early, "
                           "which gives scan outputs of run-time length; not supported")
        return trips

    def _scan_write(self, buf: Val, y: Val, i_t: Tensor, axis: int = 0) -> Tensor:
        """buf with position i_t (a 0-d int64 tensor) along `axis` replaced by y (DYNAMIC_UPDATE_SLICE)."""
        upd = self._copy(self._operand(y), y.shape[:axis] + (1,) + y.shape[axis:])
        i1 = self._copy(i_t, (1,))
        parts = []
        if axis:
            parts.append(self.em.const(np.zeros(axis, np.int64), np.int64, "zeros"))
        parts.append(i1)
        if y.rank - axis:
            parts.append(self.em.const(np.zeros(y.rank - axis, np.int64), np.int64, "zeros"))
        start = self.em.concat(parts, 0)
        b = buf.forms[_ident(buf.rank)]
        return self.em.op1("DYNAMIC_UPDATE_SLICE", [b, upd, start], b.shape)

    def _op_Scan(self, node, ins, at):
        """Scan (opset 9+) -> WHILE over (i, trip count, states..., scanned inputs..., output buffers...,
        captured...): the body reads slice i (or T-1-i, reversed) of each scanned input with GATHER and writes
        its scan outputs into position i (or T-1-i) along their axis with DYNAMIC_UPDATE_SLICE."""
        if self.opset < 9:
            raise self.err("Scan before opset 9 (with sequence_lens) is not supported")
        body = at["body"]
        n_in = int(at["num_scan_inputs"])
        n_st = len(ins) - n_in
        n_out = len(body.output) - n_st
        if n_st < 0 or n_out < 0 or len(body.input) != len(ins):
            raise self.err(f"Scan body has {len(body.input)} inputs and {len(body.output)} outputs for "
                           f"{n_st} states and {n_in} scanned inputs")
        states, xs = ins[:n_st], ins[n_st:]
        if any(v is None for v in ins):
            raise self.err("an absent Scan input is not supported")
        in_axes = [int(a) for a in at.get("scan_input_axes", [0] * n_in)]
        in_dirs = [int(d) for d in at.get("scan_input_directions", [0] * n_in)]
        out_axes = [int(a) for a in at.get("scan_output_axes", [0] * n_out)]
        out_dirs = [int(d) for d in at.get("scan_output_directions", [0] * n_out)]
        in_axes = [a % x.rank for a, x in zip(in_axes, xs)]
        lengths = {x.shape[a] for x, a in zip(xs, in_axes)}
        if any(a in x.dyn for x, a in zip(xs, in_axes)):
            raise self.err("Scan over an axis of dynamic length is not supported (fix it with input_shapes)")
        if len(lengths) != 1:
            raise self.err(f"scanned inputs have different lengths {sorted(lengths)} along their scan axes")
        trips = lengths.pop()
        if trips < 1:
            raise self.err("Scan over an empty axis is not supported")
        captured = self._captured(body)
        i64 = np.dtype(np.int64)
        i0 = self.g.const(self.em._name("iteration"), np.array(0, i64))
        m_t = self.g.const(self.em._name("trips"), np.array(trips, i64))
        st_ts = [self._operand(v) for v in states]
        x_ts = [self._operand(v) for v in xs]
        cap_ts = self._capture_operands(captured)
        label = self._label(node)
        with self._Scope(self, f"{label}/body", f"the body of {node.op_type} {node.name or label!r}") as bg:
            i_v = self._sub_input(None, (), i64)
            m_v = self._sub_input(None, (), i64)
            st_in = [self._sub_input(body.input[k].name or None, v.shape, v.dtype, v.dyn)
                     for k, v in enumerate(states)]
            x_in = [self._sub_input(None, v.shape, v.dtype, v.dyn) for v in xs]
            i_t = i_v.forms[_ident(0)]
            last = self.g.const(self.em._name("last"), np.array(trips - 1, i64))
            rev = None
            if any(in_dirs) or any(out_dirs):
                rev = self.em.op1("SUB", [last, i_t], (), {"fusedActivationFunction": 0})
            for k, (x, a, d) in enumerate(zip(x_in, in_axes, in_dirs)):
                idx = self._copy(rev if d else i_t, (1,))
                xt = x.forms[_ident(x.rank)]
                shape = tuple(xt.shape)
                g = self.em.op1("GATHER", [xt, idx], shape[:a] + (1,) + shape[a + 1:], {"axis": a, "batchDims": 0})
                sl_shape = shape[:a] + shape[a + 1:]
                v = self.new(self._copy(g, sl_shape), _ident(len(sl_shape)),
                             x.shape[:a] + x.shape[a + 1:], {b - (b > a) for b in x.dyn if b != a})
                self._bind(body.input[n_st + k].name, v)
            cap_in = self._bind_captured(captured)
            outs = self._lower_body(body)
            res = [self.em.op1("ADD", [i_t, self.g.const(self.em._name("one"), np.array(1, i64))], (),
                               {"fusedActivationFunction": 0}), self._loop_output(m_v, m_v, [])]
            for k, (a, b) in enumerate(zip(st_in, outs[:n_st])):
                if a.dtype != b.dtype or a.shape != b.shape:
                    raise self.err(f"Scan state {k} ({body.output[k].name!r}) changes from {a.dtype} {a.shape} "
                                   f"to {b.dtype} {b.shape} in the body")
                res.append(self._loop_output(b, a, res))
            res += [self._loop_output(x, x, res) for x in x_in]
            bufs_in, buf0 = [], []
            for k, (y, a, d) in enumerate(zip(outs[n_st:], out_axes, out_dirs)):
                if y.dyn:
                    raise self.err(f"scan output {body.output[n_st + k].name!r} has a dynamic shape")
                a %= y.rank + 1
                shape = y.shape[:a] + (trips,) + y.shape[a:]
                bufs_in.append(self._sub_input(None, shape, y.dtype))
                buf0.append(np.zeros(shape, y.dtype))
                res.append(self._scan_write(bufs_in[-1], y, rev if d else i_t, a))
            res += [self._loop_output(v, v, res) for v in cap_in]
            bg.outputs = res
            order = [i_v, m_v] + st_in + x_in + bufs_in + cap_in
            bg.inputs = [self._input_tensor(v) for v in order]
        with self._Scope(self, f"{label}/cond") as cg:
            var = [cg.input(self.em._name("in"), t.shape, t.dtype) for t in bg.inputs]
            cg.outputs = [self.em.op1("LESS", [var[0], var[1]], (), dtype=np.bool_)]
        ci, bi = self._add_subgraph(cg), self._add_subgraph(bg)
        buf_ts = [self.g.const(self.em._name("scan_init"), b) for b in buf0]
        loop_in = [i0, m_t] + st_ts + x_ts + buf_ts + cap_ts
        outs_t = self.em.op("WHILE", loop_in, [t.shape for t in bg.inputs],
                            {"condSubgraphIndex": ci, "bodySubgraphIndex": bi},
                            dtypes=[t.dtype for t in bg.inputs])
        finals = [self.new(t, _ident(v.rank), v.shape, v.dyn) for t, v in zip(outs_t[2:2 + n_st], states)]
        first = 2 + n_st + n_in
        scans = [self.new(t, _ident(len(t.shape)), t.shape) for t in outs_t[first:first + n_out]]
        return finals + scans
