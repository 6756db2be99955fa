"""Reading a receipt with a layout profile: which profile fits, the receipt's text and tables, each field's value
and, when a field fails, why (the trace `frontdesk invoices check` prints for IT).

HTML goes through BeautifulSoup with lxml: scripts and styles are dropped, every table row becomes one line of
cells joined by " | " (so patterns see a row as a row), and tables are kept as cell grids for `[lines] columns`.
PDFs go through pdfplumber (text and ruled tables), after a bounded check of their compressed streams so that a
decompression bomb is refused before pdfminer inflates it.
"""
from __future__ import annotations

import io
import logging
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

from frontdesk.invoices.mail import MAX_TEXT_CHARS, MailContent
from frontdesk.invoices.profiles import Profile

log = logging.getLogger(__name__)

HTML_PARSER = "lxml"  # BeautifulSoup's tree builder (the benchmark compares "html.parser")
MAX_INFLATED_BYTES = 64 * 1024 * 1024  # all of a PDF's compressed streams together, inflated
MAX_PDF_PAGES = 10
_STREAM = re.compile(rb"stream\r?\n")
_COLUMN_GAP = re.compile(r"(?:[ \u00a0]{2,}|\t+)")  # two spaces or a tab: a column boundary
_SPACE = re.compile(r"[ \u00a0]")


class ExtractionFailed(Exception):
    """The receipt's source could not be read at all (a PDF that will not open, HTML the parser gives up on)."""


@dataclass
class SourceText:
    text: str
    tables: list[list[list[str]]] = field(default_factory=list)


@dataclass
class FieldTrace:
    value: str | None
    pattern: str
    matched: str = ""
    error: str = ""


@dataclass
class Extraction:
    profile: str
    fields: dict[str, FieldTrace] = field(default_factory=dict)
    lines: list[dict[str, str]] = field(default_factory=list)
    lines_error: str = ""
    payments: list[tuple[str, str]] = field(default_factory=list)
    gst_inclusive: bool = False
    text_excerpt: str = ""

    def value(self, name: str) -> str | None:
        trace = self.fields.get(name)
        return trace.value if trace else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "fields": {k: {"value": t.value, "pattern": t.pattern, "matched": t.matched, "error": t.error}
                       for k, t in self.fields.items()},
            "lines": self.lines, "lines_error": self.lines_error,
            "payments": [list(p) for p in self.payments], "gst_inclusive": self.gst_inclusive,
        }


# --- sources -------------------------------------------------------------------------------------------------
def _clean_lines(text: str) -> str:
    out = []
    for line in text.splitlines():
        line = _SPACE.sub(" ", _COLUMN_GAP.sub("  ", line)).strip()
        if line:
            out.append(line)
    return "\n".join(out)[:MAX_TEXT_CHARS]


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*?(/?)>")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
         "p", "li", "td", "th", "tr", "option"}  # void, or often left unclosed in mail HTML
MAX_HTML_DEPTH = 300
MAX_HTML_TAGS = 60_000


def _guard_html(html: str) -> None:
    """Refuse HTML no receipt has (thousands of nested levels, a flood of tags) before a parser builds a tree of
    it: a linear scan, so hostile HTML costs milliseconds, not the parser's time and memory."""
    depth = 0
    for count, found in enumerate(_TAG.finditer(html)):
        if count > MAX_HTML_TAGS:
            raise ExtractionFailed(f"the HTML has more than {MAX_HTML_TAGS:,} tags: not a receipt")
        closing, name, self_closing = found.groups()
        if name.lower() in _VOID or self_closing:
            continue
        depth += -1 if closing else 1
        if depth > MAX_HTML_DEPTH:
            raise ExtractionFailed(f"the HTML is nested more than {MAX_HTML_DEPTH} levels deep: not a receipt")


def html_source(html: str) -> SourceText:
    from bs4 import BeautifulSoup

    _guard_html(html)
    try:
        soup = BeautifulSoup(html, HTML_PARSER)
        for tag in soup(["script", "style", "noscript", "template", "iframe", "object"]):
            tag.decompose()
        tables: list[list[list[str]]] = []
        for table in soup.find_all("table"):
            grid = []
            for row in table.find_all("tr"):
                if row.find_parent("table") is not table:
                    continue  # a nested table's rows belong to that table
                grid.append([" ".join(cell.get_text(" ").split()) for cell in row.find_all(["td", "th"],
                                                                                            recursive=False)])
            tables.append(grid)
        for row in reversed(soup.find_all("tr")):
            cells = [" ".join(cell.get_text(" ").split()) for cell in row.find_all(["td", "th"], recursive=False)]
            row.replace_with("\n" + " | ".join(c for c in cells if c) + "\n")
        for br in soup.find_all(["br", "p", "div", "h1", "h2", "h3", "h4", "li"]):
            br.insert_after("\n")
        text = soup.get_text("")
    except RecursionError:
        raise ExtractionFailed("the HTML is nested too deeply to read") from None
    return SourceText(_clean_lines(text), tables)


