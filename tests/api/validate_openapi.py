#!/usr/bin/env python3
"""Checks docs/openapi.json against itself and against a running `tandem run`.

1. Structure (OpenAPI 3.1): version, info, paths and operations, unique
   operationIds, every path template parameter declared (in: path,
   required, with an `example`; a parameter may be followed by a fixed
   suffix, as `{id}.wav`), every response with a JSON schema (or with a
   single non-JSON media type, see 4), every `$ref` resolving, every
   component schema a valid JSON Schema 2020-12 schema (OpenAPI 3.1's
   dialect).
2. Live: every GET operation is fetched with `--token` (path parameters
   from the spec's examples) and must answer 200 with JSON that validates
   against its documented response schema (or, see 4, with its documented
   media type). Every operation without a
   token must answer 401 (or 200 for operations with `security: []`),
   with a body valid against its documented 401 response. With
   `--read-token`, every operation whose `x-tandem-role` is above `read`
   must answer 403 with a documented error body: the route exists (no
   404/405) and nothing is changed.
3. Event streams: an operation with `x-tandem-stream: true` documents its
   200 as `text/event-stream`, with the schema of each event's data; live,
   its first event must come within 10 s and its data validate.
4. Files: a response whose only media type is not JSON (e.g. `audio/wav`)
   needs no schema; if it has one, it must be a string (binary). Live, the
   answer's Content-Type must be that media type and its body non-empty
   (for WAV: a RIFF file), and is not parsed as JSON.

Needs Debian's python3-jsonschema (scripts/setup.sh installs it).
Exit status 0 when everything holds; each problem is printed.
"""

import argparse
import json
import re
import sys
import urllib.error
import urllib.request
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
ROLES = {"read": 0, "supervisor": 1, "admin": 2}

problems = []

# A path template's parameters: `{name}`, possibly with a fixed suffix
# after it in the same segment (`{id}.wav`).
PARAM = re.compile(r"\{([^}/]+)\}")


def problem(text):
    problems.append(text)
    print("FAIL:", text)


