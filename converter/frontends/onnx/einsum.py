"""Einsum: any number of operands, explicit or implicit output, '...' - diagonals (an index repeated within an
operand) gathered first, then REDUCE SUM over indices only one operand has, then the operands contracted
pairwise left to right, each pair by TRANSPOSE/RESHAPE to [batch, free, contracted] and one BATCH_MATMUL, then
the output order. Broadcasting within the equation (an index of size 1 against n) is refused by equation."""
from __future__ import annotations

import re

import numpy as np

_F32 = np.dtype(np.float32)


class EinsumMixin:
    """_op_Einsum."""

    def _op_Einsum(self, node, ins, at):
        eq = str(at["equation"]).replace(" ", "")
        if "->" not in eq:  # implicit output: the indices seen once, in alphabetical order, after any '...'
            letters = re.sub(r"[^A-Za-z]", "", eq)
            eq += "->" + ("..." if "..." in eq else "") + "".join(sorted(c for c in set(letters)
                                                                          if letters.count(c) == 1))
        lhs, out = eq.split("->")
        terms = lhs.split(",")
        if len(terms) != len(ins):
            raise self.err(f"equation {eq!r}: {len(terms)} terms for {len(ins)} operands")
        for v in ins:
            if v.dyn:
                raise self.err(f"equation {eq!r}: operands with dynamic dimensions are not supported")
            if v.dtype != _F32:
                raise self.err(f"equation {eq!r}: {v.dtype} operands are not supported (float32)")
        used = set(re.sub(r"[^A-Za-z]", "", eq))
        spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used]
        # '...' -> explicit letters, right-aligned as numpy broadcasts them
        n_ell = max((v.rank - len(tm.replace("...", "")) for tm, v in zip(terms, ins) if "..." in tm), default=0)
        ell = "".join(spare[:n_ell])
        subs = []
        for tm, v in zip(terms, ins):
            if "..." in tm:
                k = v.rank - len(tm.replace("...", ""))
                tm = tm.replace("...", ell[n_ell - k:] if k else "")
            subs.append(tm)
        out = out.replace("...", ell)
        for tm, v in zip(subs, ins):
            if not re.fullmatch(r"[A-Za-z]*", tm) or len(tm) != v.rank:
                raise self.err(f"equation {eq!r}: term {tm!r} does not match an operand of rank {v.rank}")
        if len(set(out)) != len(out) or not set(out) <= set("".join(subs)):
            raise self.err(f"equation {eq!r}: bad output term {out!r}")
        size = {}
        for tm, v in zip(subs, ins):
            for c, d in zip(tm, v.shape):
                if size.setdefault(c, d) != d:
                    raise self.err(f"equation {eq!r}: index {c!r} has sizes {size[c]} and {d} (broadcasting "
                                   "within einsum is not supported)")
        vals = list(ins)
        for n_ in range(len(vals)):  # an index repeated within an operand: its diagonal
            vals[n_], subs[n_] = self._einsum_diagonals(vals[n_], subs[n_], size)
        # indices summed within one operand only: reduce them first
        for n_, (tm, v) in enumerate(zip(subs, vals)):
            others = "".join(s for m_, s in enumerate(subs) if m_ != n_) + out
            lone = [i for i, c in enumerate(tm) if c not in others]
            if lone:
                vals[n_] = self.reduce("SUM", v, lone, False)
                subs[n_] = "".join(c for c in tm if c in others)
        # operands contracted pairwise, left to right; a pair keeps the indices a later operand or the output has
        y, sy = vals[0], subs[0]
        for n_ in range(1, len(vals)):
            keep = set("".join(subs[n_ + 1:]) + out)
            y, sy = self._einsum_pair(y, sy, vals[n_], subs[n_], keep, size)
        if not sy and not out:
            return y
        perm = [sy.index(c) for c in out]
        return self._op_Transpose(None, [y], {"perm": perm}) if perm != list(range(len(perm))) else y

    def _einsum_diagonals(self, v, tm: str, size: dict):
        """v with each index repeated in its term `tm` reduced to the diagonal: the repeated axes moved last and
        merged, then a GATHER of every (1 + n + n^2 ...)-th element. Returns (value, its indices)."""
        for c in dict.fromkeys(tm):
            pos = [i for i, ch in enumerate(tm) if ch == c]
            if len(pos) < 2:
                continue
            perm = [i for i in range(len(tm)) if i not in pos] + pos
            if perm != list(range(len(perm))):
                v = self._op_Transpose(None, [v], {"perm": perm})
            tm = "".join(tm[i] for i in perm)
            n, r = size[c], len(pos)
            v = self._op_Reshape(None, [v, self.cval(np.array(list(v.shape[:-r]) + [n ** r], np.int64))], {})
            step = sum(n ** j for j in range(r))
            v = self._op_Gather(None, [v, self.cval(np.arange(n, dtype=np.int64) * step)], {"axis": v.rank - 1})
            tm = tm[:-r] + c
        return v, tm

    def _einsum_pair(self, a, sa: str, b, sb: str, keep: set, size: dict):
        """a (indices sa) times b (indices sb), summed over the shared indices not in `keep`: one BATCH_MATMUL
        of [batch, free a, contracted] by [batch, contracted, free b]. Returns (value, its indices)."""
        batch = [c for c in sa if c in sb and c in keep]
        contract = [c for c in sa if c in sb and c not in keep]
        free_a = [c for c in sa if c not in sb]
        free_b = [c for c in sb if c not in sa]

        def prod(cs):
            return int(np.prod([size[c] for c in cs]))

        def arrange(v, s, order, shape):
            perm = [s.index(c) for c in order]
            if perm != list(range(len(perm))):
                v = self._op_Transpose(None, [v], {"perm": perm})
            return self._op_Reshape(None, [v, self.cval(np.array(shape, np.int64))], {})

        av = arrange(a, sa, batch + free_a + contract, [prod(batch), prod(free_a), prod(contract)])
        bv = arrange(b, sb, batch + contract + free_b, [prod(batch), prod(contract), prod(free_b)])
        y = self._batch_matmul(av, bv)
        mid = batch + free_a + free_b
        y = self._op_Reshape(None, [y, self.cval(np.array([size[c] for c in mid], np.int64))], {})
        return y, "".join(mid)
