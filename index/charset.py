"""Bytes to text by what the document declares, never by guessing.

A wrong guess puts mojibake into quotes that auditors then cannot find in the source, so
a document is decoded only with an encoding it (or its server) states, in the order a
browser honours them (WHATWG "encoding sniffing", without the guessing step):

1. a byte order mark (UTF-8, UTF-16 LE/BE);
2. the ``charset`` of the HTTP ``Content-Type`` header, for fetched pages;
3. for markup, a ``<meta charset>``, a ``<meta http-equiv="Content-Type">`` or an XML
   declaration's ``encoding``, found by w3lib's prescan of the document's head;
4. otherwise UTF-8, strictly: anything else is refused with the byte and offset at fault.

Labels resolve as browsers resolve them (w3lib: ``latin-1`` and ``iso-8859-1`` mean
windows-1252, ``gb2312`` means GB18030); a label no browser knows is ignored, as browsers do. Decoding with a declared encoding is strict too:
a page whose bytes contradict its own declaration is refused, not repaired.
"""

from __future__ import annotations

import codecs

from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom, resolve_encoding

__all__ = ["DecodeError", "decode_document"]

_PRESCAN_BYTES = 4096  # a declaration must be in the head; browsers look at the first 1,024 bytes, w3lib further


class DecodeError(ValueError):
    """The bytes are not text in any encoding the document declares (the message says why)."""


def decode_document(data: bytes, *, content_type: str | None = None, markup: bool = False) -> str:
    """The text of ``data``, decoded as declared; raises :class:`DecodeError` otherwise.

    ``markup`` says whether in-document declarations (meta tags, XML declaration) count:
    they do for HTML and XML, not for plain text, where "<meta charset>" is just words.
    The BOM is not part of the text.
    """
    if b"\x00" in data[:8192] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DecodeError("binary file (contains NUL bytes)")
    bom_encoding, bom = read_bom(data)
    if bom_encoding:
        encoding, how, body = bom_encoding, "its byte order mark", data[len(bom):]
    else:
        body = data
        encoding, how = _declared(data, content_type, markup)
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        if how is None:
            raise DecodeError(f"not valid UTF-8 (byte 0x{body[exc.start]:02x} at offset {exc.start}) and no charset declared; "
                              "declare the charset or convert the file to UTF-8") from None
        raise DecodeError(f"not valid {encoding} as {how} declares (byte 0x{body[exc.start]:02x} at offset {exc.start})") from None
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > 0.01 * max(1, min(len(text), 8192)):
        raise DecodeError("binary file (control characters)")
    return text


def _declared(data: bytes, content_type: str | None, markup: bool) -> tuple[str, str | None]:
    """The declared encoding and who declares it; UTF-8 and ``None`` when nothing does."""
    header = http_content_type_encoding(content_type) if content_type else None
    if header:
        return header, "the Content-Type header"
    if markup:
        declared = html_body_declared_encoding(data[:_PRESCAN_BYTES])
        if declared:
            resolved = resolve_encoding(declared) or declared
            # A page that says UTF-16 in ASCII bytes cannot be UTF-16 (browsers read it as UTF-8).
            if resolved.startswith("utf-16"):
                resolved = "utf-8"
            return resolved, "the document's own charset declaration"
    return "utf-8", None
