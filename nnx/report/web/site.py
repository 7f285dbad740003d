"""The site folder: what is in it, how it is checked and how it is rewritten.

    DIR/index.html               every study and run (nnx.report.web.index_page)
    DIR/runs/<run id>.html       one page per run record
    DIR/studies/<study>.html     one page per study document
    DIR/assets/plotly.min.js     plotly.js from the plotly package, once for every page
    DIR/assets/nnx.css, nnx.js   the style and the table script shipped with nnx
    DIR/nnx-report.json          the pages this writer made (so the next one removes those
                                 no longer wanted, and nothing else)

Pages work from file:// and need no network. Each file is replaced atomically
(`nnx.atomic`) and only when its content changed, the index last: a web server serving
DIR while it is rewritten (after every cron sweep) shows each page old or new, never half
of one, and the index links only to pages already written. A folder that holds other
files, a path that is a file, or a folder nnx cannot write in is refused before anything
is written.
"""

import json
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from nnx import __version__
from nnx.atomic import creatable_folder, replace_atomically
from nnx.errors import NnxError
from nnx.leftovers import LEFTOVER_AGE_S, remove_files, stale_temporaries
from nnx.report.index import load_results
from nnx.results import runs_dir, utc_now

MANIFEST = "nnx-report.json"
SITE_SCHEMA = "nnx.site/1"
ASSETS = ("nnx.css", "nnx.js")
PAGE_FOLDERS = ("runs", "studies")


@dataclass
class Site:
    folder: Path
    pages: list = field(default_factory=list)  # paths relative to the folder
    skipped: list = field(default_factory=list)  # (path, reason) of damaged files
    removed: list = field(default_factory=list)  # pages of runs and studies now gone

    @property
    def index(self):
        return self.folder / "index.html"


def check_site_folder(folder):
    """The site folder as a Path, refused (NnxError) when it is a file, lies below a file,
    holds files that are not an nnx report, or cannot be written in."""
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise NnxError(f"--html {folder}: this is a file; give the folder the report goes "
                       "to (it is created when missing)")
    if path.is_dir() and not (path / MANIFEST).is_file() and any(path.iterdir()):
        raise NnxError(f"--html {folder}: the folder holds files that are not an nnx "
                       "report; give a new or empty folder, or one that nnx report --html "
                       "wrote before")
    creatable_folder(path, f"--html {folder}")
    return path


def page_name(name):
    """A run id or study name as a page's file name, or None when it could not be one
    (a record edited by hand: a slash, a leading dot)."""
    if not name or name.startswith(".") or "/" in name or "\0" in name or len(name) > 200:
        return None
    return f"{name}.html"


def write_site(results_dir, folder, now=None):
    """Write the site of the results folder `results_dir` into `folder`; returns a Site."""
    from nnx.report.web.figures import require_plotly
    from nnx.report.web.html import Links
    from nnx.report.web.index_page import index_page
    from nnx.report.web.run_page import run_page
    from nnx.report.web.study_page import study_page

    require_plotly()
    site = Site(check_site_folder(folder))
    results = load_results(results_dir)
    previous = _previous_pages(site.folder)
    runs = {r["run_id"]: r for r in results.runs if page_name(r["run_id"])}
    studies = {d["study"]: (d, p) for d, p in results.studies if page_name(d["study"])}
    trial_of = {t["run_id"]: (name, t.get("number")) for name, (d, _) in studies.items()
                for t in d["trials"] if isinstance(t.get("run_id"), str)}
    _write_assets(site)
    links = Links(set(runs), set(studies), depth=1)
    for run_id, record in runs.items():
        path = runs_dir(results.root) / f"{run_id}.json"
        _write(site, f"runs/{page_name(run_id)}",
               run_page(record, path, links, trial_of.get(run_id)))
    for name, (document, path) in studies.items():
        _write(site, f"studies/{page_name(name)}", study_page(document, path, links))
    _write(site, "index.html", index_page(results, Links(set(runs), set(studies), depth=0),
                                          now))
    stale = [site.folder / p for p in previous - set(site.pages)
             if p.split("/")[0] in PAGE_FOLDERS and p.endswith(".html")]
    site.removed = remove_files(stale)
    _remove_temporaries(site.folder)
    manifest = {"schema": SITE_SCHEMA, "nnx": __version__, "generated": utc_now(),
                "results_dir": str(results.root), "pages": site.pages}
    _write(site, MANIFEST, json.dumps(manifest, indent=1) + "\n", page=False)
    site.skipped = results.skipped
    return site


def _write(site, relative, text, page=True):
    """Replace `relative` in the site with `text` unless it holds that already."""
    path = site.folder / relative
    data = text.encode("utf-8") if isinstance(text, str) else text
    if page:
        site.pages.append(relative)
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return
    except OSError:
        pass  # not there yet
    replace_atomically(path, lambda handle: handle.write(data), binary=True)


def _write_assets(site):
    import plotly.offline

    _write(site, "assets/plotly.min.js", plotly.offline.get_plotlyjs(), page=False)
    folder = resources.files("nnx.report.web") / "assets"
    for name in ASSETS:
        _write(site, f"assets/{name}", (folder / name).read_bytes(), page=False)


def _previous_pages(folder):
    """The pages the last writer of `folder` made (none when it holds no readable list)."""
    try:
        pages = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("pages")
    except (OSError, ValueError, AttributeError):
        return set()
    return {p for p in pages if isinstance(p, str)} if isinstance(pages, list) else set()


def _remove_temporaries(folder):
    """Temporary files of writes killed long ago (a write in progress is recent)."""
    cutoff = time.time() - LEFTOVER_AGE_S
    remove_files([p for sub in ("", "assets", *PAGE_FOLDERS)
                  for p in stale_temporaries(folder / sub, cutoff)])

