"""Recurrent ops: LSTM, GRU, RNN, unrolled over their static sequence length (forward, reverse,
bidirectional, peepholes, clip, batch-first layout)."""
from __future__ import annotations

import numpy as np
from edgerun.converter.frontends.onnx.layout import _ident
from edgerun.converter.ir import Tensor


class RecurrentMixin:
    """_op_LSTM, _op_GRU, _op_RNN and their shared setup."""

    # -- recurrent -----------------------------------------------------------------------------------------
    def _rnn_act(self, t: Tensor, name: str, alpha=None, beta=None) -> Tensor:
        em = self.em
        name = {n.lower(): n for n in ("Sigmoid", "Tanh", "Relu", "HardSigmoid", "LeakyRelu", "Affine",
                                       "ScaledTanh")}.get(name.lower(), name)
        if name == "Sigmoid":
            return em.unary("LOGISTIC", t)
        if name == "Tanh":
            return em.unary("TANH", t)
        if name == "Relu":
            return em.unary("RELU", t)
        if name == "HardSigmoid":
            a = 0.2 if alpha is None else alpha
            b = 0.5 if beta is None else beta
            y = em.add(em.mul(t, np.float32(6 * a)), np.float32(6 * b))
            return em.mul(em.unary("RELU6", y), np.float32(1 / 6))
        if name == "LeakyRelu":
            return em.unary("LEAKY_RELU", t, {"alpha": float(0.01 if alpha is None else alpha)})
        if name == "Affine":
            return em.add(em.mul(t, np.float32(alpha)), np.float32(beta))
        if name == "ScaledTanh":
            return em.mul(em.unary("TANH", em.mul(t, np.float32(beta))), np.float32(alpha))
        raise self.err(f"recurrent activation {name!r} is not supported")

    def _rnn_setup(self, node, ins, at, ngates, default_acts):
        X = ins[0]
        W = np.asarray(self.const_of(ins[1], "W"), np.float32)
        R = np.asarray(self.const_of(ins[2], "R"), np.float32)
        direction = at.get("direction", "forward")
        D = 2 if direction == "bidirectional" else 1
        H = int(at.get("hidden_size", R.shape[-1]))
        B = ins[3] if len(ins) > 3 else None
        B = np.zeros((D, 2 * ngates * H), np.float32) if B is None else \
            np.asarray(self.const_of(B, "B"), np.float32)
        seq = ins[4] if len(ins) > 4 else None
        layout = int(at.get("layout", 0))
        time_axis = 0 if layout == 0 else 1
        T = X.shape[time_axis]
        if time_axis in X.dyn:
            raise self.err("a dynamic sequence length is not supported (recurrent ops are unrolled)")
        if seq is not None:
            lens = np.asarray(self.const_of(seq, "sequence_lens")).reshape(-1)
            if np.any(lens != T):
                raise self.err("sequence_lens shorter than the sequence are not supported")
        acts = list(at.get("activations", default_acts * D))
        alphas = list(at.get("activation_alpha", []))
        betas = list(at.get("activation_beta", []))
        params = []
        for a in acts:
            if a in ("HardSigmoid", "LeakyRelu", "Affine", "ScaledTanh", "Elu", "ThresholdedRelu"):
                has_beta = a in ("HardSigmoid", "Affine", "ScaledTanh")
                params.append((alphas.pop(0) if alphas else None,
                               betas.pop(0) if betas and has_beta else None))
            else:
                params.append((None, None))
        if len(acts) != len(default_acts) * D:
            raise self.err(f"expected {len(default_acts) * D} activations, got {len(acts)}")
        clip = at.get("clip")
        # torch's batch_first LSTMs transpose (N, T, I) -> (T, N, I) before the op: use the untransposed
        # tensor and run over its axis 1 rather than emitting the TRANSPOSE
        swap = (1, 0, 2)
        if swap in X.forms and (X.primary == swap or _ident(3) not in X.forms):
            x_t, ir_time = X.forms[swap], 1 - time_axis
        else:
            x_t, ir_time = self.ir(X), time_axis
        if x_t.dtype != np.float32:
            raise self.err("recurrent ops need float inputs")

        def states(v):
            if v is None:
                return [None] * D
            if v.const is not None and not np.any(v.const):
                return [None] * D
            t = self.ir(v)  # (D, N, H) or (N, D, H)
            if D == 1:
                return [self.reshape(t, (t.shape[1 - layout] if layout else t.shape[1], H))]
            parts = self.em.unpack(t, axis=0 if layout == 0 else 1)
            return parts
        return {"X": X, "x_t": x_t, "W": W, "R": R, "B": B, "D": D, "H": H, "T": T, "layout": layout,
                "time_axis": ir_time, "acts": acts, "params": params, "clip": clip, "states": states,
                "direction": direction}

    def _rnn_steps_input(self, s, d, Wd, bias):
        """Per-step input projections (N, G*H) for direction d."""
        em = self.em
        xw = em.fully_connected(s["x_t"], em.const(Wd, np.float32, "W"), em.const(bias, np.float32, "B"))
        ta = s["time_axis"]
        if s["T"] == 1:
            shape = [d_ for i, d_ in enumerate(xw.shape) if i != ta]
            return [self.reshape(xw, shape)]
        return em.unpack(xw, axis=ta)

    def _clip(self, t, clip):
        if clip is None:
            return t
        em = self.em
        return em.binary("MINIMUM", em.binary("MAXIMUM", t, np.float32(-clip)), np.float32(clip))

    def _rnn_outputs(self, node, s, per_dir_h, last_h, last_c=None):
        """Y, Y_h, Y_c values from the per-direction hidden states (time order). They are built batch-major
        in the IR when the input tensor is (then the ONNX values get the matching permutation layouts)."""
        em = self.em
        layout, D, H, T = s["layout"], s["D"], s["H"], s["T"]
        X = s["X"]
        bm = s["time_axis"] == 1  # IR batch-major
        onnx_batch = 1 if layout == 0 else 0
        n_static = X.shape[onnx_batch]
        dyn_b = onnx_batch in X.dyn
        nb = -1 if dyn_b else n_static
        outs = [None, None, None]
        names = list(node.output) + [""] * 3
        if names[0] and self.uses.get(names[0]):
            ys = []
            for hs in per_dir_h:
                if T == 1:
                    ys.append(self.reshape(hs[0], [nb, 1, H] if bm else [1, nb, H]))
                else:
                    ys.append(em.pack(hs, axis=1 if bm else 0))
            if D == 1:
                y = self.reshape(ys[0], (nb, T, 1, H) if bm else (T, 1, nb, H))
            else:
                y = em.pack(ys, axis=2 if bm else 1)
            # IR (N, T, D, H) if bm else (T, D, N, H)
            if layout == 0:
                static, lay, dyn = (T, D, n_static, H), ((2, 0, 1, 3) if bm else _ident(4)), {2}
            else:
                static, lay, dyn = (n_static, T, D, H), (_ident(4) if bm else (1, 2, 0, 3)), {0}
            outs[0] = self.new(y, lay, static, dyn if dyn_b else set())
        for k, last in ((1, last_h), (2, last_c)):
            if last is None or not (names[k] and self.uses.get(names[k])):
                continue
            if D == 1:
                y = self.reshape(last[0], (nb, 1, H) if bm else (1, nb, H))
            else:
                y = em.pack(last, axis=1 if bm else 0)
            # IR (N, D, H) if bm else (D, N, H)
            if layout == 0:
                static, lay, dyn = (D, n_static, H), ((1, 0, 2) if bm else _ident(3)), {1}
            else:
                static, lay, dyn = (n_static, D, H), (_ident(3) if bm else (1, 0, 2)), {0}
            outs[k] = self.new(y, lay, static, dyn if dyn_b else set())
        return outs

    def _op_LSTM(self, node, ins, at):
        s = self._rnn_setup(node, ins, at, 4, ["Sigmoid", "Tanh", "Tanh"])
        em = self.em
        D, H = s["D"], s["H"]
        P = ins[7] if len(ins) > 7 else None
        P = None if P is None else np.asarray(self.const_of(P, "P"), np.float32)
        h0 = s["states"](ins[5] if len(ins) > 5 else None)
        c0 = s["states"](ins[6] if len(ins) > 6 else None)
        input_forget = int(at.get("input_forget", 0))
        per_dir, last_h, last_c = [], [], []
        for d in range(D):
            reverse = s["direction"] == "reverse" or d == 1
            bias = s["B"][d, :4 * H] + s["B"][d, 4 * H:]
            xs = self._rnn_steps_input(s, d, s["W"][d], bias)
            rw = em.const(s["R"][d], np.float32, "R")
            fa, ga, ha = s["acts"][3 * d:3 * d + 3]
            fp, gp, hp = s["params"][3 * d:3 * d + 3]
            pi = po = pf = None
            if P is not None and np.any(P[d]):
                pi, po, pf = (em.const(P[d, k * H:(k + 1) * H], np.float32, f"P{k}") for k in range(3))
            h, c = h0[d], c0[d]
            hs = []
            for t in (range(s["T"] - 1, -1, -1) if reverse else range(s["T"])):
                z = xs[t] if h is None else em.add(xs[t], em.fully_connected(h, rw, None))
                zi, zo, zf, zc = em.split(z, 4, axis=1)
                if pi is not None and c is not None:
                    zi = em.add(zi, em.mul(c, pi))
                    zf = em.add(zf, em.mul(c, pf))
                i = self._rnn_act(self._clip(zi, s["clip"]), fa, *fp)
                g = self._rnn_act(self._clip(zc, s["clip"]), ga, *gp)
                if input_forget:
                    f = em.binary("SUB", np.float32(1.0), i)
                else:
                    f = self._rnn_act(self._clip(zf, s["clip"]), fa, *fp)
                c = em.mul(i, g) if c is None else em.add(em.mul(f, c), em.mul(i, g))
                if po is not None:
                    zo = em.add(zo, em.mul(c, po))
                o = self._rnn_act(self._clip(zo, s["clip"]), fa, *fp)
                h = em.mul(o, self._rnn_act(c, ha, *hp))
                hs.append(h)
            if reverse:
                hs = hs[::-1]
            per_dir.append(hs)
            last_h.append(h)
            last_c.append(c)
        return self._rnn_outputs(node, s, per_dir, last_h, last_c)

    def _op_GRU(self, node, ins, at):
        s = self._rnn_setup(node, ins, at, 3, ["Sigmoid", "Tanh"])
        em = self.em
        D, H = s["D"], s["H"]
        lbr = int(at.get("linear_before_reset", 0))
        h0 = s["states"](ins[5] if len(ins) > 5 else None)
        per_dir, last_h = [], []
        for d in range(D):
            reverse = s["direction"] == "reverse" or d == 1
            wb, rb = s["B"][d, :3 * H], s["B"][d, 3 * H:]
            bias = wb + np.concatenate([rb[:2 * H], np.zeros(H, np.float32) if lbr else rb[2 * H:]])
            xs = self._rnn_steps_input(s, d, s["W"][d], bias)
            R = s["R"][d]
            rzr = em.const(R[:2 * H], np.float32, "R_zr")
            rh = em.const(R[2 * H:], np.float32, "R_h")
            rbh = em.const(rb[2 * H:], np.float32, "Rb_h")
            fa, ga = s["acts"][2 * d:2 * d + 2]
            fp, gp = s["params"][2 * d:2 * d + 2]
            h = h0[d]
            hs = []
            for t in (range(s["T"] - 1, -1, -1) if reverse else range(s["T"])):
                xz, xr, xh = em.split(xs[t], 3, axis=1)
                if h is None:
                    z = self._rnn_act(self._clip(xz, s["clip"]), fa, *fp)
                    if lbr:
                        r = self._rnn_act(self._clip(xr, s["clip"]), fa, *fp)
                        pre = em.add(xh, em.mul(r, rbh))
                    else:
                        pre = xh
                    ht = self._rnn_act(self._clip(pre, s["clip"]), ga, *gp)
                    h = em.sub(ht, em.mul(z, ht))
                else:
                    hz, hr = em.split(em.fully_connected(h, rzr, None), 2, axis=1)
                    z = self._rnn_act(self._clip(em.add(xz, hz), s["clip"]), fa, *fp)
                    r = self._rnn_act(self._clip(em.add(xr, hr), s["clip"]), fa, *fp)
                    if lbr:
                        pre = em.add(xh, em.mul(r, em.fully_connected(h, rh, rbh)))
                    else:
                        pre = em.add(xh, em.fully_connected(em.mul(r, h), rh, None))
                    ht = self._rnn_act(self._clip(pre, s["clip"]), ga, *gp)
                    h = em.add(ht, em.mul(z, em.sub(h, ht)))
                hs.append(h)
            if reverse:
                hs = hs[::-1]
            per_dir.append(hs)
            last_h.append(h)
        return self._rnn_outputs(node, s, per_dir, last_h)[:2]

    def _op_RNN(self, node, ins, at):
        s = self._rnn_setup(node, ins, at, 1, ["Tanh"])
        em = self.em
        D, H = s["D"], s["H"]
        h0 = s["states"](ins[5] if len(ins) > 5 else None)
        per_dir, last_h = [], []
        for d in range(D):
            reverse = s["direction"] == "reverse" or d == 1
            bias = s["B"][d, :H] + s["B"][d, H:]
            xs = self._rnn_steps_input(s, d, s["W"][d], bias)
            rw = em.const(s["R"][d], np.float32, "R")
            fa, fp = s["acts"][d], s["params"][d]
            h = h0[d]
            hs = []
            for t in (range(s["T"] - 1, -1, -1) if reverse else range(s["T"])):
                z = xs[t] if h is None else em.add(xs[t], em.fully_connected(h, rw, None))
                h = self._rnn_act(self._clip(z, s["clip"]), fa, *fp)
                hs.append(h)
            if reverse:
                hs = hs[::-1]
            per_dir.append(hs)
            last_h.append(h)
        return self._rnn_outputs(node, s, per_dir, last_h)[:2]
