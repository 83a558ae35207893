"""Raw HTTP/1.1 over a socket, for what httpx refuses to send or hides: chunked bodies pushed until the server
answers (how many bytes it let in before answering), over-long heads, bytes that are not HTTP."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator

__all__ = ["TOTAL", "CHUNK", "split", "push_chunked", "exchange", "json_body", "multipart_body", "head"]

TOTAL = 64 * 1024 * 1024
CHUNK = 64 * 1024


def split(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


def push_chunked(port: int, head: bytes, chunks: Iterator[bytes]) -> tuple[int, bytes]:
    """Send a chunked body until the server answers; (body bytes sent before the answer, the answer)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(head)
    sock.setblocking(False)
    sent = 0
    try:
        for chunk in chunks:
            readable, writable, _ = select.select([sock], [sock], [], 30)
            if readable:
                break
            framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            view = memoryview(framed)
            while view:
                _, ready, _ = select.select([], [sock], [], 30)
                if not ready:
                    raise TimeoutError("the server stopped reading and did not answer")
                try:
                    view = view[sock.send(view):]
                except BlockingIOError:
                    continue
            sent += len(chunk)
        else:
            sock.setblocking(True)
            sock.sendall(b"0\r\n\r\n")  # the whole body went in: end it and wait for the answer
        return sent, _read_all(sock)
    except (BrokenPipeError, ConnectionResetError):
        return sent, _read_all(sock)
    finally:
        sock.close()


def _read_all(sock: socket.socket) -> bytes:
    sock.setblocking(True)
    sock.settimeout(30)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return data


def exchange(port: int, request: bytes) -> bytes:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        sock.sendall(request)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return _read_all(sock)


def json_body() -> Iterator[bytes]:
    yield b'{"question": "'
    for _ in range(TOTAL // CHUNK):
        yield b"a" * CHUNK
    yield b'"}'


def multipart_body() -> Iterator[bytes]:
    yield (b'--B\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n'
           b"Content-Type: text/plain\r\n\r\n")
    for _ in range(TOTAL // CHUNK):
        yield b"x" * CHUNK
    yield b"\r\n--B--\r\n"


def head(path: str, content_type: str, auth: str | None = None) -> bytes:
    extra = f"Authorization: {auth}\r\n" if auth else ""
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            f"Transfer-Encoding: chunked\r\n{extra}\r\n").encode()
