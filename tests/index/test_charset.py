"""Bytes become text only by a declared encoding (index/charset.py): BOMs, the HTTP header,
<meta charset>, http-equiv and XML declarations are honoured; nothing is guessed."""

from __future__ import annotations

import codecs

import pytest

from newsdesk.index.charset import DecodeError, decode_document

TEXT = "Café crème, “quoted” – €5"


@pytest.mark.parametrize("declaration", [
    '<meta charset="windows-1252">', "<meta charset=windows-1252>", '<META CHARSET="Windows-1252">',
    '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">',
    '<meta content="text/html; charset=iso-8859-1" http-equiv="content-type">',  # latin-1 means windows-1252 to browsers
])
def test_meta_declarations_are_honoured(declaration: str) -> None:
    page = f"<html><head>{declaration}<title>t</title></head><body><p>{TEXT}</p></body></html>"
    assert TEXT in decode_document(page.encode("cp1252"), markup=True)


def test_xml_declaration_is_honoured() -> None:
    feed = f'<?xml version="1.0" encoding="windows-1252"?><rss><item><title>{TEXT}</title></item></rss>'
    assert TEXT in decode_document(feed.encode("cp1252"), markup=True)


def test_http_header_wins_over_the_page() -> None:
    page = f'<html><head><meta charset="utf-8"></head><body>{TEXT}</body></html>'.encode("cp1252")
    assert TEXT in decode_document(page, content_type="text/html; charset=windows-1252", markup=True)


@pytest.mark.parametrize("bom,codec", [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")])
def test_a_bom_wins_over_any_declaration(bom: bytes, codec: str) -> None:
    page = f'<html><head><meta charset="windows-1252"></head><body>{TEXT}</body></html>'
    decoded = decode_document(bom + page.encode(codec), markup=True)
    assert decoded == page  # the BOM is not text


def test_plain_text_ignores_markup_declarations() -> None:
    text = '<meta charset="windows-1252"> ' + TEXT
    with pytest.raises(DecodeError, match="not valid UTF-8"):
        decode_document(text.encode("cp1252"), markup=False)


def test_undeclared_non_utf8_is_refused_not_guessed() -> None:
    with pytest.raises(DecodeError, match=r"not valid UTF-8 \(byte 0xe9 at offset 3\) and no charset declared"):
        decode_document("Caf\u00e9".encode("latin-1"), markup=True)


def test_bytes_that_contradict_their_declaration_are_refused() -> None:
    page = '<html><head><meta charset="utf-8"></head><body>Caf\u00e9</body></html>'.encode("latin-1")
    with pytest.raises(DecodeError, match="not valid utf-8 as the document's own charset declaration declares"):
        decode_document(page, markup=True)


def test_an_unknown_charset_label_is_ignored_as_browsers_do() -> None:
    assert decode_document('<meta charset="klingon-8"><p>Café</p>'.encode(), markup=True).endswith("Café</p>")
    with pytest.raises(DecodeError, match="not valid UTF-8"):
        decode_document('<meta charset="klingon-8"><p>Café</p>'.encode("cp1252"), markup=True)


def test_binary_is_refused() -> None:
    with pytest.raises(DecodeError, match="binary"):
        decode_document(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", markup=True)
