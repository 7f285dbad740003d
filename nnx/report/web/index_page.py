"""The index of the site: the overview `nnx report` prints (every study and run, newest
first, damaged files listed as skipped) as one sortable, filterable table whose names link
to their pages. The runs of study trials are in it too, hidden until asked for."""

from datetime import UTC, datetime

from nnx.report.overview import Filters, overview_view
from nnx.report.values import fmt_date
from nnx.report.web.html import Renderer, page


def trial_run_ids(results):
    return {t["run_id"] for document, _ in results.studies for t in document["trials"]
            if isinstance(t.get("run_id"), str)}


def index_page(results, links, now=None):
    view = overview_view(results, Filters(all_runs=True))
    trial_runs = trial_run_ids(results)
    renderer = Renderer(links)
    listing = view.sections[0]  # the overview's table: name, kind, ...
    optional = {i for i, row in enumerate(listing.rows)
                if row[1].text == "run" and row[0].text in trial_runs}
    parts = [renderer.section(listing, optional)]
    parts += [renderer.section(section) for section in view.sections[1:]]
    generated = fmt_date(now or datetime.now(UTC))
    return page("runs and studies", "".join(parts), links.depth,
                subtitle=f"{view.title} · generated {generated} UTC")
