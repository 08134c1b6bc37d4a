#!/usr/bin/env node
// A fediverse account run by Fedify (an independent ActivityPub framework),
// for the companion's interop tests: it follows the blog, likes, boosts,
// replies and unfollows with Fedify's own signing code, and records what
// the blog sends back only after Fedify has verified its HTTP signature.
//
//   node tests/interop/fedify-follower.mjs PORT [FIRST_KNOCK]
//
// FIRST_KNOCK is the signature scheme Fedify tries first: "rfc9421"
// (default) or "draft-cavage-http-signatures-12".
//
// Serves http://127.0.0.1:PORT/users/alice (actor), its inbox and a shared
// inbox, and a control API the Rust test drives:
//   POST /control/follow    {"target": ACTOR_URL}            -> {"id": FOLLOW_ID}
//   POST /control/unfollow  {"target": ACTOR_URL}
//   POST /control/like      {"target": ACTOR_URL, "object": POST_ID}
//   POST /control/announce  {"target": ACTOR_URL, "object": POST_ID}
//   POST /control/unlike    {"target": ACTOR_URL, "object": POST_ID}
//   POST /control/reply     {"target": ACTOR_URL, "object": POST_ID, "content": HTML} -> {"id": NOTE_ID}
//   POST /control/quote     {"target": ACTOR_URL, "object": POST_ID} -> {"id": REQUEST_ID, "note": NOTE_ID}
//                           (a Note quoting POST_ID, and a QuoteRequest with it as instrument)
//   POST /control/stamp     {"url": STAMP_URL} -> {type, id, attributedTo, interactingObject, interactionTarget}
//                           (looked up and parsed by Fedify)
//   POST /control/post      {"content": HTML} -> {"id": NOTE_ID}  (a public Note by alice, served at its id)
// A QuoteRequest for one of alice's posts is recorded and accepted at once:
// the Accept's result is a QuoteAuthorization served at
// /users/alice/stamps/N.
//   POST /control/replies   {"object": POST_ID} -> {"ids": [...]}: the post's replies
//                           collection, looked up and walked (pages too) by Fedify
//   GET  /control/received  -> [ {type, id, actor, objectId, objectType, objectActor,
//                                 objectObject, objectContent, objectPublished, objectUpdated,
//                                 objectInstrument, objectQuote, objectQuoteAuthorization,
//                                 instrument, result, target, objectMovedTo}, ... ]
//                           (a Move is recorded too: target is where the account moved)
// Prints "ready http://127.0.0.1:PORT" on stdout once listening.
//
// Network: only loopback. Any fetch to another host is refused without
// touching the network.

import http from "node:http";
import { createFederation, generateCryptoKeyPair, MemoryKvStore } from "@fedify/fedify";
import {
  Accept,
  Announce,
  Create,
  Delete,
  Endpoints,
  Follow,
  Like,
  Mention,
  Move,
  Note,
  Person,
  PUBLIC_COLLECTION,
  QuoteAuthorization,
  QuoteRequest,
  Reject,
  Undo,
  Update,
} from "@fedify/vocab";

const port = Number(process.argv[2]);
const firstKnock = process.argv[3] || "rfc9421";
if (!port) {
  console.error("usage: node fedify-follower.mjs PORT [rfc9421|draft-cavage-http-signatures-12]");
  process.exit(2);
}
const origin = `http://127.0.0.1:${port}`;

const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (!["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) {
    throw new Error(`refusing a non-loopback request to ${url.href}`);
  }
  return realFetch(input, init);
};

const federation = createFederation({
  kv: new MemoryKvStore(),
  allowPrivateAddress: true,
  origin,
  firstKnock,
});
const keyPair = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== "alice") return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Alice (Fedify)",
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: keys[0].cryptographicKey,
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) => (identifier === "alice" ? [keyPair] : []));

