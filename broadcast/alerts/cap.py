"""CAP 1.2 (OASIS Common Alerting Protocol) documents: safe parsing and schema validation.

A document is parsed by lxml with entity expansion, DTD loading and network access
turned off, refused outright when it declares a DTD (a CAP alert never needs one: this
is what an entity bomb such as "billion laughs" needs), validated against the CAP 1.2
schema shipped beside this module (`cap-1.2.xsd`), and only then read into plain
values. Any bytes give either a `CapAlert` or an `InvalidInputError` naming the problem.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

from lxml import etree

from stations.errors import InvalidInputError

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
SCHEMA_FILE = "cap-1.2.xsd"
# Largest document accepted; an audio resource carried inline (derefUri) fits in it.
MAX_CAP_BYTES = 5_000_000
_N = f"{{{CAP_NS}}}"


@dataclass(frozen=True, slots=True)
class CapReference:
    """One earlier alert named by `references`: "sender,identifier,sent"."""

    sender: str
    identifier: str
    sent: str


@dataclass(frozen=True, slots=True)
class CapResource:
    """A file the alert points to or carries (`derefUri`, base64-decoded)."""

    description: str
    mime_type: str
    uri: str | None
    data: bytes | None


@dataclass(frozen=True, slots=True)
class CapArea:
    """One affected area: its description, shapes and geocodes (valueName, value)."""

    description: str
    polygons: tuple[str, ...]
    circles: tuple[str, ...]
    geocodes: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class CapInfo:
    """One `info` block: the alert in one language."""

    language: str
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    effective: datetime | None
    onset: datetime | None
    expires: datetime | None
    sender_name: str | None
    headline: str | None
    description: str | None
    instruction: str | None
    resources: tuple[CapResource, ...]
    areas: tuple[CapArea, ...]


@dataclass(frozen=True, slots=True)
class CapAlert:
    """A valid CAP 1.2 alert message."""

    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    references: tuple[CapReference, ...]
    infos: tuple[CapInfo, ...]


def load_schema() -> etree.XMLSchema:
    """The CAP 1.2 schema shipped with Loa (read from the package, never the network)."""
    source = resources.files(__package__).joinpath(SCHEMA_FILE).read_bytes()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.fromstring(source, parser))


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )


def _text(parent: etree._Element, name: str) -> str | None:
    node = parent.find(_N + name)
    if node is None or node.text is None:
        return None
    return node.text.strip()


def _texts(parent: etree._Element, name: str) -> tuple[str, ...]:
    return tuple((n.text or "").strip() for n in parent.findall(_N + name))


def _pairs(parent: etree._Element, name: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        ((_text(n, "valueName") or ""), (_text(n, "value") or ""))
        for n in parent.findall(_N + name)
    )


def _time(parent: etree._Element, name: str, where: str) -> datetime | None:
    value = _text(parent, name)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(
            f"The CAP document does not follow the CAP 1.2 schema at {where}/{name}: "
            f"'{value}' is not a date and time",
            code="cap.invalid",
            path=f"{where}/{name}",
            problem=f"'{value}' is not a date and time",
        ) from None


def _references(text: str | None) -> tuple[CapReference, ...]:
    if not text:
        return ()
    found = []
    for triple in text.split():
        parts = triple.split(",")
        if len(parts) != 3 or not all(parts):
            raise InvalidInputError(
                f"The CAP document's references hold '{triple}', which is not "
                "'sender,identifier,sent'",
                code="cap.bad_reference",
                reference=triple,
            )
        found.append(CapReference(parts[0], parts[1], parts[2]))
    return tuple(found)


def _resource(node: etree._Element, where: str) -> CapResource:
    deref = _text(node, "derefUri")
    data = None
    if deref:
        try:
            data = base64.b64decode("".join(deref.split()), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInputError(
                f"The CAP document does not follow the CAP 1.2 schema at {where}/derefUri: "
                "it is not base64",
                code="cap.invalid",
                path=f"{where}/derefUri",
                problem="not base64",
            ) from None
    return CapResource(
        description=_text(node, "resourceDesc") or "",
        mime_type=(_text(node, "mimeType") or "").lower(),
        uri=_text(node, "uri"),
        data=data,
    )


def _info(node: etree._Element, where: str) -> CapInfo:
    areas = tuple(
        CapArea(
            description=_text(a, "areaDesc") or "",
            polygons=_texts(a, "polygon"),
            circles=_texts(a, "circle"),
            geocodes=_pairs(a, "geocode"),
        )
        for a in node.findall(_N + "area")
    )
    resources_ = tuple(
        _resource(r, f"{where}/resource[{i}]")
        for i, r in enumerate(node.findall(_N + "resource"), 1)
    )
    return CapInfo(
        language=_text(node, "language") or "en-US",
        categories=_texts(node, "category"),
        event=_text(node, "event") or "",
        urgency=_text(node, "urgency") or "Unknown",
        severity=_text(node, "severity") or "Unknown",
        certainty=_text(node, "certainty") or "Unknown",
        effective=_time(node, "effective", where),
        onset=_time(node, "onset", where),
        expires=_time(node, "expires", where),
        sender_name=_text(node, "senderName"),
        headline=_text(node, "headline"),
        description=_text(node, "description"),
        instruction=_text(node, "instruction"),
        resources=resources_,
        areas=areas,
    )


def _readable_path(root: etree._Element, xpath: str | None) -> str:
    """ "/alert/info[1]/urgency" for libxml2's "/*/*[7]/*[4]"."""
    try:
        found = root.getroottree().xpath(xpath) if xpath else []
    except etree.XPathError:
        found = []
    if not found or not isinstance(found[0], etree._Element):
        return "/alert"
    parts = []
    node: etree._Element | None = found[0]
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent if c.tag == node.tag]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))


