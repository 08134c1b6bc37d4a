#!/usr/bin/env node
// Reads a running stoa site the way a Fedify server would, with Fedify's own
// lookup code, and checks every ActivityPub document it reaches.
//
//   node tests/interop/fedify-check.mjs http://127.0.0.1:PORT USER
//
// Prints a JSON report on stdout. Exits 0 when every check passed, 1 when any
// failed (each failure is listed on stderr and in the report's "failures"),
// 2 on bad usage or a crash.
//
// Network: only loopback. Fedify resolves `acct:` handles over https
// (@fedify/webfinger builds `https://HOST/.well-known/webfinger`), so the
// global fetch, which both @fedify/webfinger and Fedify's document loader
// call, is wrapped: https://<the site's host> goes to the plain-http server,
// and any request to a non-loopback host is refused without touching the
// network. JSON-LD contexts come only from Fedify's preloaded copies.

import { fetchKey, getDocumentLoader, getKeyOwner, parseNodeInfo, preloadedContexts } from "@fedify/fedify";
import {
  Article,
  Collection,
  Create,
  CryptographicKey,
  Document,
  Hashtag,
  Image,
  LanguageString,
  Link,
  Note,
  OrderedCollection,
  OrderedCollectionPage,
  Person,
  PropertyValue,
  PUBLIC_COLLECTION,
  lookupObject,
  traverseCollection,
} from "@fedify/vocab";
import { lookupWebFinger } from "@fedify/webfinger";

const [baseArg, user] = process.argv.slice(2);
if (!baseArg || !user) {
  console.error("usage: node fedify-check.mjs BASE_URL USER   (e.g. http://127.0.0.1:8080 ada)");
  process.exit(2);
}
const base = baseArg.replace(/\/+$/, "");
const baseUrl = new URL(base);
const host = baseUrl.host; // host[:port]

// ---------------------------------------------------------------- checks
const failures = [];
const notes = [];
function check(cond, what, detail) {
  if (!cond) failures.push(detail === undefined ? what : `${what}: ${fmt(detail)}`);
  return !!cond;
}
function eq(actual, expected, what) {
  return check(actual === expected, what, `expected ${fmt(expected)}, got ${fmt(actual)}`);
}
function fmt(v) {
  if (v instanceof URL) return v.href;
  if (typeof v === "string") return JSON.stringify(v);
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}
const href = (u) => (u == null ? null : u instanceof URL ? u.href : u instanceof Link ? u.href?.href ?? null : String(u));

// ---------------------------------------------------------------- network
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);
const realFetch = globalThis.fetch;
const fetched = []; // {url, status, contentType}
const blocked = [];
globalThis.fetch = async function loopbackOnlyFetch(input, init) {
  const req = input instanceof Request ? input : null;
  let url = new URL(req ? req.url : input instanceof URL ? input.href : String(input));
  if (!LOOPBACK.has(url.hostname)) {
    blocked.push(url.href);
    throw new TypeError(`fedify-check: refusing non-loopback request to ${url.href}`);
  }
  if (url.protocol === "https:" && url.host === host && baseUrl.protocol === "http:") {
    url = new URL(url.href.replace(/^https:/, "http:"));
  }
  const target = req
    ? new Request(url, { method: req.method, headers: req.headers, redirect: req.redirect, signal: req.signal })
    : url;
  const res = await realFetch(target, init);
  fetched.push({ url: url.href, status: res.status, contentType: res.headers.get("content-type") });
  return res;
};

// Fedify's loader (it calls the global fetch above), with private addresses
// allowed because the site is on 127.0.0.1.
const documentLoader = getDocumentLoader({ allowPrivateAddress: true });
// Contexts: Fedify's preloaded copies only, never the network.
const contextLoader = async (url) => {
  if (url in preloadedContexts) {
    return { contextUrl: null, document: preloadedContexts[url], documentUrl: url };
  }
  failures.push(`JSON-LD context ${url} is not one Fedify preloads; a Fedify server would fetch it over the network on every lookup`);
  throw new Error(`context not preloaded: ${url}`);
};
const opts = { documentLoader, contextLoader, allowPrivateAddress: true, crossOrigin: "throw" };