const received = [];
async function record(kind, activity) {
  let object = null;
  try {
    object = await activity.getObject({ crossOrigin: "trust" });
  } catch {
    object = null;
  }
  received.push({
    type: kind,
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    objectId: activity.objectId?.href ?? object?.id?.href ?? null,
    objectType: object?.constructor?.name ?? null,
    objectActor: object?.actorId?.href ?? null,
    objectObject: object?.objectId?.href ?? null,
    objectContent: object?.content?.toString() ?? null,
    objectPublished: object?.published?.toString() ?? null,
    objectUpdated: object?.updated?.toString() ?? null,
    objectInstrument: object?.instrumentId?.href ?? null,
    objectQuote: object?.quoteId?.href ?? null,
    objectQuoteAuthorization: object?.quoteAuthorizationId?.href ?? null,
    instrument: activity.instrumentId?.href ?? null,
    result: activity.resultId?.href ?? null,
    target: activity.targetId?.href ?? null,
    objectMovedTo: object?.successorId?.href ?? null,
  });
}

const posts = new Map(); // id -> Note
const stamps = new Map(); // id -> QuoteAuthorization
federation.setObjectDispatcher(Note, "/users/{identifier}/posts/{id}", (ctx, values) =>
  posts.get(ctx.getObjectUri(Note, values).href) ?? null,
);
federation.setObjectDispatcher(QuoteAuthorization, "/users/{identifier}/stamps/{id}", (ctx, values) =>
  stamps.get(ctx.getObjectUri(QuoteAuthorization, values).href) ?? null,
);

