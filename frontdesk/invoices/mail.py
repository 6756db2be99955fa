"""Opening one mail safely: headers, the HTML and plain-text bodies, PDF attachments, within fixed limits.

`email` with `policy.default` does the MIME work. What this adds is bounded behaviour on bad input: a wrong or
missing charset falls back to UTF-8/Windows-1252 with replacement (and says so), oversized parts and attachment
floods are skipped with a note instead of being decoded, and a message that is not MIME at all still yields its
headers so the review list can show it. Nothing here raises on bad mail: problems are collected in `notes` and
`fatal`.
"""
from __future__ import annotations

import email
import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.utils import parseaddr

MAX_PART_BYTES = 10 * 1024 * 1024
MAX_TEXT_CHARS = 400_000  # text a profile's patterns run over: bounds the time a pattern can take
_WS = re.compile(r"\s+")


@dataclass
class MailContent:
    message_id: str = ""
    sender: str = ""
    subject: str = ""
    html: str | None = None
    text: str | None = None
    pdfs: list[tuple[str, bytes]] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)  # "name (type, size)" of every attachment seen
    notes: list[str] = field(default_factory=list)  # recoverable problems (charset fallback, skipped parts)
    fatal: str = ""  # why nothing can be read (empty when the mail opened)
    size: int = 0

    def fingerprint(self) -> str:
        """SHA-256 of the normalised content: the same receipt resent with a new Message-ID (or re-encoded) hashes
        the same; a forwarded copy with a note on top does not (the receipt-number check catches that one)."""
        digest = hashlib.sha256()
        for part in (self.html or "", self.text or ""):
            digest.update(_WS.sub(" ", part).strip().casefold().encode("utf-8", "replace"))
            digest.update(b"\x00")
        for _name, data in self.pdfs:
            digest.update(hashlib.sha256(data).digest())
        digest.update("|".join(self.attachments).encode("utf-8", "replace"))  # the same note, other files
        if not (self.html or self.text or self.pdfs):
            digest.update(f"{self.message_id}|{self.subject}|{self.size}".encode())
        return digest.hexdigest()


def _decode_part(part: Message, notes: list[str]) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    if len(payload) > MAX_PART_BYTES:
        notes.append(f"a {part.get_content_type()} part of {len(payload) // 1024} KB was skipped (too large)")
        return ""
    charset = part.get_content_charset()
    if charset:
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            notes.append(f"the {part.get_content_type()} part says charset “{charset[:40]}” but is not: read as "
                         "UTF-8 with replacements")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        if not charset:
            notes.append(f"the {part.get_content_type()} part names no charset and is not UTF-8: read as "
                         "Windows-1252")
        return payload.decode("cp1252", errors="replace")


def _header(message: Message, name: str, notes: list[str]) -> str:
    try:
        value = message.get(name)
    except Exception as error:  # noqa: BLE001 - policy.default parses headers lazily; any defect lands here
        notes.append(f"the {name} header could not be read ({type(error).__name__})")
        return ""
    return " ".join(str(value).split())[:255] if value is not None else ""


def read_mail(raw: bytes, *, max_attachments: int = 20) -> MailContent:
    content = MailContent(size=len(raw))
    try:
        message = email.message_from_bytes(raw, policy=policy.default)
    except Exception as error:  # noqa: BLE001 - the parser is lenient; this is a last resort
        content.fatal = f"the mail could not be read as MIME ({type(error).__name__}: {error})"[:300]
        return content
    notes = content.notes
    content.message_id = _header(message, "Message-ID", notes).strip("<>")
    content.sender = parseaddr(_header(message, "From", notes))[1] or _header(message, "From", notes)
    content.subject = _header(message, "Subject", notes)
    for defect in getattr(message, "defects", [])[:5]:
        notes.append(f"MIME defect: {type(defect).__name__}")
    parts = 0
    try:
        for part in message.walk():
            parts += 1
            if parts > 500:
                notes.append("more than 500 MIME parts: the rest was not read")
                break
            if part.is_multipart():
                continue
            ctype = part.get_content_type()
            filename = part.get_filename() or ""
            disposition = (part.get_content_disposition() or "").lower()
            is_attachment = disposition == "attachment" or bool(filename)
            if is_attachment or ctype not in ("text/html", "text/plain"):
                if len(content.attachments) >= max_attachments:
                    if len(content.attachments) == max_attachments:
                        notes.append(f"more than {max_attachments} attachments: the rest were not opened")
                        content.attachments.append("…")
                    continue
                payload = part.get_payload(decode=True)
                size = len(payload) if isinstance(payload, bytes) else 0
                content.attachments.append(f"{filename or '(no name)'} ({ctype}, {size // 1024} KB)")
                is_pdf = ctype == "application/pdf" or filename.lower().endswith(".pdf")
                if is_pdf and isinstance(payload, bytes):
                    if size > MAX_PART_BYTES:
                        notes.append(f"PDF {filename} is {size // (1024 * 1024)} MB: too large to open")
                    else:
                        content.pdfs.append((filename or "attachment.pdf", payload))
                elif ctype in ("application/zip", "application/x-zip-compressed") or filename.lower().endswith(
                        (".zip", ".gz", ".7z", ".rar")):
                    notes.append(f"{filename or 'an archive'} is an archive: archives are never opened")
                continue
            text = _decode_part(part, notes)
            if ctype == "text/html" and content.html is None:
                content.html = text[:MAX_TEXT_CHARS * 4]
            elif ctype == "text/plain" and content.text is None:
                content.text = text[:MAX_TEXT_CHARS]
    except Exception as error:  # noqa: BLE001 - malformed structures raise from deep inside the parser
        notes.append(f"the MIME structure is broken ({type(error).__name__}); read what could be read")
    if not (content.html or content.text or content.pdfs):
        content.fatal = "the mail has no readable body or PDF" + (
            f" (attachments: {', '.join(content.attachments)})" if content.attachments else "")
    return content


def header_only(raw_headers: bytes, size: int) -> MailContent:
    """What is known of a mail too large to fetch: its headers."""
    content = MailContent(size=size)
    try:
        message: EmailMessage = email.message_from_bytes(raw_headers, policy=policy.default)
        content.message_id = _header(message, "Message-ID", content.notes).strip("<>")
        content.sender = parseaddr(_header(message, "From", content.notes))[1]
        content.subject = _header(message, "Subject", content.notes)
    except Exception:  # noqa: BLE001
        pass
    return content