// The raw JSON of a document, fetched the way Fedify fetches it.
async function raw(url) {
  const doc = await documentLoader(url);
  return doc.document;
}

function contentTypeOf(url) {
  const hit = [...fetched].reverse().find((f) => f.url === url);
  return hit?.contentType ?? null;
}

// ---------------------------------------------------------------- report
const report = {
  base,
  user,
  handle: `@${user}@${host}`,
  webfinger: null,
  actor: null,
  outbox: null,
  posts: [],
  htmlResolved: 0,
  featured: null,
  nodeinfo: null,
  requests: 0,
  blockedRequests: [],
  notes,
  failures,
};

async function main() {
  const actorUrl = `${base}/ap/actor.json`;
  const followersUrl = `${base}/ap/followers.json`;
  const acct = `acct:${user}@${host}`;

  // ---- WebFinger, with Fedify's client (https, rerouted to the loopback server)
  const jrd = await lookupWebFinger(acct, { allowPrivateAddress: true });
  const wfStatus = fetched.find((f) => f.url.includes("/.well-known/webfinger"))?.status ?? "no response";
  if (!check(jrd != null, `WebFinger lookup of ${acct} (GET https://${host}/.well-known/webfinger?resource=..., rerouted to http) failed: HTTP ${wfStatus}`)) {
    return;
  }
  const wfUrl = fetched.find((f) => f.url.includes("/.well-known/webfinger"));
  eq(wfUrl?.contentType, "application/jrd+json", "WebFinger Content-Type");
  eq(jrd.subject, acct, "WebFinger subject");
  const self = (jrd.links ?? []).find((l) => l.rel === "self");
  eq(self?.type, "application/activity+json", "WebFinger self link type");
  eq(self?.href, actorUrl, "WebFinger self link href");
  const profile = (jrd.links ?? []).find((l) => l.rel === "http://webfinger.net/rel/profile-page");
  eq(profile?.href, `${base}/`, "WebFinger profile-page link href");
  check((jrd.aliases ?? []).includes(actorUrl), "WebFinger aliases include the actor id", jrd.aliases);
  report.webfinger = { subject: jrd.subject, self: self?.href ?? null, aliases: jrd.aliases ?? [] };

  // ---- The actor, looked up by handle like a Mastodon search
  const actor = await lookupObject(acct, opts);
  if (!check(actor instanceof Person, `lookupObject(${acct}) gives a Person`, actor?.constructor?.name ?? actor)) return;
  eq(contentTypeOf(actorUrl), "application/activity+json", "actor Content-Type");
  eq(href(actor.id), actorUrl, "actor id");
  eq(actor.preferredUsername?.toString(), user, "actor preferredUsername");
  check(actor.name != null && String(actor.name).length > 0, "actor has a name");
  eq(href(actor.url), `${base}/`, "actor url");
  check(actor.inboxId != null, "actor has an inbox");
  eq(href(actor.outboxId), `${base}/ap/outbox.json`, "actor outbox");
  eq(href(actor.followersId), followersUrl, "actor followers");
  eq(href(actor.followingId), `${base}/ap/following.json`, "actor following");
  eq(href(actor.featuredId), `${base}/ap/featured.json`, "actor featured");
  check(actor.endpoints?.sharedInbox != null, "actor has endpoints.sharedInbox");
  // Avatar and header are optional ([fediverse] avatar/header); when present
  // they must be Images whose url is served with their mediaType.
  const icon = await actor.getIcon(opts);
  const headerImage = await actor.getImage(opts);
  for (const [what, img] of [["icon (avatar)", icon], ["image (header)", headerImage]]) {
    if (img == null) {
      notes.push(`actor has no ${what}: Mastodon shows its default`);
      continue;
    }
    if (check(img instanceof Image && img.url != null, `actor ${what} is an Image with a url`, img.constructor?.name)) {
      await checkServed(href(img.url), img.mediaType, `actor ${what}`);
    }
  }
  const fields = [];
  for await (const a of actor.getAttachments(opts)) {
    if (a instanceof PropertyValue) fields.push({ name: String(a.name), value: String(a.value) });
  }
  // Same handle lookup via the handle form a Mastodon user types.
  const byHandle = await lookupObject(`@${user}@${host}`, opts).catch((e) => e);
  if (!(byHandle instanceof Person)) {
    notes.push(`lookupObject("@${user}@${host}") did not give a Person (${byHandle?.message ?? byHandle}); acct: URI works`);
  }

  // ---- Public key, as Fedify gets it for HTTP-signature checks
  const key = await actor.getPublicKey(opts);
  const keyOk =
    check(key instanceof CryptographicKey, "actor.getPublicKey() gives a CryptographicKey", key?.constructor?.name) &&
    eq(href(key.id), `${actorUrl}#main-key`, "publicKey id") &&
    eq(href(key.ownerId), actorUrl, "publicKey owner") &&
    check(key.publicKey instanceof CryptoKey, "publicKey.publicKeyPem imports as a CryptoKey") &&
    eq(key.publicKey.algorithm.name, "RSASSA-PKCS1-v1_5", "public key algorithm") &&
    check(key.publicKey.algorithm.modulusLength >= 2048, "RSA key is at least 2048 bits", key.publicKey.algorithm.modulusLength);
  // Key id -> key -> owner, the path Fedify takes when verifying a signature.
  const fk = await fetchKey(`${actorUrl}#main-key`, CryptographicKey, opts);
  check(fk.key?.publicKey instanceof CryptoKey, `fetchKey(${actorUrl}#main-key) finds the key`);
  const owner = await getKeyOwner(new URL(`${actorUrl}#main-key`), opts);
  eq(href(owner?.id), actorUrl, "getKeyOwner(key id)");

  report.actor = {
    id: href(actor.id),
    type: "Person",
    preferredUsername: actor.preferredUsername?.toString() ?? null,
    name: actor.name?.toString() ?? null,
    url: href(actor.url),
    inbox: href(actor.inboxId),
    outbox: href(actor.outboxId),
    followers: href(actor.followersId),
    following: href(actor.followingId),
    featured: href(actor.featuredId),
    featuredTags: href(actor.featuredTagsId),
    sharedInbox: href(actor.endpoints?.sharedInbox),
    icon: href(icon?.url),
    image: href(headerImage?.url),
    fields,
    manuallyApprovesFollowers: actor.manuallyApprovesFollowers,
    discoverable: actor.discoverable,
    indexable: actor.indexable,
    published: actor.published?.toString() ?? null,
    publicKey: keyOk
      ? {
          id: href(key.id),
          owner: href(key.ownerId),
          algorithm: key.publicKey.algorithm.name,
          modulusLength: key.publicKey.algorithm.modulusLength,
        }
      : null,
  };

  // ---- Followers / following / featured collections
  for (const [name, get] of [
    ["followers", () => actor.getFollowers(opts)],
    ["following", () => actor.getFollowing(opts)],
  ]) {
    const c = await get().catch((e) => e);
    check(c instanceof Collection, `actor ${name} resolves to a Collection`, c?.message ?? c?.constructor?.name);
  }
  const featured = await actor.getFeatured(opts).catch((e) => e);
  if (check(featured instanceof Collection, "actor featured resolves to a Collection", featured?.message ?? featured?.constructor?.name)) {
    const ids = [];
    for await (const item of traverseCollection(featured, opts)) ids.push(href(item.id));
    report.featured = { totalItems: featured.totalItems ?? null, items: ids };
  }

  // ---- The outbox, every page
  const outbox = await actor.getOutbox(opts);
  if (!check(outbox instanceof OrderedCollection, "actor outbox is an OrderedCollection", outbox?.constructor?.name)) return;
  eq(contentTypeOf(`${base}/ap/outbox.json`), "application/activity+json", "outbox Content-Type");
  const pages = [];
  for (let page = await outbox.getFirst(opts); page != null; page = await page.getNext(opts)) {
    check(page instanceof OrderedCollectionPage, "outbox page is an OrderedCollectionPage", page.constructor?.name);
    if (pages.includes(href(page.id))) {
      failures.push(`outbox pages loop back to ${href(page.id)}`);
      break;
    }
    pages.push(href(page.id));
  }
  eq(pages[0], `${base}/ap/outbox/page-1.json`, "outbox first page");
  const creates = [];
  for await (const item of traverseCollection(outbox, opts)) creates.push(item);
  eq(creates.length, outbox.totalItems, "outbox totalItems equals the items on its pages");
  report.outbox = { id: href(outbox.id), totalItems: outbox.totalItems, pages: pages.length, items: creates.length };

  let previous = null;
  const seen = new Set();
  for (const create of creates) {
    const where = `outbox item ${href(create.id) ?? "(no id)"}`;
    if (!check(create instanceof Create, `${where} is a Create`, create.constructor?.name)) continue;
    check(create.id != null, `${where} has an id`);
    eq(href(create.actorId), actorUrl, `${where} actor`);
    check(create.toIds.some((u) => u.href === PUBLIC_COLLECTION.href), `${where} is addressed to Public`);
    const embedded = await create.getObject(opts);
    const objectId = href(create.objectId);
    if (!check(objectId != null && embedded != null, `${where} has an object with an id`)) continue;
    check(!seen.has(objectId), `${where} object appears once in the outbox`, objectId);
    seen.add(objectId);
    // Newest first.
    const published = embedded.published ?? create.published;
    if (previous != null && published != null) {
      check(published.epochMilliseconds <= previous.epochMilliseconds, `outbox is newest first at ${objectId}`, `${published} after ${previous}`);
    }
    if (published != null) previous = published;
    report.posts.push(await checkPost(objectId, embedded, { actorUrl, followersUrl }));
  }
}

