"""The HTML report: one self-contained page rendered from the results store alone."""

from reglab.lab.report.render import figure_to_svg, render_report

__all__ = ["figure_to_svg", "render_report"]
