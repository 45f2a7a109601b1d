from __future__ import annotations

from releasegate.github.markdown import code, escape, table


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
