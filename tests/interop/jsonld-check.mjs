#!/usr/bin/env node
// Expands every ActivityPub document of a built stoa site with a real JSON-LD
// processor (jsonld.js, the one Fedify itself uses) and reports every term
// the expansion dropped.
//
//   node tests/interop/jsonld-check.mjs DIR      (DIR = the output of `stoa build`)
//
// Documents: DIR/ap/**/*.json. (DIR/.well-known/webfinger is JRD, not JSON-LD,
// and is not checked here.)
//
// Contexts come only from Fedify's preloaded copies (`preloadedContexts` in
// @fedify/vocab-runtime, re-exported by @fedify/fedify: ActivityStreams,
// security/v1, data-integrity, did, multikey, toot, schema.org, ...). The
// document loader throws for any other URL, so nothing touches the network,
// and a context no one preloads is reported as an error.
//
// A term counts as dropped when
//   - jsonld.js raises a warning event while expanding (the `safe` mode
//     events: "invalid property" = a key that maps to no IRI, relative IRIs,
//     ...), or
//   - a key written in the compact document (recursively; keyword keys and
//     keys aliased to keywords, like `id` and `type`, aside; keys inside
//     language/index/id/type maps are map keys, not terms) does not turn up
//     as a property IRI anywhere in the expanded document, or turns up only
//     as a blank-node property `_:key` (the ActivityStreams context sets
//     "@vocab": "_:", so an undefined term does not vanish, it becomes a
//     property of no vocabulary that every consumer ignores).
// Exit 0 when nothing was dropped, 1 when something was, 2 on bad usage.

import fs from "node:fs";
import path from "node:path";
import jsonld from "jsonld";
import { preloadedContexts } from "@fedify/fedify";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node jsonld-check.mjs DIR   (the output folder of `stoa build`)");
  process.exit(2);
}
const apDir = path.join(dir, "ap");
if (!fs.existsSync(apDir)) {
  console.error(`jsonld-check: ${apDir} does not exist: no ActivityPub documents were built`);
  process.exit(1);
}

const documentLoader = async (url) => {
  if (Object.prototype.hasOwnProperty.call(preloadedContexts, url)) {
    return { contextUrl: null, document: preloadedContexts[url], documentUrl: url };
  }
  throw new Error(`not a preloaded context (no network here): ${url}`);
};

function walkFiles(d) {
  const out = [];
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) out.push(...walkFiles(p));
    else if (e.isFile() && e.name.endsWith(".json")) out.push(p);
  }
  return out.sort();
}

const isObj = (v) => v != null && typeof v === "object" && !Array.isArray(v);
const MAP_CONTAINERS = ["@language", "@index", "@id", "@type"];

// Every property IRI (and @reverse/@included content) in an expanded document.
// Types that expanded to blank-node IRIs (undefined type names) go to `blankTypes`.
function expandedProperties(node, into = new Set(), blankTypes = new Set()) {
  if (Array.isArray(node)) {
    for (const n of node) expandedProperties(n, into, blankTypes);
  } else if (isObj(node)) {
    if ("@value" in node) return into; // a literal, maybe @json: no terms inside
    for (const t of [].concat(node["@type"] ?? [])) if (typeof t === "string" && t.startsWith("_:")) blankTypes.add(t);
    for (const [k, v] of Object.entries(node)) {
      if (!k.startsWith("@")) into.add(k);
      if (k !== "@context" && k !== "@type") expandedProperties(v, into, blankTypes);
    }
  }
  return into;
}

// What a key of the compact document means in `ctx` (an array of the local
// contexts in scope): its property IRI, or the keyword it is an alias of, or
// null when it means nothing. Uses the processor's own term definitions.
async function termInfo(activeCtx, key) {
  if (key.startsWith("@")) return { keyword: key };
  const def = activeCtx.mappings.get(key);
  if (def) {
    const id = def["@id"];
    const container = def["@container"] ?? [];
    if (id == null) return { iri: null, container }; // explicitly null: drops
    if (id.startsWith("@")) return { keyword: id, container };
    return { iri: id, container, reverse: !!def.reverse };
  }
  // Not a term: compact IRI, absolute IRI, or @vocab-relative.
  const colon = key.indexOf(":");
  if (colon > 0) {
    const prefix = key.slice(0, colon);
    const suffix = key.slice(colon + 1);
    if (suffix.startsWith("//")) return { iri: key, container: [] };
    const p = activeCtx.mappings.get(prefix);
    if (p && p["@id"] && !suffix.startsWith("//")) return { iri: p["@id"] + suffix, container: [] };
    return { iri: key, container: [] }; // absolute IRI with some scheme
  }
  if (activeCtx["@vocab"]) return { iri: activeCtx["@vocab"] + key, container: [] };
  return { iri: null, container: [] };
}

