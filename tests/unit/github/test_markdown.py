from __future__ import annotations

import re
from html import unescape

import cmarkgfm
import pytest

from releasegate.github.markdown import code, details, escape, table


def test_escape_neutralises_markup_html_links_and_mentions() -> None:
    text = escape("**bold** [x](http://evil) <script>alert(1)</script> @org/team `tick` | pipe ![img](y)")
    for raw in ("**", "[x]", "<script>", "@org", "`tick`", "![img]"):
        assert raw not in text
    assert "\\| pipe" in text
    assert "&lt;script&gt;" in text and "&#64;org" in text


def test_escape_is_one_line_and_bounded() -> None:
    assert escape("a\n\n# heading\r\n- item") == "a # heading - item"
    assert len(escape("x" * 5000, limit=100)) == 100


def test_leading_markers_are_escaped_but_inline_punctuation_stays() -> None:
    assert escape("# title") == "\\# title"
    assert escape("1. first") == "1\\. first"
    assert escape("read-only v1.2") == "read-only v1.2"


def test_code_cannot_be_closed_from_inside() -> None:
    assert code("a`b</code><b>x|y") == "<code>a`b&lt;/code&gt;&lt;b&gt;x&#124;y</code>"


def test_table_shape() -> None:
    assert table(["a", "b"], [["1", "2"]]).splitlines() == ["| a | b |", "|---|---|", "| 1 | 2 |"]


# Text from a pull request that tries to become a link, an image, HTML or a mention once rendered.
HOSTILE = [
    "https://evil.example/x", "http://evil.example", "HTTPS://EVIL.EXAMPLE", "hTtP://e.co", "ftp://evil.example",
    "see https://e.co/a?b=c&d=e#f now", "https:/\\/e.co", "https:\\//e.co", "(https://e.co)", "_https://e.co_",
    "www.evil.com", "see www.evil.com/x", "WWW.EVIL.COM", "Www.e.co", "(www.evil.com)", "*www.evil.com*",
    "~www.e.co~", "**www.e.co**", "a www.e.co.", "wwww.e.co", "www\\.e.co",
    "a@b.co", "x.y+z@evil-corp.com", "first.last@sub.example.org", "user@e.co:8080", "a @ b.co", "a@b@c.co",
    "mailto:x@y.z", "MAILTO:x@y.z", "xmpp:foo@bar.com/res", "xmpp:foo@bar.com", "mailto:", "xmpp:",
    "<https://e.co>", "<a@b.co>", "<mailto:a@b.co>", "[x](https://e.co)", "[x](<https://e.co>)", "[x][r]\n\n[r]: https://e.co",
    "[x]: https://e.co", "![i](https://e.co/i.png)", "![i][r]", "[![i](https://e.co/i.png)](https://e.co)",
    '<a href="https://e.co">x</a>', "<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "<iframe src=x>",
    "</code><a href=x>y</a><code>", "</summary><a href=x>", "&lt;a href=x&gt;y&lt;/a&gt;", "&#60;img src=x&#62;",
    "&#x3C;a href=x&#x3E;", "&lt;https://e.co&gt;", "www.e.co&#46;", "https&#58;//e.co", "https:&#47;/e.co",
    "`<a href=x>`", "``` x", "`https://e.co`", "``[x](https://e.co)``", "\\[x](https://e.co)", "\\\\[x](https://e.co)",
    "| a | b |", "|[x](https://e.co)|", "a | [x](https://e.co)", "\\| https://e.co |",
    "@user", "@org/team", "hi @user!", "(@user)", "a@user", "#123", "org/repo#12", "GH-12",
    "javascript:alert(1)", "data:text/html,<a href=x>", "1. https://e.co", "- www.e.co", "# [x](https://e.co)",
    "> https://e.co", "    https://e.co", "\nhttps://e.co\n", "a\u2028https://e.co", "\u00a0www.e.co",
]


def _render(markdown: str) -> str:
    """GitHub's renderer (cmark-gfm) with autolink, tagfilter and table on, raw HTML passed through."""
    return cmarkgfm.markdown_to_html_with_extensions(
        markdown, options=cmarkgfm.Options.CMARK_OPT_UNSAFE,
        extensions=["autolink", "tagfilter", "table", "strikethrough"])


def _text(html: str) -> str:
    """What a reader sees (the word joiner before '@' included)."""
    return unescape(re.sub(r"<[^>]*>", "", html)).strip()


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_renders_with_no_link_or_image(text: str) -> None:
    cell, inline = escape(text), code(text)
    for markdown in (cell, f"Pull request #5 {cell} from {inline}", table(["a", "b"], [[cell, inline], [inline, cell]]),
                     details(inline, cell)):
        html = _render(markdown)
        assert "<a" not in html and "<img" not in html, (markdown, html)
        assert "<script" not in html and "<iframe" not in html, (markdown, html)


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_text_reads_as_written(text: str) -> None:
    """Nothing is lost: the rendered text is the original on one line, plus a word joiner before '@'."""
    expected = " ".join(text.split()).replace("@", "\u2060@")
    assert _text(_render(escape(text, 5000))) == expected
    if "`" not in text:  # a pair of backticks inside <code> is a code span: literal, but not the same text
        assert _text(_render(code(text, 5000))) == expected
