#!/usr/bin/env python3
"""Derive data/onlyfansapi-catalog.json, the catalog fanops embeds, from the shared
OnlyFansAPI endpoint catalog.

Usage (from the crate root):

    python3 scripts/derive-catalog.py [SOURCE] [OUTPUT]

SOURCE defaults to ../shared/onlyfansapi/endpoints.json, OUTPUT to
data/onlyfansapi-catalog.json. Standard library only.

The output keeps what fanops needs to search, validate and call an endpoint. It drops
`sdk_method` and `path_source`: they record where the source catalog got its facts,
which matters to whoever audits that catalog but not to a running bot, and leaving them
out keeps the embedded file (and the binary) smaller.

The output is deterministic (endpoints sorted by id, fixed key order, indent 1, UTF-8
kept as is) so that re-deriving from an unchanged source gives a byte-identical file
and a changed source gives a readable diff.
"""
import json
import sys

DEFAULT_SOURCE = "../shared/onlyfansapi/endpoints.json"
DEFAULT_OUTPUT = "data/onlyfansapi-catalog.json"
DERIVED_FROM = "shared/onlyfansapi/endpoints.json via scripts/derive-catalog.py"

# Always written, in this order; `path` stays even when null so the bot can list the
# endpoint and explain that it cannot be called yet.
ALWAYS = ["id", "title", "method", "path", "group", "summary", "effect", "params"]
# Written only when the source has them.
OPTIONAL = ["pagination", "notes"]
PARAM_ALWAYS = ["name", "in", "type", "required"]


def fail(message):
    sys.exit(f"derive-catalog: {message}")


def derive_param(endpoint_id, param):
    missing = [k for k in PARAM_ALWAYS if k not in param]
    if missing:
        fail(f"{endpoint_id}: a parameter lacks {', '.join(missing)}")
    out = {k: param[k] for k in PARAM_ALWAYS}
    if "enum" in param:
        out["enum"] = param["enum"]
    out["description"] = param.get("description", "")
    return out


def derive_endpoint(source):
    missing = [k for k in ALWAYS if k not in source]
    if missing:
        fail(f"{source.get('id', '?')}: lacks {', '.join(missing)}")
    out = {k: source[k] for k in ALWAYS}
    out["params"] = [derive_param(source["id"], p) for p in source["params"]]
    for key in OPTIONAL:
        if source.get(key) is not None:
            out[key] = source[key]
    out["params_verified"] = source.get("params_verified", False)
    return out


def derive(source):
    endpoints = sorted(source["endpoints"], key=lambda e: e["id"])
    ids = [e["id"] for e in endpoints]
    if len(ids) != len(set(ids)):
        fail("endpoint ids are not unique")
    return {
        "derived_from": DERIVED_FROM,
        "base_url": source["base_url"],
        "endpoints": [derive_endpoint(e) for e in endpoints],
    }


def summary(catalog):
    endpoints = catalog["endpoints"]
    with_path = sum(1 for e in endpoints if e["path"] is not None)
    reads = sum(1 for e in endpoints if e["effect"] == "read")
    writes = sum(1 for e in endpoints if e["effect"] == "write")
    return f"{len(endpoints)} endpoints, {with_path} with a path, {reads} read, {writes} write"


def main(argv):
    if len(argv) > 3:
        fail("usage: derive-catalog.py [SOURCE] [OUTPUT]")
    source_path = argv[1] if len(argv) > 1 else DEFAULT_SOURCE
    output_path = argv[2] if len(argv) > 2 else DEFAULT_OUTPUT
    with open(source_path, encoding="utf-8") as f:
        catalog = derive(json.load(f))
    with open(output_path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(catalog, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{summary(catalog)} -> {output_path}")


if __name__ == "__main__":
    main(sys.argv)
