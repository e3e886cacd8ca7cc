"""The README stays short and nothing it used to hold is lost: every section of the long README
(before the documentation site) is a heading of some docs/ page, and the site's navigation names
every page. `./scripts/docs.sh` builds the site itself (mkdocs --strict: links and anchors)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
README_LIMIT = 12 * 1024

OLD_README_SECTIONS = (
    "What it is",
    "What a run gives you",
    "Commands",
    "Interrupted runs",
    "Suites and budgets",
    "Curves inside a stage",
    "Models",
    "Your own domains",
    "Use your own trainer",
    "Data",
    "Evaluation",
    "Evaluation with vLLM",
    "Metrics",
    "Signal or noise: intervals",
    "Training",
    "More than one process",
    "Sweeps on a cluster",
    "Methods",
    "Determinism",
    "lm-eval compatibility",
    "Leaderboards and the regression gate",
    "Architecture",
    "Development",
)


def headings(path: Path) -> set[str]:
    """The headings of a markdown page (any level), outside fenced code."""
    found, fenced = set(), False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"#{1,6} (.+)", line)):
            found.add(match.group(1).strip())
    return found


def test_readme_is_short():
    size = (REPO / "README.md").stat().st_size
    assert size <= README_LIMIT, f"README.md is {size} bytes; at most {README_LIMIT}"


def test_readme_starts_with_the_two_commands():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    before_sections = text.split("\n## ", 1)[0]
    assert "```bash\n./scripts/run-default.sh\n```" in before_sections
    assert "```bash\n./scripts/test.sh\n```" in before_sections


def test_every_old_readme_section_is_a_docs_heading():
    found = set().union(*(headings(page) for page in DOCS.glob("*.md")))
    missing = [title for title in OLD_README_SECTIONS if title not in found]
    assert not missing, f"sections of the old README with no docs/ heading: {missing}"


def test_navigation_names_every_page_once():
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = [next(iter(item.values())) for item in config["nav"]]
    assert len(pages) == len(set(pages))
    assert sorted(pages) == sorted(p.name for p in DOCS.glob("*.md"))
    assert config["theme"]["name"] == "material" and config["strict"] is True


def test_readme_links_resolve():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if "://" not in t]
    assert local and all((REPO / t).exists() for t in local), [t for t in local if not (REPO / t).exists()]


def test_methods_page_keeps_the_heading_for_plugins():
    assert "Adding a method" in headings(DOCS / "methods.md")