async function checkPost(objectId, embedded, { actorUrl, followersUrl }) {
  const slug = objectId.match(/\/ap\/posts\/(.+)\.json$/)?.[1] ?? null;
  const where = `post ${objectId}`;
  check(slug != null, `${where} id is ${base}/ap/posts/<slug>.json`);
  // Dereference the id, as a server does when it sees the object.
  const obj = await lookupObject(objectId, opts).catch((e) => e);
  const summary = { slug, id: objectId };
  if (!check(obj instanceof Note || obj instanceof Article, `${where} dereferences to a Note or Article`, obj?.message ?? obj?.constructor?.name)) {
    return summary;
  }
  eq(contentTypeOf(objectId), "application/activity+json", `${where} Content-Type`);
  eq(href(obj.id), objectId, `${where} id`);
  eq(obj.constructor.name, embedded.constructor.name, `${where} type in outbox and at its id`);
  const json = await raw(objectId);
  summary.type = obj instanceof Article ? "Article" : "Note";
  summary.url = href(obj.url);
  if (slug != null) eq(summary.url, `${base}/posts/${slug}/`, `${where} url`);
  eq(href(obj.attributionId), actorUrl, `${where} attributedTo`);
  check(obj.toIds.some((u) => u.href === PUBLIC_COLLECTION.href), `${where} to includes as:Public`, obj.toIds.map(href));
  check(obj.ccIds.some((u) => u.href === followersUrl), `${where} cc includes the followers collection`, obj.ccIds.map(href));
  check(obj.published != null, `${where} has published`);
  summary.published = obj.published?.toString() ?? null;
  summary.updated = obj.updated?.toString() ?? null;

  // Content and its language.
  const content = obj.content;
  const contentText = content == null ? "" : String(content);
  check(contentText.trim().length > 0, `${where} content is not empty`);
  const langs = obj.contents.filter((c) => c instanceof LanguageString).map((c) => c.locale.baseName);
  check(langs.length > 0, `${where} has contentMap (a language-tagged content)`);
  summary.language = langs[0] ?? null;
  summary.contentLength = contentText.length;
  if (summary.type === "Article") check(obj.name != null, `${where} Article has a name (title)`);
  summary.name = obj.name?.toString() ?? null;

  // Content warning.
  summary.summary = obj.summary?.toString() ?? null;
  summary.sensitive = obj.sensitive ?? null;
  // Mastodon turns a Note's summary into its content warning (spoiler_text)
  // and ignores an Article's (Article is a "converted" type: name + link).
  if (summary.summary != null && summary.type === "Note") {
    check(obj.sensitive === true, `${where} is a Note with a summary, which Mastodon shows as a content warning, so it should be sensitive: true`, obj.sensitive);
  }

  // Hashtags.
  summary.tags = [];
  for await (const tag of obj.getTags(opts)) {
    if (tag instanceof Hashtag) {
      const h = href(tag.href);
      const name = tag.name?.toString() ?? "";
      check(name.startsWith("#") && name.length > 1, `${where} hashtag name starts with #`, name);
      check(h != null && h.startsWith(`${base}/tags/`) && h.endsWith("/"), `${where} hashtag href is ${base}/tags/<tag>/`, h);
      summary.tags.push({ name, href: h });
    } else {
      summary.tags.push({ type: tag.constructor.name, name: tag.name?.toString() ?? null });
    }
  }

  // Attachments.
  summary.attachments = [];
  const rawAttachments = [json.attachment ?? []].flat();
  let i = 0;
  for await (const a of obj.getAttachments(opts)) {
    const at = `${where} attachment ${i}`;
    const rawA = rawAttachments[i] ?? {};
    i++;
    const isMedia = a instanceof Image || a instanceof Document;
    check(isMedia, `${at} is an Image or Document`, a.constructor.name);
    if (!isMedia) continue;
    const u = href(a.url);
    const item = {
      type: a.constructor.name,
      url: u,
      mediaType: a.mediaType ?? null,
      name: a.name?.toString() ?? null,
      width: a.width ?? null,
      height: a.height ?? null,
      blurhash: typeof rawA.blurhash === "string" ? rawA.blurhash : null,
    };
    check(u != null, `${at} has a url`);
    check(item.mediaType != null, `${at} has a mediaType`);
    check(item.name != null && item.name.length > 0, `${at} has a name (alt text)`);
    check(Number.isInteger(item.width) && item.width > 0, `${at} has a width`, item.width);
    check(Number.isInteger(item.height) && item.height > 0, `${at} has a height`, item.height);
    await checkServed(u, item.mediaType, at);
    summary.attachments.push(item);
  }

  // Replies.
  summary.inReplyTo = obj.replyTargetIds.length > 0 ? href(obj.replyTargetIds[0]) : null;
  summary.replies = href(obj.repliesId) ?? (obj.repliesId === null && json.replies != null ? "embedded" : null);

  // Resolving the HTML page URL (Fedify follows <link rel="alternate">).
  if (summary.url != null && (await resolvesViaHtml(summary.url, objectId))) report.htmlResolved++;
  return summary;
}

