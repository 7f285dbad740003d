"""`nnx report --html DIR`: the results folder as a static web site, to open from disk or
serve as it is: an index of every run and study, a page per run and per study, Plotly
charts (plotly.js shipped once in the site), no server and no network.

Modules: `site` (the folder: checks, atomic rewrites, stale pages), `html` (view sections
and figures as HTML, the page around them), `figures` (Plotly figures from the terminal's
chart descriptions, and a study's Pareto front), `index_page`, `run_page`, `study_page`;
`assets/` holds the style and the table script. plotly is the optional extra `nnx[web]`.
"""

from nnx.report.web.site import Site, write_site

__all__ = ["Site", "write_site"]
