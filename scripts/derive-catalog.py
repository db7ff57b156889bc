#!/usr/bin/env python3
"""Derives data/onlyfansapi-catalog.json from the shared OnlyFansAPI endpoint catalog.

Usage: python3 scripts/derive-catalog.py [path/to/endpoints.json] [output.json]

Keeps what fanops needs to search, validate and call endpoints; drops provenance fields
(sdk_method, path_source) that only matter to whoever audits the source catalog.
"""
import json
import sys

KEEP = ["id", "title", "method", "path", "group", "summary", "effect", "params",
        "pagination", "notes", "params_verified"]
PARAM_KEEP = ["name", "in", "type", "required", "enum", "description"]


def derive(source):
    endpoints = []
    for e in sorted(source["endpoints"], key=lambda e: e["id"]):
        out = {k: e[k] for k in KEEP if k in e and e[k] is not None or k == "path"}
        out["path"] = e.get("path")
        out["params"] = [{k: p[k] for k in PARAM_KEEP if k in p} for p in e.get("params", [])]
        endpoints.append(out)
    return {
        "derived_from": "shared/onlyfansapi/endpoints.json via scripts/derive-catalog.py",
        "base_url": source["base_url"],
        "endpoints": endpoints,
    }


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "../shared/onlyfansapi/endpoints.json"
    dst = sys.argv[2] if len(sys.argv) > 2 else "data/onlyfansapi-catalog.json"
    with open(src, encoding="utf-8") as f:
        catalog = derive(json.load(f))
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(catalog, f, indent=1, ensure_ascii=False)
        f.write("\n")
    eps = catalog["endpoints"]
    print(f"{len(eps)} endpoints, {sum(1 for e in eps if e['path'])} with a path, "
          f"{sum(1 for e in eps if e['effect'] == 'read')} read, "
          f"{sum(1 for e in eps if e['effect'] == 'write')} write -> {dst}")


if __name__ == "__main__":
    main()