// Keys of the compact document with where they are and what they mean.
async function compactKeys(node, activeCtx, where, out) {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) await compactKeys(node[i], activeCtx, `${where}[${i}]`, out);
    return out;
  }
  if (!isObj(node)) return out;
  if ("@context" in node) {
    activeCtx = await jsonld.processContext(activeCtx, node["@context"], { documentLoader });
  }
  if ("@value" in node) return out;
  for (const [key, value] of Object.entries(node)) {
    if (key === "@context") continue;
    const info = await termInfo(activeCtx, key);
    const at = where === "" ? key : `${where}.${key}`;
    if (info.keyword) {
      // Aliases of @id/@type/@language/@value: values are not terms, except
      // @graph/@included/@nest/@reverse content, which may hold terms.
      if (["@graph", "@included", "@nest", "@list", "@set"].includes(info.keyword)) {
        await compactKeys(value, activeCtx, at, out);
      }
      continue;
    }
    out.push({ key, at, iri: info.iri });
    const container = info.container ?? [];
    if (info.iri != null && container.some((c) => MAP_CONTAINERS.includes(c)) && isObj(value)) {
      // A map: its keys are languages, indexes, ids or types, its values may be nodes.
      for (const [mk, mv] of Object.entries(value)) await compactKeys(mv, activeCtx, `${at}[${JSON.stringify(mk)}]`, out);
      continue;
    }
    const def = activeCtx.mappings.get(key);
    if (def?.["@type"] === "@json") continue; // a JSON literal
    await compactKeys(value, activeCtx, at, out);
  }
  return out;
}

const files = walkFiles(apDir);
const report = { dir, files: files.length, documents: [], dropped: [], errors: [] };

for (const file of files) {
  const rel = path.relative(dir, file).split(path.sep).join("/");
  let doc;
  try {
    doc = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    report.errors.push({ file: rel, error: `not JSON: ${e.message}` });
    continue;
  }
  if (!isObj(doc) || !("@context" in doc)) {
    report.errors.push({ file: rel, error: "no top-level @context: not a JSON-LD document" });
    continue;
  }
  const events = [];
  let expanded;
  try {
    expanded = await jsonld.expand(doc, {
      documentLoader,
      eventHandler: ({ event, next }) => {
        if (event.level === "warning") events.push(event);
        next();
      },
    });
  } catch (e) {
    report.errors.push({ file: rel, error: `expansion failed: ${e.message}${e.details?.url ? ` (${e.details.url})` : ""}` });
    continue;
  }
  const blankTypes = new Set();
  const present = expandedProperties(expanded, new Set(), blankTypes);
  const initial = await jsonld.processContext(null, null, { documentLoader });
  let keys;
  try {
    keys = await compactKeys(doc, initial, "", []);
  } catch (e) {
    report.errors.push({ file: rel, error: `context processing failed: ${e.message}` });
    continue;
  }
  const dropped = [];
  const seen = new Set();
  for (const k of keys) {
    let why = null;
    if (k.iri == null) why = "the term maps to no IRI";
    else if (k.iri.startsWith("_:")) {
      why = `it expands to the blank-node property ${k.iri} (only the ActivityStreams context's "@vocab": "_:" catches it): no vocabulary defines it, so JSON-LD consumers such as Fedify ignore it; define it in the document's extension context`;
    } else if (!present.has(k.iri)) why = `${k.iri} missing from the expansion`;
    if (why != null && !seen.has(k.at)) {
      seen.add(k.at);
      dropped.push({ term: k.key, at: k.at, iri: k.iri, why });
    }
  }
  for (const t of blankTypes) {
    dropped.push({ term: t.slice(2), at: "type", iri: t, why: `the type name expands to the blank-node IRI ${t}: no vocabulary defines it, so consumers do not know the type; define it in the extension context` });
  }
  for (const ev of events) {
    const d = ev.details ?? {};
    const term = d.property ?? d.term ?? d.id ?? d.type ?? d.value ?? null;
    dropped.push({ term, at: null, iri: null, why: `jsonld.js warning "${ev.code}": ${ev.message}`, details: d });
  }
  const types = [].concat(doc.type ?? doc["@type"] ?? []);
  report.documents.push({ file: rel, type: types.join(","), terms: new Set(keys.map((k) => k.key)).size, properties: present.size, dropped: dropped.length });
  for (const d of dropped) report.dropped.push({ file: rel, ...d });
}

console.log(JSON.stringify(report, null, 2));
if (report.dropped.length > 0 || report.errors.length > 0) {
  for (const e of report.errors) console.error(`jsonld-check: ${e.file}: ${e.error}`);
  for (const d of report.dropped) {
    console.error(`jsonld-check: ${d.file}: dropped ${JSON.stringify(d.term)}${d.at ? ` at ${d.at}` : ""}: ${d.why}`);
  }
  console.error(`jsonld-check: ${report.dropped.length} dropped term(s), ${report.errors.length} error(s) in ${files.length} document(s)`);
  process.exit(1);
}
console.error(`jsonld-check: ${files.length} document(s) expanded, no term dropped`);