def _schema_problem(root: etree._Element, error: etree._LogEntry | None) -> tuple[str, str]:
    """The element path and libxml2's message of a schema error."""
    if error is None:
        return "/alert", "the document does not follow the schema"
    message = " ".join((error.message or "").replace("{" + CAP_NS + "}", "").split())
    return _readable_path(root, error.path), message


def declares_dtd(data: bytes) -> bool:
    """True when the document's prolog declares a DTD, in whatever encoding it is written."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        return True
    if b"\x00" in data[:4]:  # UTF-16 or UTF-32, with or without a byte-order mark
        for encoding in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
            text = data.decode(encoding, errors="ignore")
            if "<!DOCTYPE" in text or "<!ENTITY" in text:
                return True
    return False


_DTD_REFUSED = (
    "The CAP document declares a DTD (<!DOCTYPE>): entity declarations are refused "
    "and a CAP alert never needs one"
)


def parse_cap(data: bytes, *, schema: etree.XMLSchema | None = None) -> CapAlert:
    """A CAP 1.2 alert from its XML bytes, or InvalidInputError naming what is wrong."""
    if not data.strip():
        raise InvalidInputError("The CAP document is empty", code="cap.empty")
    if len(data) > MAX_CAP_BYTES:
        raise InvalidInputError(
            f"The CAP document is larger than {MAX_CAP_BYTES // 1_000_000} MB",
            code="cap.too_large",
            limit_mb=MAX_CAP_BYTES // 1_000_000,
        )
    if declares_dtd(data):
        raise InvalidInputError(_DTD_REFUSED, code="cap.doctype")
    try:
        root = etree.fromstring(data, _parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        problem = " ".join(str(exc).split()) or "unreadable"
        raise InvalidInputError(
            f"The CAP document is not well-formed XML: {problem}",
            code="cap.malformed",
            problem=problem,
        ) from None
    if root is None:
        raise InvalidInputError(
            "The CAP document is not well-formed XML: no root element",
            code="cap.malformed",
            problem="no root element",
        )
    docinfo = root.getroottree().docinfo
    if (
        docinfo.internalDTD is not None
        or docinfo.doctype
        or docinfo.system_url
        or docinfo.public_id
    ):
        raise InvalidInputError(_DTD_REFUSED, code="cap.doctype")
    if root.tag != _N + "alert":
        raise InvalidInputError(
            f"The document is not a CAP 1.2 alert: its root element is "
            f"'{etree.QName(root).localname if isinstance(root.tag, str) else root.tag}', "
            f"expected 'alert' in the namespace {CAP_NS}",
            code="cap.not_cap",
            namespace=CAP_NS,
        )
    schema = schema or load_schema()
    if not schema.validate(root):
        errors = schema.error_log
        path, message = _schema_problem(root, errors[0] if len(errors) else None)
        raise InvalidInputError(
            f"The CAP document does not follow the CAP 1.2 schema at {path}: {message}",
            code="cap.invalid",
            path=path,
            problem=message,
        )
    infos = tuple(
        _info(node, f"/alert/info[{i}]") for i, node in enumerate(root.findall(_N + "info"), 1)
    )
    sent = _time(root, "sent", "/alert")
    if sent is None:  # required by the schema: never taken
        raise InvalidInputError(
            "The CAP document does not follow the CAP 1.2 schema at /alert/sent: missing",
            code="cap.invalid",
            path="/alert/sent",
            problem="missing",
        )
    return CapAlert(
        identifier=_text(root, "identifier") or "",
        sender=_text(root, "sender") or "",
        sent=sent,
        status=_text(root, "status") or "",
        msg_type=_text(root, "msgType") or "",
        scope=_text(root, "scope") or "",
        references=_references(_text(root, "references")),
        infos=infos,
    )
