"""Files users send, as the fake messengers serve them at their URLs: a real PDF's start unless a test
gives other content, and only the range a "Range: bytes=A-B" header asks for (206), as file servers do."""

from __future__ import annotations

from aiohttp import web

PDF_START = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"


def ranged(request: web.Request, content: bytes) -> web.Response:
    asked = request.headers.get("Range", "")
    if not asked.startswith("bytes=") or "," in asked:
        return web.Response(body=content)
    first, _, last = asked.removeprefix("bytes=").partition("-")
    start, end = int(first or 0), min(int(last) if last else len(content) - 1, len(content) - 1)
    return web.Response(status=206, body=content[start:end + 1],
                        headers={"Content-Range": f"bytes {start}-{end}/{len(content)}"})
