#!/usr/bin/env node
// Signs one request with Fedify's own RFC 9421 (HTTP Message Signatures)
// code, so stoa's verifier can be checked against an independent signer.
//
//   node tests/interop/fedify-sign.mjs KEY.pem KEY_ID URL BODY CREATED [OPTIONS_JSON]
//
// KEY.pem: a PKCS#8 RSA private key; CREATED: seconds since the epoch, used as
// the signing time; OPTIONS_JSON (optional): Fedify's `rfc9421` sign options
// (label, components, nonce, tag, expires). The request is a POST of BODY
// with `Content-Type: application/activity+json`.
//
// Prints {"method", "url", "headers": [[name, value], ...], "body"} on stdout.
// Exits 2 on bad usage or any error.
//
// Network: none. Signing needs no fetch, and the global fetch is replaced by
// one that refuses every request, so a change in Fedify cannot reach out.

import { readFileSync } from "node:fs";
import { Temporal } from "@js-temporal/polyfill";
import { signRequest } from "@fedify/fedify";

globalThis.fetch = async (input) => {
  throw new Error(`fedify-sign.mjs makes no network requests (asked for ${input})`);
};

function usage(message) {
  process.stderr.write(`fedify-sign.mjs: ${message}\n`);
  process.stderr.write("usage: node fedify-sign.mjs KEY.pem KEY_ID URL BODY CREATED [OPTIONS_JSON]\n");
  process.exit(2);
}

async function main() {
  const [keyPath, keyId, url, body, created, optionsJson] = process.argv.slice(2);
  if (body === undefined || created === undefined) usage("missing arguments");
  if (!/^[0-9]+$/.test(created)) usage(`CREATED is not a number of seconds: ${created}`);
  const rfc9421 = optionsJson === undefined ? undefined : JSON.parse(optionsJson);

  const pem = readFileSync(keyPath, "utf8");
  const b64 = pem
    .replace(/-----BEGIN PRIVATE KEY-----/, "")
    .replace(/-----END PRIVATE KEY-----/, "")
    .replace(/\s+/g, "");
  const der = Buffer.from(b64, "base64");
  // Fedify insists on an extractable RSASSA-PKCS1-v1_5 / SHA-256 key.
  const key = await crypto.subtle.importKey(
    "pkcs8",
    der,
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    true,
    ["sign"],
  );

  const request = new Request(url, {
    method: "POST",
    headers: { "Content-Type": "application/activity+json" },
    body,
  });
  const signed = await signRequest(request, key, new URL(keyId), {
    spec: "rfc9421",
    currentTime: Temporal.Instant.fromEpochMilliseconds(Number(created) * 1000),
    rfc9421,
  });

  const headers = [];
  for (const [name, value] of signed.headers) headers.push([name, value]);
  const out = {
    method: signed.method,
    url: signed.url,
    headers,
    body: await signed.text(),
  };
  process.stdout.write(JSON.stringify(out, null, 2) + "\n");
}

main().catch((e) => {
  process.stderr.write(`fedify-sign.mjs: ${e?.stack ?? e}\n`);
  process.exit(2);
});
