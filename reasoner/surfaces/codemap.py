"""The code map: the procedure codes as a graph, and a picture of it.

Nodes are the codes of the library query `code-list` (kind, region, label), edges the links of
`code-links` (add-on to, excludes, includes guidance): both SPARQL over the ontology, so the map
follows whatever the ontology says. networkx holds the graph and matplotlib draws it (the
`notebooks` extra). notebooks/1-code-map.ipynb shows it; the README's picture is made with

    python -m reasoner.surfaces.codemap docs/code-map.png        (make code-map)

The layout is read off the graph, not written per code: the codes with no single region that
link to others (guidance add-ons, the migraine code) are hubs at the sides, primaries left and
add-ons right; the codes they link to stand in a column between them, grouped by region; every
other code sits in a row per region below.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from ..knowledge.ontology import load
from .dataset import build

NO_REGION = "no single region"
RELATIONS = {  # relation: (colour, line style, arrow, legend text)
    "add-on to": ("#1f5fa8", "solid", True, "add-on code \u2192 a primary it is reported with"),
    "excludes": ("#c0392b", "dashed", False, "never reported together"),
    "includes guidance": ("#2e8b57", "dotted", True, "includes guidance: that guidance code is not reported"),
}


def graph(dataset):
    """The codes and their links as a networkx MultiDiGraph; `dataset` is a reasoner.surfaces.dataset.Dataset
    (build(ontology) holds the ontology alone). Node attributes: kind, region, label; edge: relation."""
    import networkx as nx

    g = nx.MultiDiGraph()
    for row in dataset.query("code-list").records():
        g.add_node(row["code"], kind=row["kind"], region=row["region"], label=row["label"])
    for row in dataset.query("code-links").records():
        g.add_edge(row["code"], row["other"], relation=row["relation"])
    return g


def layout(g) -> dict[str, tuple[float, float]]:
    """Positions: hubs at the sides, the codes they link to in a middle column by region, the rest
    in rows by region underneath (see the module's docstring)."""
    def region(n):
        return g.nodes[n]["region"]

    linked = {n for n in g if g.degree(n)}
    hubs = sorted(n for n in linked if region(n) == NO_REGION)
    middle = sorted({m for h in hubs for m in list(g.successors(h)) + list(g.predecessors(h))} - set(hubs),
                    key=lambda n: (region(n), g.nodes[n]["kind"] != "primary", n))
    pos: dict[str, tuple[float, float]] = {}
    # the middle column, top down, primaries by region; an add-on stands to their right, level
    # with the primaries it is reported with
    y = 0.0
    last = None
    for n in (m for m in middle if g.nodes[m]["kind"] == "primary"):
        if last is not None:
            y -= 2.0 if region(n) != region(last) else 1.6
        pos[n] = (0.0, y)
        last = n
    bottom = y
    addons = []
    for n in (m for m in middle if g.nodes[m]["kind"] != "primary"):
        with_ = [pos[p][1] for p in g.successors(n) if p in pos]
        addons.append((sum(with_) / len(with_) if with_ else bottom - 1.6, n))
    floor = None
    for want, n in sorted(addons, reverse=True):
        y = want if floor is None else min(want, floor - 1.3)
        pos[n] = (2.0, y)
        floor = y
    y = min([bottom] + [yy for _, yy in pos.values()])
    top, bottom = 0.0, y
    left = [h for h in hubs if g.nodes[h]["kind"] == "primary"]
    right = [h for h in hubs if g.nodes[h]["kind"] != "primary"]
    for column, x in ((left, -4.5), (right, 5.0)):
        for i, h in enumerate(column):
            span = (top - bottom) / (len(column) + 1)
            pos[h] = (x, top - span * (i + 1))
    # everything else: one row per region, below
    rest = sorted(set(g) - set(pos), key=lambda n: (region(n) == NO_REGION, region(n), n))
    groups: dict[str, list[str]] = {}
    for n in rest:
        groups.setdefault(region(n), []).append(n)
    y = bottom - 2.0
    x = -4.5
    for _reg, nodes in groups.items():
        width = 1.3 * (len(nodes) - 1)
        if x + width > 5.0:
            x, y = -4.5, y - 1.6
        for i, n in enumerate(nodes):
            pos[n] = (x + 1.3 * i, y)
        x += width + 2.0
    return pos


def draw(g, ax=None, title: str | None = None):
    """Draw the map on `ax` (a new figure when None) and return the figure."""
    import matplotlib.pyplot as plt
    import networkx as nx
    from matplotlib.lines import Line2D

    pos = layout(g)
    if ax is None:
        ys = [y for _, y in pos.values()]
        _, ax = plt.subplots(figsize=(12, 2.2 + 0.75 * (max(ys) - min(ys))))
    fig = ax.figure
    regions = sorted({g.nodes[n]["region"] for n in g})
    palette = plt.get_cmap("Set3").colors + plt.get_cmap("Pastel1").colors  # light: black text reads on each
    colour = {r: palette[i % len(palette)] for i, r in enumerate(regions)}
    for kind, shape in (("primary", "o"), ("add-on", "s")):
        nodes = [n for n in g if g.nodes[n]["kind"] == kind]
        nx.draw_networkx_nodes(g, pos, nodelist=nodes, node_shape=shape, node_size=1300, ax=ax,
                               node_color=[colour[g.nodes[n]["region"]] for n in nodes],
                               edgecolors="#333333", linewidths=1.2)
    nx.draw_networkx_labels(g, pos, font_size=8.5, font_weight="bold", ax=ax)
    for relation, (col, style, arrow, _) in RELATIONS.items():
        edges = [(u, v) for u, v, r in g.edges(data="relation") if r == relation]
        # links inside the middle column bend out, so they do not run through the codes between
        straight = [(u, v) for u, v in edges if pos[u][0] != pos[v][0]]
        bent = [(u, v) for u, v in edges if pos[u][0] == pos[v][0]]
        for group, style_kw in ((straight, {}), (bent, {"connectionstyle": "arc3,rad=0.9"})):
            if group:
                nx.draw_networkx_edges(g, pos, edgelist=group, edge_color=col, style=style, width=1.3,
                                       arrows=True, arrowstyle="-|>" if arrow else "-", arrowsize=14,
                                       node_size=1300, alpha=0.8, ax=ax, **style_kw)
    # each code's region, in small print under it
    for n, (x, y) in pos.items():
        ax.text(x, y - 0.33, textwrap.fill(g.nodes[n]["region"], 24), ha="center", va="top", fontsize=8,
                color="#333333", linespacing=1.0)
    handles = [Line2D([], [], color=c, linestyle=s, linewidth=1.6, label=t) for c, s, _, t in RELATIONS.values()]
    handles += [Line2D([], [], marker="o", linestyle="", markerfacecolor="white", markeredgecolor="#333333",
                       markersize=11, label="primary code"),
                Line2D([], [], marker="s", linestyle="", markerfacecolor="white", markeredgecolor="#333333",
                       markersize=11, label="add-on code (colour: billing region, written under each code)")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.01), ncol=2, fontsize=8.5, frameon=False)
    ax.set_title(title or "Chemodenervation codes: add-on links, exclusions and guidance inclusion, by billing region",
                 fontsize=12)
    xs = [x for x, _ in pos.values()]
    ys = [y for _, y in pos.values()]
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.set_ylim(min(ys) - 0.9, max(ys) + 0.6)
    ax.axis("off")
    fig.tight_layout()
    return fig


def save(fig, path: Path, dpi: int = 80) -> None:
    """A small PNG: a palette of 64 colours is plenty for this picture and a third of the bytes.
    No timestamp or version goes into the file, so an unchanged map gives the same bytes."""
    import io

    from PIL import Image  # matplotlib's own dependency

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    image = Image.open(buffer).convert("RGB").quantize(colors=64, dither=Image.Dither.NONE)
    image.save(path, format="PNG", optimize=True)


def main(argv: list[str] | None = None) -> int:
    """python -m reasoner.surfaces.codemap OUTPUT.png [--ontology DIR]"""
    import argparse

    import matplotlib

    matplotlib.use("Agg")
    parser = argparse.ArgumentParser(prog="python -m reasoner.surfaces.codemap", description="Draw the code map as a PNG.")
    parser.add_argument("output", type=Path)
    parser.add_argument("--ontology")
    parser.add_argument("--dpi", type=int, default=90)
    args = parser.parse_args(argv)
    fig = draw(graph(build(load(args.ontology))))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    save(fig, args.output, dpi=args.dpi)
    print(f"wrote {args.output} ({args.output.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
