"""Reading files: every format, every encoding, and clear per-file errors for what cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import IngestError, UnsupportedFileError
from rag.ingestion.readers import SUPPORTED_SUFFIXES, decode_bytes, iter_source_files, load_file
from tests.conftest import SEEDS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TITLE = "حفتر يستنجد بروسيا لدعم قواته"
BODY = ("وصل القائد العام للجيش الليبي خليفة حفتر إلى العاصمة الروسية موسكو لبحث الأزمة الليبية وطلب "
        "دعما سياسيا وعسكريا. وقال مصدر أمني إن الوفد ضم تسعة عسكريين.")
ARTICLE = f"{TITLE}\n\n{BODY}\n\nوأضاف المصدر أن الزيارة استمرت يومين.\n"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _pdf(lines: list[str]) -> bytes:
    """A minimal one-page PDF with a Helvetica text layer, written by hand (no PDF writer offline)."""
    content = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


# --- encodings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding",
    ["utf-8", "utf-8-sig", "utf-16", "utf-16-le-bom", "utf-16-be-bom", "cp1256"],
)
def test_txt_in_every_encoding(tmp_path: Path, encoding: str) -> None:
    if encoding == "utf-16-le-bom":
        data = b"\xff\xfe" + ARTICLE.encode("utf-16-le")
    elif encoding == "utf-16-be-bom":
        data = b"\xfe\xff" + ARTICLE.encode("utf-16-be")
    else:
        data = ARTICLE.encode(encoding)
    articles, failures = load_file(_write(tmp_path, "haftar.txt", data))
    assert failures == []
    (article,) = articles
    assert article.title == TITLE
    assert article.text == ARTICLE.strip()
    assert article.doc_id == "haftar" and article.lang == "ar"
    assert article.source == str(tmp_path / "haftar.txt")


def test_cp1256_seed_round_trips() -> None:
    raw = (SEEDS / sorted(p.name for p in SEEDS.glob("003_*.txt"))[0]).read_text(encoding="utf-8")
    assert decode_bytes(raw.encode("cp1256")) == raw


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"  \n\t \r\n", "empty"),
        ("   \n".encode("utf-16"), "whitespace"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
        (bytes(range(1, 32)) * 40, "binary"),
    ],
)
def test_unreadable_text_is_refused_clearly(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(UnsupportedFileError) as info:
        load_file(_write(tmp_path, "bad.txt", data))
    assert message in str(info.value) and "bad.txt" in str(info.value)
    assert info.value.hint and "\n" not in info.value.message


# --- formats --------------------------------------------------------------------------------------


def test_seed_file_loads(seed_dir: Path) -> None:
    path = sorted(seed_dir.glob("001_*.txt"))[0]
    (article,), failures = load_file(path)
    assert failures == []
    assert article.doc_id == path.stem
    assert article.title.startswith("وافق مبدئيًّا")
    assert "elmaouid" in article.dropped and "elmaouid" not in article.text
    assert article.published is None and article.lang == "ar"


def test_markdown_markers_stripped_front_matter_read(tmp_path: Path) -> None:
    md = (
        "---\ntitle: \"اجتماع في بروكسل\"\ndate: 2017-02-09\n---\n"
        "# اجتماع في بروكسل\n\nقال **السراج** إن _الحلف_ مستعد [للمساعدة](https://example.com) في ليبيا.\n\n"
        "## الهجرة\n\n![صورة](img.png)\nوسيتركز البحث على ملف الهجرة. والمتغير snake_case_name يبقى.\n"
    )
    (article,), _ = load_file(_write(tmp_path, "brussels.md", md.encode("utf-8")))
    assert article.title == "اجتماع في بروكسل"
    assert article.published == "2017-02-09"
    assert article.text == (
        "اجتماع في بروكسل\n\nقال السراج إن الحلف مستعد للمساعدة في ليبيا.\n\nالهجرة\n\n"
        "وسيتركز البحث على ملف الهجرة. والمتغير snake_case_name يبقى."
    )


def test_html_main_text_and_metadata(tmp_path: Path) -> None:
    (article,), failures = load_file(FIXTURES / "article.html")
    assert failures == []
    assert article.title == "حفتر يزور موسكو لبحث الأزمة الليبية"
    assert article.published == "2016-11-29"
    assert article.url == "https://example.com/news/haftar-moscow"
    assert article.text.startswith(article.title + "\n\n")
    assert "على رأس وفد من تسعة عسكريين" in article.text
    for boilerplate in ("رياضة", "جميع الحقوق محفوظة", "اشترك في النشرة"):
        assert boilerplate not in article.text
    assert article.text.count("\n\n") >= 3  # paragraphs separated by blank lines


def test_html_without_text_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "empty.html", b"<html><head><title>x</title></head><body><script>1</script></body></html>")
    with pytest.raises(UnsupportedFileError, match="no article text"):
        load_file(path)


def test_pdf_text_layer(tmp_path: Path) -> None:
    lines = ["NATO agrees to help Libya", "", "Diplomatic sources said the council agreed on Friday.",
             "The training programme will start next year."]
    (article,), _ = load_file(_write(tmp_path, "nato.pdf", _pdf(lines)))
    assert article.doc_id == "nato"
    assert "Diplomatic sources said the council agreed on Friday." in article.text
    assert "The training programme will start next year." in article.text
    assert article.lang == "en"


def test_pdf_without_text_layer_asks_for_ocr(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFileError, match="no text layer; OCR it first"):
        load_file(_write(tmp_path, "scan.pdf", _pdf([])))


def test_broken_pdf_is_an_ingest_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="broken.pdf"):
        load_file(_write(tmp_path, "broken.pdf", b"%PDF-1.4\nthis is not really a pdf\n"))


def test_jsonl_good_and_bad_lines(tmp_path: Path) -> None:
    good = {"id": "a1", "title": "عنوان أول", "text": BODY, "url": "https://x.example/1",
            "published": "2016-11-29T08:00:00Z", "source": "Example"}
    lines = [
        json.dumps(good, ensure_ascii=False),
        "{not json",
        json.dumps({"id": "a2", "title": "بلا نص"}, ensure_ascii=False),
        "",
        json.dumps({"id": 7, "title": "Second", "text": "Plain English text here.", "published": "soon"}),
        json.dumps({"id": "a1", "title": "مكرر", "text": BODY}, ensure_ascii=False),
        "[1, 2]",
    ]
    path = _write(tmp_path, "feed.jsonl", "\n".join(lines).encode("utf-8"))
    articles, failures = load_file(path)
    assert [a.doc_id for a in articles] == ["a1", "7"]
    first = articles[0]
    assert first.title == "عنوان أول" and first.text == f"عنوان أول\n\n{BODY}"
    assert first.published == "2016-11-29" and first.url == "https://x.example/1"
    assert articles[1].published is None and articles[1].lang == "en"
    assert [f.path for f in failures] == [f"{path}:2", f"{path}:3", f"{path}:6", f"{path}:7"]
    assert "invalid JSON" in failures[0].error and "text" in failures[1].error
    assert "duplicate id" in failures[2].error


def test_unsupported_suffix_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFileError, match="unsupported file type"):
        load_file(_write(tmp_path, "notes.docx", b"PK\x03\x04"))


# --- expanding paths ------------------------------------------------------------------------------


def test_iter_source_files(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    (folder / "sub").mkdir(parents=True)
    (folder / ".hidden").mkdir()
    for name in ["b.txt", "a.md", "sub/c.html", "sub/d.PDF", "image.png", ".secret.txt", ".hidden/e.txt"]:
        (folder / name).write_bytes(b"x")
    explicit = _write(tmp_path, "one.jsonl", b"{}")
    files, failures = iter_source_files([folder, explicit, tmp_path / "missing.txt",
                                         _write(tmp_path, "photo.jpg", b"x"), folder / "b.txt"])
    assert [p.relative_to(tmp_path).as_posix() for p in files] == [
        "articles/a.md", "articles/b.txt", "articles/sub/c.html", "articles/sub/d.PDF", "one.jsonl"]
    assert [(Path(f.path).name, f.error.split(" (")[0]) for f in failures] == [
        ("missing.txt", "no such file or folder"), ("photo.jpg", "unsupported file type '.jpg'")]
    assert SUPPORTED_SUFFIXES == {".txt", ".md", ".html", ".htm", ".pdf", ".jsonl"}


def test_one_bad_file_does_not_stop_the_others(tmp_path: Path) -> None:
    """The contract ingest relies on: per-file errors, the rest still load."""
    _write(tmp_path, "good.txt", ARTICLE.encode("cp1256"))
    _write(tmp_path, "empty.txt", b"")
    _write(tmp_path, "binary.txt", b"\x00\x01\x02" * 50)
    files, _ = iter_source_files([tmp_path])
    loaded, errors = [], []
    for path in files:
        try:
            loaded.extend(load_file(path)[0])
        except UnsupportedFileError:
            errors.append(path.name)
    assert [a.doc_id for a in loaded] == ["good"]
    assert sorted(errors) == ["binary.txt", "empty.txt"]