def pointer(doc, ref):
    """Resolves a local JSON pointer `#/a/b`; None when it does not."""
    if not ref.startswith("#"):
        return None
    node = doc
    for part in ref[1:].split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def walk_refs(doc, node, where):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and pointer(doc, ref) is None:
            problem(f"{where}: $ref {ref} does not resolve")
        for k, v in node.items():
            walk_refs(doc, v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk_refs(doc, v, f"{where}/{i}")


def deref(doc, node):
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 20:
        node = pointer(doc, node["$ref"]) or {}
        seen += 1
    return node


def escape(s):
    return s.replace("~", "~0").replace("/", "~1")


def check_structure(doc):
    if not str(doc.get("openapi", "")).startswith("3.1."):
        problem(f"openapi is {doc.get('openapi')!r}, expected 3.1.x")
    info = doc.get("info", {})
    for key in ("title", "version"):
        if not isinstance(info.get(key), str):
            problem(f"info.{key} missing")
    paths = doc.get("paths")
    if not isinstance(paths, dict) or not paths:
        problem("no paths")
        return
    walk_refs(doc, doc, "#")
    ids = set()
    for path, item in paths.items():
        if not path.startswith("/"):
            problem(f"path {path!r} does not start with /")
        templated = PARAM.findall(path)
        ops = {m: o for m, o in item.items() if m in METHODS}
        if not ops:
            problem(f"{path}: no operations")
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            oid = op.get("operationId")
            if not oid or oid in ids:
                problem(f"{where}: operationId {oid!r} missing or not unique")
            ids.add(oid)
            params = [deref(doc, p) for p in item.get("parameters", []) + op.get("parameters", [])]
            declared = {p.get("name") for p in params if p.get("in") == "path"}
            for name in templated:
                if name not in declared:
                    problem(f"{where}: path parameter {name} not declared")
            for p in params:
                if p.get("in") == "path":
                    if p.get("required") is not True:
                        problem(f"{where}: path parameter {p.get('name')} must be required")
                    if "example" not in p:
                        problem(f"{where}: path parameter {p.get('name')} has no example")
                    if p.get("name") not in templated:
                        problem(f"{where}: parameter {p.get('name')} is not in the path")
            responses = op.get("responses", {})
            if not responses:
                problem(f"{where}: no responses")
            for status, resp in responses.items():
                resp = deref(doc, resp)
                if "description" not in resp:
                    problem(f"{where} {status}: no description")
                media = media_type(doc, op, status)
                schema = resp.get("content", {}).get(media, {}).get("schema")
                if is_file(media):
                    if schema is not None and deref(doc, schema).get("type") != "string":
                        problem(f"{where} {status}: the {media} schema is not a string")
                elif schema is None:
                    problem(f"{where} {status}: no {media} schema")
            if "x-tandem-role" not in op:
                problem(f"{where}: no x-tandem-role")
            elif op["x-tandem-role"] is not None and op["x-tandem-role"] not in ROLES:
                problem(f"{where}: x-tandem-role {op['x-tandem-role']!r}")
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as e:
            problem(f"components.schemas.{name}: not a valid JSON Schema 2020-12: {e.message}")


def media_type(doc, op, status):
    """The documented media type: an event stream's 200, the one media
    type of a response that only has a non-JSON one (a file), or JSON."""
    if op.get("x-tandem-stream") is True and str(status) == "200":
        return "text/event-stream"
    resp = deref(doc, op.get("responses", {}).get(str(status)))
    content = resp.get("content") if isinstance(resp, dict) else None
    if isinstance(content, dict) and len(content) == 1:
        (only,) = content
        if is_file(only):
            return only
    return "application/json"


def is_file(media):
    """Whether `media` is a file's media type (checked as bytes, not JSON
    against a schema)."""
    base = media.split(";")[0].strip().lower()
    return not (
        base == "application/json"
        or base.endswith("+json")
        or base == "text/event-stream"
    )


def validator_for(doc, path, method, status):
    """A validator of the documented JSON body, refs resolved in the spec."""
    op = doc["paths"][path][method]
    resp = deref(doc, op["responses"].get(status))
    if not resp or "content" not in resp:
        return None
    # The spec itself is the root schema (its other keys are ignored by
    # JSON Schema), so "#/components/..." refs resolve; the $ref points at
    # the response's schema.
    root = dict(doc)
    content = resp["content"][media_type(doc, op, status)]["schema"]
    root["$defs"] = {"__response": content}
    root["$ref"] = "#/$defs/__response"
    return Draft202012Validator(root)


def request(base, method, path, token):
    """One request; the status, the Content-Type and the body."""
    req = urllib.request.Request(base + path, method=method.upper())
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if method in ("put", "post", "patch"):
        req.add_header("Content-Type", "application/json")
        req.data = b"{}"
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def first_event(base, path, token):
    """Opens an event stream; the status and the first event's data."""
    req = urllib.request.Request(base + path)
    req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            if r.headers.get_content_type() != "text/event-stream":
                return r.status, f"Content-Type {r.headers.get('Content-Type')}".encode()
            data = []
            while True:
                line = r.readline().decode("utf-8").rstrip("\r\n")
                if line == "" and data:
                    return r.status, "\n".join(data).encode()
                if line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def concrete(doc, path, item, op):
    """The path with each template parameter replaced by its example."""
    params = [deref(doc, p) for p in item.get("parameters", []) + op.get("parameters", [])]
    examples = {p.get("name"): p.get("example") for p in params if p.get("in") == "path"}

    def example(m):
        name = m.group(1)
        if name not in examples:
            return m.group(0)  # reported by the structure check
        return urllib.request.quote(str(examples[name]), safe="")

    return PARAM.sub(example, path)


def check_file(doc, where, path, method, status, content_type, body):
    """A file answer: its documented media type, and a body that is one."""
    op = doc["paths"][path][method]
    media = media_type(doc, op, str(status))
    got = content_type.split(";")[0].strip().lower()
    if got != media.lower():
        problem(f"{where}: {status} Content-Type {content_type!r}, expected {media}")
    if not body:
        problem(f"{where}: {status} body is empty")
    elif media.lower() in ("audio/wav", "audio/x-wav", "audio/wave") and not (
        body[:4] == b"RIFF" and body[8:12] == b"WAVE"
    ):
        problem(f"{where}: {status} body is not a WAV file: {body[:16]!r}")


def check_body(doc, where, path, method, status, body, content_type=""):
    documented = doc["paths"][path][method]["responses"]
    if str(status) not in documented:
        problem(f"{where}: status {status} is not documented")
        return
    if is_file(media_type(doc, doc["paths"][path][method], str(status))):
        check_file(doc, where, path, method, status, content_type, body)
        return
    try:
        value = json.loads(body)
    except ValueError as e:
        problem(f"{where}: {status} body is not JSON ({e}): {body[:200]!r}")
        return
    v = validator_for(doc, path, method, str(status))
    if v is None:
        return
    errors = sorted(v.iter_errors(value), key=lambda e: list(e.absolute_path))
    for e in errors[:5]:
        loc = "/".join(str(x) for x in e.absolute_path)
        problem(f"{where}: {status} body at /{loc}: {e.message}")


def check_live(doc, base, token, read_token):
    checked = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            url = concrete(doc, path, item, op)
            where = f"{method.upper()} {url}"
            role = op.get("x-tandem-role")
            # Without a token.
            status, content_type, body = request(base, method, url, None)
            expected = 200 if role is None else 401
            if status != expected:
                problem(f"{where} without a token: {status}, expected {expected}")
            else:
                check_body(doc, where + " (no token)", path, method, status, body, content_type)
            if method == "get" and op.get("x-tandem-stream") is True:
                status, body = first_event(base, url, token)
                if status != 200:
                    problem(f"{where}: {status} {body[:200]!r}")
                check_body(doc, where + " (first event)", path, method, status, body)
                checked += 1
            elif method == "get":
                status, content_type, body = request(base, method, url, token)
                if status != 200:
                    problem(f"{where}: {status} {body[:200]!r}")
                check_body(doc, where, path, method, status, body, content_type)
                checked += 1
            if read_token and role in ROLES and ROLES[role] > ROLES["read"]:
                status, content_type, body = request(base, method, url, read_token)
                if status != 403:
                    problem(f"{where} with the read token: {status}, expected 403")
                else:
                    check_body(doc, where + " (read token)", path, method, status, body, content_type)
    print(f"validate_openapi: {checked} GET responses validated against their schemas")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default=str(Path(__file__).resolve().parents[2] / "docs" / "openapi.json"))
    ap.add_argument("--base", help="the server, e.g. http://127.0.0.1:8080 (structure only without it)")
    ap.add_argument("--token", help="a token that may GET everything")
    ap.add_argument("--read-token", help="a read-only token (checks 403 on changes)")
    args = ap.parse_args()
    doc = json.loads(Path(args.spec).read_text(encoding="utf-8"))
    check_structure(doc)
    if args.base:
        if not args.token:
            ap.error("--base needs --token")
        check_live(doc, args.base.rstrip("/"), args.token, args.read_token)
    if problems:
        print(f"validate_openapi: {len(problems)} problems")
        return 1
    print("validate_openapi: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
