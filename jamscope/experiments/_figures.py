"""Matplotlib set-up and the drawing helpers shared by the experiments' figures (each figure function
returns a Figure; saving is the caller's). Importing it selects the non-interactive Agg backend, which
is why only the experiments import it, never the core."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["plt", "panels", "legend", "depth_colors", "power_law"]


def panels(count: int, *, height: float = 3.6):
    """A figure of `count` panels, two per row (each about 4.5 × `height` inches): a panel keeps a
    legible size when the figure is shown at the width of a page or a screen. Returns (figure,
    list of the `count` axes, row by row)."""
    rows = -(-count // 2)
    fig, grid = plt.subplots(rows, 2, figsize=(9.5, height * rows), constrained_layout=True, squeeze=False)
    axes = list(grid.ravel())
    for spare in axes[count:]:
        spare.remove()
    return fig, axes[:count]


def legend(ax, **kwargs) -> None:
    """A legend only when something labelled was drawn."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, **kwargs)


def depth_colors(depths) -> dict[int, str]:
    """One colour per depth, in increasing order."""
    return {int(d): f"C{i}" for i, d in enumerate(sorted({int(v) for v in depths}))}


def power_law(ax, n, fit, style="--", color="k", label=None) -> None:
    """The fitted C n^(−b) over the fit window (clipped to the data)."""
    shown = n[(n >= fit.low) & (n <= fit.high)]
    ax.loglog(shown, fit.prefactor * shown ** (-fit.exponent), style, color=color, lw=1, label=label)