def _guard_pdf(data: bytes) -> None:
    """Refuse a PDF whose compressed streams inflate past MAX_INFLATED_BYTES, inflating in bounded chunks."""
    total = 0
    position = 0
    streams = 0
    while True:
        found = _STREAM.search(data, position)
        if found is None:
            return
        start = found.end()
        end = data.find(b"endstream", start)
        if end < 0:
            return
        position = end + 9
        streams += 1
        if streams > 5000:
            raise ExtractionFailed("the PDF has more than 5,000 streams")
        chunk = data[start:end]
        inflater = zlib.decompressobj()
        try:
            piece = inflater.decompress(chunk, 1024 * 1024)
            total += len(piece)
            while inflater.unconsumed_tail and total <= MAX_INFLATED_BYTES:
                piece = inflater.decompress(inflater.unconsumed_tail, 1024 * 1024)
                if not piece:
                    break
                total += len(piece)
        except zlib.error:
            continue  # not deflate (or not compressed): pdfminer will judge
        if total > MAX_INFLATED_BYTES:
            raise ExtractionFailed(f"the PDF inflates to more than {MAX_INFLATED_BYTES // (1024 * 1024)} MB "
                                   "(a decompression bomb?)")


def pdf_source(data: bytes, *, want_tables: bool, max_pages: int = MAX_PDF_PAGES) -> SourceText:
    """Text (and, for profiles that read a table, ruled tables) of a machine-made PDF. Text-only profiles go
    through pdfminer's own text extraction, twice as fast as pdfplumber's per-character layer (benchmarks/
    bench_invoices.py); tables need pdfplumber."""
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise ExtractionFailed("the PDF attachment is not a PDF (no %PDF header)")
    _guard_pdf(data)
    if not want_tables:
        from pdfminer.high_level import extract_text

        try:
            return SourceText(_clean_lines(extract_text(io.BytesIO(data), maxpages=max_pages)))
        except Exception as error:  # noqa: BLE001 - pdfminer raises many types on broken files
            raise ExtractionFailed(
                f"the PDF could not be opened ({type(error).__name__}: {str(error)[:120]})") from None
    import pdfplumber

    texts: list[str] = []
    tables: list[list[list[str]]] = []
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            if len(pdf.pages) > max_pages:
                raise ExtractionFailed(f"the PDF has {len(pdf.pages)} pages (a receipt has at most {max_pages})")
            for page in pdf.pages:
                texts.append(page.extract_text() or "")
                if want_tables:
                    for table in page.extract_tables():
                        tables.append([[" ".join((cell or "").split()) for cell in row] for row in table])
    except ExtractionFailed:
        raise
    except Exception as error:  # noqa: BLE001 - pdfminer raises many types on broken files
        raise ExtractionFailed(f"the PDF could not be opened ({type(error).__name__}: {str(error)[:120]})") from None
    return SourceText(_clean_lines("\n".join(texts)), tables)


class Sources:
    """The mail's text per kind of source, computed once and only when a profile asks for it."""

    def __init__(self, content: MailContent, max_pdf_pages: int = MAX_PDF_PAGES) -> None:
        self.content = content
        self.max_pdf_pages = max_pdf_pages
        self._cache: dict[str, SourceText | ExtractionFailed | None] = {}

    def get(self, kind: str, want_tables: bool = False) -> SourceText | None:
        """The source, None when the mail has no such part; raises ExtractionFailed when it cannot be read."""
        key = f"{kind}:{want_tables}" if kind == "pdf" else kind
        if key not in self._cache:
            try:
                self._cache[key] = self._load(kind, want_tables)
            except ExtractionFailed as error:
                self._cache[key] = error
        value = self._cache[key]
        if isinstance(value, ExtractionFailed):
            raise value
        return value

    def _load(self, kind: str, want_tables: bool) -> SourceText | None:
        content = self.content
        if kind == "html":
            return html_source(content.html) if content.html else None
        if kind == "text":
            if content.text:
                return SourceText(_clean_lines(content.text))
            return None
        if kind == "pdf":
            if not content.pdfs:
                return None
            return pdf_source(content.pdfs[0][1], want_tables=want_tables, max_pages=self.max_pdf_pages)
        return None