async function acceptQuote(ctx, request) {
  await record("QuoteRequest", request);
  const n = stamps.size + 1;
  const stampId = ctx.getObjectUri(QuoteAuthorization, { identifier: "alice", id: String(n) });
  stamps.set(
    stampId.href,
    new QuoteAuthorization({
      id: stampId,
      attribution: alice(),
      interactingObject: request.instrumentId,
      interactionTarget: request.objectId,
    }),
  );
  const requester = await request.getActor();
  const accept = new Accept({
    id: new URL(`${stampId.href}#accept`),
    actor: alice(),
    object: request,
    result: stampId,
  });
  await ctx.sendActivity({ identifier: "alice" }, requester, accept);
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(QuoteRequest, (ctx, r) => acceptQuote(ctx, r))
  .on(Accept, (_ctx, a) => record("Accept", a))
  .on(Reject, (_ctx, a) => record("Reject", a))
  .on(Create, (_ctx, a) => record("Create", a))
  .on(Update, (_ctx, a) => record("Update", a))
  .on(Delete, (_ctx, a) => record("Delete", a))
  .on(Move, (_ctx, a) => record("Move", a))
  .onError((_ctx, e) => console.error("inbox error:", e));

const alice = () => new URL(`${origin}/users/alice`);
let counter = 0;
const next = (what) => new URL(`${origin}/users/alice/${what}/${Date.now()}-${++counter}`);
const follows = new Map(); // target -> Follow
const likes = new Map(); // object -> Like

async function recipient(ctx, target) {
  const actor = await ctx.lookupObject(target);
  if (!actor || !actor.inboxId) throw new Error(`cannot resolve ${target}`);
  return actor;
}

async function control(ctx, path, body) {
  const sender = { identifier: "alice" };
  const target = body.target && (await recipient(ctx, body.target));
  switch (path) {
    case "/control/follow": {
      const follow = new Follow({ id: next("follows"), actor: alice(), object: target.id });
      follows.set(body.target, follow);
      await ctx.sendActivity(sender, target, follow);
      return { id: follow.id.href };
    }
    case "/control/unfollow": {
      const follow = follows.get(body.target);
      if (!follow) throw new Error("not following");
      const undo = new Undo({ id: next("undos"), actor: alice(), object: follow });
      await ctx.sendActivity(sender, target, undo);
      return { id: undo.id.href };
    }
    case "/control/like": {
      const like = new Like({ id: next("likes"), actor: alice(), object: new URL(body.object) });
      likes.set(body.object, like);
      await ctx.sendActivity(sender, target, like);
      return { id: like.id.href };
    }
    case "/control/unlike": {
      const like = likes.get(body.object);
      if (!like) throw new Error("no such like");
      const undo = new Undo({ id: next("undos"), actor: alice(), object: like });
      await ctx.sendActivity(sender, target, undo);
      return { id: undo.id.href };
    }
    case "/control/announce": {
      const announce = new Announce({
        id: next("announces"),
        actor: alice(),
        object: new URL(body.object),
        to: PUBLIC_COLLECTION,
        cc: target.id,
      });
      await ctx.sendActivity(sender, target, announce);
      return { id: announce.id.href };
    }
    case "/control/reply": {
      const note = new Note({
        id: next("notes"),
        attribution: alice(),
        content: body.content,
        replyTarget: new URL(body.object),
        to: PUBLIC_COLLECTION,
        cc: target.id,
        tags: [new Mention({ href: target.id, name: "@blog" })],
      });
      const create = new Create({
        id: new URL(`${note.id.href}/activity`),
        actor: alice(),
        object: note,
        to: PUBLIC_COLLECTION,
        cc: target.id,
      });
      await ctx.sendActivity(sender, target, create);
      return { id: note.id.href };
    }
    case "/control/quote": {
      const note = new Note({
        id: next("notes"),
        attribution: alice(),
        content: `<p>Worth reading</p><p class="quote-inline">RE: ${body.object}</p>`,
        quote: new URL(body.object),
        to: PUBLIC_COLLECTION,
      });
      const request = new QuoteRequest({
        id: next("quote_requests"),
        actor: alice(),
        object: new URL(body.object),
        instrument: note,
      });
      await ctx.sendActivity(sender, target, request);
      return { id: request.id.href, note: note.id.href };
    }
    case "/control/post": {
      const id = ctx.getObjectUri(Note, { identifier: "alice", id: `${Date.now()}-${++counter}` });
      posts.set(
        id.href,
        new Note({ id, attribution: alice(), content: body.content, to: PUBLIC_COLLECTION }),
      );
      return { id: id.href };
    }
    case "/control/stamp": {
      const stamp = await ctx.lookupObject(body.url);
      if (!(stamp instanceof QuoteAuthorization)) {
        throw new Error(`not a QuoteAuthorization: ${stamp?.constructor?.name}`);
      }
      return {
        type: "QuoteAuthorization",
        id: stamp.id?.href ?? null,
        attributedTo: stamp.attributionId?.href ?? null,
        interactingObject: stamp.interactingObjectId?.href ?? null,
        interactionTarget: stamp.interactionTargetId?.href ?? null,
      };
    }
    case "/control/replies": {
      const post = await ctx.lookupObject(body.object);
      if (!post) throw new Error(`cannot look up ${body.object}`);
      const replies = await post.getReplies();
      if (!replies) return { ids: [] };
      const ids = replies.itemIds.map((u) => u.href);
      let page = replies.firstId ? await replies.getFirst() : null;
      for (let n = 0; page && n < 100; n++) {
        ids.push(...page.itemIds.map((u) => u.href));
        page = page.nextId ? await page.getNext() : null;
      }
      return { ids };
    }
    default:
      throw new Error(`unknown control path ${path}`);
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

const server = http.createServer(async (req, res) => {
  try {
    const body = await readBody(req);
    const url = new URL(req.url, origin);
    if (url.pathname === "/control/received") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(received));
      return;
    }
    if (url.pathname.startsWith("/control/")) {
      const ctx = federation.createContext(new URL(origin), undefined);
      try {
        const result = await control(ctx, url.pathname, JSON.parse(body.toString() || "{}"));
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(result));
      } catch (e) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: String(e?.stack ?? e) }));
      }
      return;
    }
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (Array.isArray(v)) v.forEach((x) => headers.append(k, x));
      else if (v !== undefined) headers.set(k, v);
    }
    const request = new Request(url, {
      method: req.method,
      headers,
      body: ["GET", "HEAD"].includes(req.method) ? undefined : body,
    });
    const response = await federation.fetch(request, { contextData: undefined });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (e) {
    console.error(e);
    res.writeHead(500);
    res.end(String(e));
  }
});
server.listen(port, "127.0.0.1", () => console.log(`ready ${origin}`));
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => server.close(() => process.exit(0)));