// A media file of the site is served, with the Content-Type its document claims.
async function checkServed(u, mediaType, what) {
  if (u == null || new URL(u).host !== host) return;
  const res = await globalThis.fetch(u);
  check(res.ok, `${what} url ${u} is served`, res.status);
  const ct = (res.headers.get("content-type") ?? "").split(";")[0].trim();
  if (mediaType != null) check(ct === mediaType, `${what} mediaType matches the served Content-Type`, `${mediaType} vs ${ct}`);
  await res.arrayBuffer();
}

// Why resolving an HTML page went wrong, in words.
async function htmlHint(pageUrl, got) {
  const res = await globalThis.fetch(pageUrl);
  const html = await res.text();
  const links = [...html.matchAll(/<link\s[^>]*>/gi)]
    .map((m) => m[0])
    .filter((t) => /rel=["']?alternate/i.test(t) && /application\/(activity\+json|ld\+json)/i.test(t));
  const what = got instanceof Error ? `error ${got.message}` : `got ${got}`;
  if (links.length === 0) {
    return `${what}; the page has no <link rel="alternate" type="application/activity+json" href="...">, so there is nothing to follow`;
  }
  return `${what}; the page's alternate link(s): ${links.join(" ")}`;
}

// An HTML page resolves to `expectedId` through its <link rel="alternate">:
// Fedify's document loader must follow the link itself (lookupObject alone
// would hide a missing link, because it falls back to WebFinger, and a
// static WebFinger answers any resource with the actor).
async function resolvesViaHtml(pageUrl, expectedId) {
  const doc = await documentLoader(pageUrl).catch((e) => e);
  const viaLoader = doc instanceof Error ? doc : doc.documentUrl;
  if (!check(viaLoader === expectedId, `Fedify's document loader follows ${pageUrl} (HTML) to ${expectedId}`, await htmlHint(pageUrl, viaLoader))) {
    return false;
  }
  const obj = await lookupObject(pageUrl, opts).catch((e) => e);
  return check(href(obj?.id) === expectedId, `lookupObject(${pageUrl}) gives ${expectedId}`, obj?.message ?? href(obj?.id) ?? null);
}

// NodeInfo and host-meta. Fedify's getNodeInfo() refuses private addresses
// outright, so the two documents are fetched here and the NodeInfo body goes
// through Fedify's strict parser (parseNodeInfo), as getNodeInfo would.
async function nodeInfoAndHostMeta() {
  const wk = await globalThis.fetch(`${base}/.well-known/nodeinfo`);
  if (!check(wk.ok, "/.well-known/nodeinfo is served", wk.status)) return;
  const rd = await wk.json();
  const link = (rd.links ?? []).find((l) => l?.rel === "http://nodeinfo.diaspora.software/ns/schema/2.1" || l?.rel === "http://nodeinfo.diaspora.software/ns/schema/2.0");
  if (!check(link?.href != null, "/.well-known/nodeinfo links a NodeInfo 2.x document", rd)) return;
  const res = await globalThis.fetch(link.href);
  if (!check(res.ok, `NodeInfo ${link.href} is served`, res.status)) return;
  const ni = parseNodeInfo(await res.json());
  if (check(ni != null, `Fedify's strict parseNodeInfo accepts ${link.href}`)) {
    check(ni.protocols.includes("activitypub"), "NodeInfo protocols include activitypub", ni.protocols);
    report.nodeinfo = { href: link.href, software: ni.software.name, version: String(ni.software.version), protocols: ni.protocols };
  }
  const hm = await globalThis.fetch(`${base}/.well-known/host-meta`);
  const xrd = hm.ok ? await hm.text() : "";
  check(xrd.includes(`${base}/.well-known/webfinger?resource={uri}`), "/.well-known/host-meta has the lrdd template for WebFinger", hm.status);
}

async function homePage() {
  report.homePageResolvesToActor = await resolvesViaHtml(`${base}/`, `${base}/ap/actor.json`);
}

try {
  await main();
  if (report.actor != null) await homePage();
  await nodeInfoAndHostMeta();
} catch (e) {
  failures.push(`crashed: ${e?.stack ?? e}`);
}
report.requests = fetched.length;
report.blockedRequests = blocked;
console.log(JSON.stringify(report, null, 2));
if (failures.length > 0) {
  console.error(`fedify-check: ${failures.length} check(s) failed against ${base}:`);
  for (const f of failures) console.error(`  - ${f}`);
  process.exit(1);
}
console.error(`fedify-check: all checks passed (${report.posts.length} posts, ${report.outbox?.pages ?? 0} outbox pages, ${fetched.length} requests)`);
