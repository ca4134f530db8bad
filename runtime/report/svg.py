"""A few helpers that write SVG and HTML text: escaping, numbers, colours. The report draws everything itself
so the page needs no script library, stylesheet or font from the network."""
from __future__ import annotations

import html


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def num(x: float) -> str:
    """A coordinate: integers as such, otherwise one decimal (keeps the page small)."""
    r = round(float(x), 1)
    return str(int(r)) if r == int(r) else f"{r:.1f}"


def attrs(**kw) -> str:
    """' a="1" b="x"' from keywords (trailing underscore dropped, other underscores become dashes: class_,
    data_offset -> class, data-offset); None values are left out."""
    parts = []
    for k, v in kw.items():
        if v is None:
            continue
        name = k.rstrip("_").replace("_", "-")
        parts.append(f' {name}="{esc(num(v) if isinstance(v, float) else v)}"')
    return "".join(parts)


def title(text: str) -> str:
    """A tooltip: the browser shows it on hover over the parent element."""
    return f"<title>{esc(text)}</title>"


def rect(x, y, w, h, tip=None, **kw) -> str:
    body = f"<rect{attrs(x=float(x), y=float(y), width=float(w), height=float(h), **kw)}"
    return body + (f">{title(tip)}</rect>" if tip else "/>")


def line(x1, y1, x2, y2, **kw) -> str:
    return f"<line{attrs(x1=float(x1), y1=float(y1), x2=float(x2), y2=float(y2), **kw)}/>"


def text(x, y, content, **kw) -> str:
    return f"<text{attrs(x=float(x), y=float(y), **kw)}>{esc(content)}</text>"


def human(n: float) -> str:
    """Bytes for people: 812 B, 12.5 KiB, 3.1 MiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def hue(k: int) -> str:
    """Distinct neighbouring colours (golden-angle hue steps) for bars that touch."""
    return f"hsl({(k * 137.508) % 360:.0f},55%,62%)"


def shape_text(shape) -> str:
    return "scalar" if shape is not None and len(shape) == 0 else \
        "?" if shape is None else "x".join(str(int(d)) for d in shape)


def svg_open(width: float, height: float, **kw) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg"{attrs(width=float(width), height=float(height), **kw)}'
            f' viewBox="0 0 {num(width)} {num(height)}">')
