"""MkDocs hooks of the documentation site (mkdocs.yml ``hooks:``).

The notebooks live in ``notebooks/`` at the repository root, outside ``docs/``: they join the site as
``notebooks/<name>.ipynb`` (mkdocs-jupyter renders them from their committed outputs; nothing is executed),
and a page's link to ``../notebooks/<name>.ipynb`` (right when the page is read in the repository) is
rewritten to where the notebook sits on the site.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

NOTEBOOK_LINK = re.compile(r"\]\(((?:\.\./)*)\.\./notebooks/")


@event_priority(100)  # before mkdocs-jupyter turns .ipynb files into pages
def on_files(files, config):
    root = Path(config.config_file_path).resolve().parent
    for notebook in sorted((root / "notebooks").glob("*.ipynb")):
        files.append(File(f"notebooks/{notebook.name}", src_dir=str(root), dest_dir=config.site_dir,
                          use_directory_urls=config.use_directory_urls))
    return files


def on_page_markdown(markdown, page, config, files):
    return NOTEBOOK_LINK.sub(r"](\1notebooks/", markdown)
