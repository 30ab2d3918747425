"""HTML bodies become readable text."""

from __future__ import annotations

from begasist_channels_email.html_text import html_to_text


def test_structure_entities_and_dropped_parts() -> None:
    html = (
        "<html><head><title>t</title><style>p{color:red}</style></head><body>"
        "<script>alert(1)</script><p>Hola &amp; adi&oacute;s</p>"
        "<ul><li>uno</li><li>dos</li></ul><ol><li>first</li><li>second</li></ol>"
        '<div>See <a href="https://hotel.example/faq">our FAQ</a> or '
        '<a href="https://hotel.example">https://hotel.example</a><br>bye</div></body></html>'
    )
    assert html_to_text(html) == (
        "Hola & adiós\n\n- uno\n- dos\n1. first\n2. second\n"
        "See our FAQ (https://hotel.example/faq) or https://hotel.example\nbye"
    )


def test_blank_lines_from_empty_divs_and_quotes() -> None:
    html = "<div>Hi</div><div><br></div><div>there</div><blockquote><div>old</div></blockquote>"
    assert html_to_text(html) == "Hi\n\nthere\n\n> old"


def test_pre_keeps_lines_and_broken_html_does_not_raise() -> None:
    assert html_to_text("<pre>a  b\n  c</pre>") == "a  b\n  c"
    assert html_to_text("<div><p>unclosed <b>tags &notanentity; <").startswith("unclosed tags")