# --- matching a profile --------------------------------------------------------------------------------------
def why_not(profile: Profile, content: MailContent, sources: Sources) -> str | None:
    """None when `profile` fits the mail, else the reason it does not."""
    if profile.sender is not None and not profile.sender.search(content.sender or ""):
        return f"sender {content.sender or '(none)'} does not match {profile.sender.pattern}"
    if profile.subject is not None and not profile.subject.search(content.subject or ""):
        return f"subject does not match {profile.subject.pattern}"
    source = sources.get(profile.source, want_tables=profile.lines.is_table)
    if source is None:
        return f"the mail has no {profile.source} part"
    folded = source.text.casefold()
    for marker in profile.markers:
        if marker.casefold() not in folded:
            return f"marker “{marker}” is not in the {profile.source}"
    return None


def choose_profile(profiles: list[Profile], content: MailContent, sources: Sources,
                   only: str | None = None) -> tuple[Profile | None, dict[str, str]]:
    """The first profile that fits, and for every profile tried before it, why it did not. Raises ExtractionFailed
    when the only source that could fit cannot be read."""
    reasons: dict[str, str] = {}
    failure: ExtractionFailed | None = None
    for profile in profiles:
        if only and profile.name != only:
            continue
        try:
            reason = why_not(profile, content, sources)
        except ExtractionFailed as error:
            failure = error
            reasons[profile.name] = str(error)
            continue
        if reason is None:
            return profile, reasons
        reasons[profile.name] = reason
    if failure is not None:
        raise failure  # e.g. the PDF will not open: that, not "no layout fits", is what a manager must read
    return None, reasons


# --- fields --------------------------------------------------------------------------------------------------
def _search(pattern: re.Pattern[str], text: str) -> tuple[str | None, str]:
    found = pattern.search(text)
    if found is None:
        return None, ""
    if "value" in pattern.groupindex:
        value = found.group("value")
    elif pattern.groups:
        value = found.group(1)
    else:
        value = found.group(0)
    return (value.strip() if value is not None else None), found.group(0)[:200]


def _section(text: str, start: re.Pattern[str] | None, end: re.Pattern[str] | None) -> str:
    if start is not None:
        found = start.search(text)
        if found is None:
            return ""
        text = text[found.end():]
    if end is not None:
        found = end.search(text)
        if found is not None:
            text = text[:found.start()]
    return text


def _table_lines(profile: Profile, tables: list[list[list[str]]]) -> tuple[list[dict[str, str]], str]:
    wanted = [h.casefold() for h in profile.lines.header]
    for grid in tables:
        for index, row in enumerate(grid):
            cells = [c.casefold() for c in row]
            if all(any(w == c or c.startswith(w) for c in cells) for w in wanted):
                positions = {}
                for key, header in profile.lines.columns.items():
                    h = header.casefold()
                    matches = [i for i, c in enumerate(cells) if c == h] or [
                        i for i, c in enumerate(cells) if c.startswith(h)]
                    if matches:
                        positions[key] = matches[0]
                lines = []
                for body in grid[index + 1:]:
                    if not any(body):
                        continue
                    line = {key: (body[pos] if pos < len(body) else "") for key, pos in positions.items()}
                    if not line.get("name") and not line.get("amount"):
                        continue
                    lines.append(line)
                return lines, "" if lines else "the item table has a header but no rows"
    return [], f"no table with the header cells {', '.join(profile.lines.header)}"


def _row_lines(profile: Profile, text: str) -> tuple[list[dict[str, str]], str]:
    rules = profile.lines
    assert rules.row is not None
    section = _section(text, rules.start, rules.end)
    if not section and rules.start is not None:
        return [], f"the line section start {rules.start.pattern} was not found"
    lines = []
    for found in rules.row.finditer(section):
        lines.append({k: (v or "").strip() for k, v in found.groupdict().items()})
    return lines, "" if lines else f"no line matched {rules.row.pattern}"


def extract(profile: Profile, sources: Sources) -> Extraction:
    source = sources.get(profile.source, want_tables=profile.lines.is_table)
    if source is None:
        raise ExtractionFailed(f"the mail has no {profile.source} part")
    text = source.text
    result = Extraction(profile=profile.name, text_excerpt=text[:4000])
    for name, pattern in profile.fields.items():
        value, matched = _search(pattern, text)
        result.fields[name] = FieldTrace(value=value or None, pattern=pattern.pattern, matched=matched,
                                         error="" if value else "pattern did not match")
    if profile.lines.is_table:
        result.lines, result.lines_error = _table_lines(profile, source.tables)
    else:
        result.lines, result.lines_error = _row_lines(profile, text)
    rules = profile.payments
    if rules.row is not None:
        section = _section(text, rules.start, rules.end) if (rules.start or rules.end) else text
        result.payments = [(m.group("method").strip(), m.group("amount").strip()) for m in rules.row.finditer(section)]
    result.gst_inclusive = bool(profile.gst_inclusive and profile.gst_inclusive.search(text))
    return result
