"""Matrix products: Gemm and MatMul (FULLY_CONNECTED with constant weights, a following Add of a constant
vector fused as its bias; BATCH_MATMUL otherwise)."""
from __future__ import annotations

import numpy as np
from edgerun.converter.frontends.onnx.layout import Cols, Val, _bshape, _ident


class DenseMixin:
    """fc(), _op_Gemm, _op_MatMul and their helpers."""

    # -- dense -----------------------------------------------------------------------------------------------
    def fc(self, x: Val, W: np.ndarray, bias) -> Val:
        """x @ W.T + bias over the last axis; W is (units, in)."""
        W = np.asarray(W, np.float32)
        units = W.shape[0]
        em = self.em
        if x.rank == 1:
            t = self.reshape(self.ir(x), (1, x.shape[0]))
            y = em.fully_connected(t, em.const(W, np.float32, "weights"),
                                   None if bias is None else em.const(bias, np.float32, "bias"))
            return self.new(self.reshape(y, (units,)), (0,), (units,))
        cols = next((lay for lay in x.forms if isinstance(lay, Cols)), None) if x.rank == 2 else None
        if cols is not None:
            lay = cols
            W = W[:, cols.perm]
        else:
            lay = x.perm_layout()
            if lay is None or lay[-1] != x.rank - 1:
                lay = _ident(x.rank)
        if x.const is not None:
            lay = _ident(x.rank)
        t = self.ir(x, lay)
        if t.shape[-1] != W.shape[1]:
            raise self.err(f"input {x.shape} does not match weights with {W.shape[1]} inputs")
        b = None if bias is None else em.const(np.asarray(bias, np.float32).reshape(units), np.float32,
                                               "bias")
        y = em.fully_connected(t, em.const(W, np.float32, "weights"), b)
        out_lay = _ident(2) if isinstance(lay, Cols) else lay
        v = self.new(y, out_lay, x.shape[:-1] + (units,), {a for a in x.dyn if a != x.rank - 1})
        if x.rank == 2:  # BatchNormalization normalizes axis 1: the units only for 2-D outputs
            v.fold = [(em.g.ops[-1], 1, 2, 0, 0, units)]
        if bias is None and (isinstance(out_lay, Cols) or out_lay[-1] == x.rank - 1):
            v.fc_op = em.g.ops[-1]
        return v

    def _op_Gemm(self, node, ins, at):
        A, B = ins[0], ins[1]
        C = ins[2] if len(ins) > 2 else None
        alpha, beta = float(at.get("alpha", 1.0)), float(at.get("beta", 1.0))
        ta, tb = int(at.get("transA", 0)), int(at.get("transB", 0))
        if ta:
            A = self._op_Transpose(node, [A], {"perm": [1, 0]})
        if B.const is not None:
            W = np.asarray(B.const, np.float64)
            W = (W if tb else W.T) * alpha
            n = W.shape[0]
            bias, post = None, None
            if C is not None and beta != 0.0:
                if C.const is not None:
                    c = np.asarray(C.const, np.float64) * beta
                    if c.size == 1:
                        bias = np.full(n, c.reshape(-1)[0])
                    elif c.shape in ((n,), (1, n)):
                        bias = c.reshape(n)
                    else:
                        post = c.astype(np.float32)
                else:
                    post = C if beta == 1.0 else self.mul(C, np.float32(beta))
            y = self.fc(A, W.astype(np.float32), None if bias is None else bias.astype(np.float32))
            if post is not None:
                y.fold = None
                y = self.add(y, post)
            return y
        Bv = self._op_Transpose(node, [B], {"perm": [1, 0]}) if tb else B
        y = self._batch_matmul(A, Bv)
        if alpha != 1.0:
            y = self.mul(y, np.float32(alpha))
        if C is not None and beta != 0.0:
            y = self.add(y, C if beta == 1.0 else self.mul(C, np.float32(beta)))
        return y

    def _op_MatMul(self, node, ins, at):
        A, B = ins
        if B.const is not None and B.rank == 2 and A.rank >= 1:
            return self.fc(A, np.asarray(B.const, np.float32).T, None)
        if B.const is not None and B.rank == 1 and A.rank >= 2:
            y = self.fc(A, np.asarray(B.const, np.float32)[None], None)
            y.fold = None
            t = self.ir(y)
            return self.new(self.reshape(t, t.shape[:-1]), _ident(A.rank - 1), A.shape[:-1], y.dyn)
        return self._batch_matmul(A, B)

    def _mm_operand(self, v: Val, rank: int):
        """(IR tensor of rank `rank`, adjoint flag) for a BATCH_MATMUL operand."""
        r = v.rank
        swapped = _ident(r - 2) + (r - 1, r - 2) if r >= 2 else None
        if v.const is None and swapped is not None and v.primary == swapped:
            t, adj = self.ir(v, swapped), True
        else:
            t, adj = self.ir(v), False
        if r < rank:
            t = self.reshape(t, (1,) * (rank - r) + tuple(t.shape))
        return t, adj

    def _batch_matmul(self, A: Val, B: Val) -> Val:
        squeeze_a = squeeze_b = False
        if A.rank == 1:
            A = self._op_Unsqueeze(None, [A], {"axes": [0]})
            squeeze_a = True
        if B.rank == 1:
            B = self._op_Unsqueeze(None, [B], {"axes": [1]})
            squeeze_b = True
        rank = max(A.rank, B.rank)
        ta, adj_a = self._mm_operand(A, rank)
        tb, adj_b = self._mm_operand(B, rank)
        m = A.shape[-2]
        n = B.shape[-1]
        batch = _bshape(ta.shape[:-2], tb.shape[:-2]) if rank > 2 else ()
        y = self.em.op1("BATCH_MATMUL", [ta, tb], list(batch) + [m, n],
                        {"adjX": adj_a, "adjY": adj_b, "asymmetricQuantizeInputs": False})
        static = tuple(int(d) for d in np.broadcast_shapes(A.shape[:-2], B.shape[:-2])) + (m, n)
        dyn = {a + rank - A.rank for a in A.dyn if a < A.rank - 1} | \
            {a + rank - B.rank for a in B.dyn if a < B.rank - 2}
        v = self.new(y, _ident(rank), static, dyn)
        if squeeze_a or squeeze_b:
            axes = ([rank - 2] if squeeze_a else []) + ([rank - 1] if squeeze_b else [])
            v = self._op_Squeeze(None, [v], {"axes": axes})
        return v
