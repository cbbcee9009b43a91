"""Every relative link in the docs resolves: the file it names exists, and so does the heading its
`#anchor` names (GitHub's anchors); and every page of docs/ can be reached from the README.

Links to other sites are not followed (nothing here reaches the network); code blocks and code spans
are not links.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import pytest

from .readme import ROOT

DOCS = sorted(
    {
        ROOT / "README.md",
        ROOT / "benchmarks/README.md",
        ROOT / "images/README.md",
        ROOT / "integration/README.md",
        *ROOT.glob("packages/*/README.md"),
        *ROOT.glob("docs/**/*.md"),
    }
)
FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", flags=re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", flags=re.DOTALL)
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", flags=re.MULTILINE)
HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", flags=re.MULTILINE)
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # https:, mailto:, ...


def prose(text: str) -> str:
    """The text outside code blocks and code spans, where a `[...](...)` is a link."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings: lower case, punctuation dropped, blanks as hyphens, a
    repeated one numbered."""
    seen: Counter[str] = Counter()
    found = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text())):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
        slug = re.sub(r"[^\w\- ]", "", text.replace("`", "").strip().lower()).replace(" ", "-")
        found.add(slug if not seen[slug] else f"{slug}-{seen[slug]}")
        seen[slug] += 1
    return found


def links(page: Path) -> list[str]:
    text = prose(page.read_text())
    return INLINE_LINK.findall(text) + REFERENCE.findall(text)


def relative_links(page: Path) -> list[str]:
    return [target for target in links(page) if not EXTERNAL.match(target)]


def broken(page: Path, target: str) -> str | None:
    """Why a relative link from `page` does not resolve, or None when it does."""
    path, _, anchor = unquote(target).partition("#")
    dest = (page.parent / path).resolve() if path else page
    if not dest.is_relative_to(ROOT):
        return "points outside the repository"
    if not dest.exists():
        return f"{dest.relative_to(ROOT)} does not exist"
    if anchor:
        if dest.suffix != ".md":
            return f"an anchor into {dest.relative_to(ROOT)}, which has no headings"
        if anchor not in anchors(dest):
            return f"{dest.relative_to(ROOT)} has no heading with the anchor #{anchor}"
    return None


def name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def test_the_parser_finds_the_readme_links() -> None:
    # Guards the tests below against passing on nothing: the README links its guides and an anchor.
    targets = relative_links(ROOT / "README.md")
    assert "docs/large-jobs.md" in targets, targets
    assert any("#" in t for t in links(ROOT / "docs" / "configuration.md")), "no anchors found"
    assert "install" in anchors(ROOT / "README.md")
    assert "results-and-rounds" in anchors(ROOT / "docs" / "results.md")


def test_a_broken_link_is_found() -> None:
    page = ROOT / "docs" / "results.md"
    assert broken(page, "large-jobs.md#what-runs-where") is None
    assert broken(page, "no-such-page.md")
    assert broken(page, "large-jobs.md#no-such-heading")
    assert broken(page, "#no-such-heading")
    assert broken(page, "../../outside.md")


@pytest.mark.parametrize("page", DOCS, ids=name)
def test_every_relative_link_resolves(page: Path) -> None:
    problems = [f"({target}): {why}" for target in relative_links(page) if (why := broken(page, target))]
    assert not problems, f"{name(page)}: " + "; ".join(problems)


def test_every_page_of_docs_is_reached_from_the_readme() -> None:
    reached, todo = set(), [ROOT / "README.md"]
    while todo:
        page = todo.pop()
        if page in reached or page.suffix != ".md" or not page.is_file():
            continue
        reached.add(page)
        for target in relative_links(page):
            path = unquote(target).partition("#")[0]
            if path:
                todo.append((page.parent / path).resolve())
    unreached = sorted(name(p) for p in ROOT.glob("docs/**/*.md") if p.resolve() not in reached)
    assert not unreached, f"no link from the README leads to {unreached}"
