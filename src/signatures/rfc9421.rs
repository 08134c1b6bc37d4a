//! RFC 9421 HTTP Message Signatures, the successor of draft-cavage that
//! Mastodon (4.4 on) and Fedify accept: verifying incoming requests and
//! signing outgoing ones (used by tests). Pure: no network, no clock
//! (callers pass `now`), no key fetching.
//!
//! Verification follows Mastodon's `HttpMessageSignature`
//! (`app/lib/signed_request.rb`): exactly one signature, `keyid` and
//! `created` required, `@method` and `@target-uri` covered, `content-digest`
//! covered on POST and checked against the body (RFC 9530), `created` /
//! `expires` within the window Mastodon allows, RSASSA-PKCS1-v1_5 SHA-256
//! (`alg`, when given, must be `rsa-v1_5-sha256`).
//!
//! `Signature-Input`, `Signature` and `Content-Digest` are RFC 8941
//! structured-field dictionaries, read by the small bounded parser below. It
//! never panics, whatever the input: it reads bytes through `get`, caps the
//! header size and the number of members, and refuses anything outside the
//! grammar.

use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD as B64;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jiff::Timestamp;
use sha2::{Digest, Sha256, Sha512};

use crate::signatures::cavage::{
    CLOCK_SKEW, DEFAULT_EXPIRY, MAX_EXPIRY, RequestParts, SignatureError, http_date,
};
use crate::signatures::keys::{PublicKey, SigningKey};

/// The one algorithm accepted in `alg` (RSASSA-PKCS1-v1_5 with SHA-256, the
/// only key type fediverse actors publish widely).
pub const ALGORITHM: &str = "rsa-v1_5-sha256";

/// Longest `Signature-Input`, `Signature` or `Content-Digest` value read, in
/// bytes, so a hostile sender cannot make the parser work on megabytes.
/// A real one is a few hundred bytes (an RSA-4096 signature is 690).
pub const MAX_HEADER_LEN: usize = 8 * 1024;

/// Most dictionary members, inner-list items or parameters accepted in one
/// header value: far above anything a signer sends, low enough to bound work.
const MAX_MEMBERS: usize = 64;

/// The label `sign` gives its signature (Fedify's default too).
const LABEL: &str = "sig1";

/// Base64 that accepts byte sequences with or without `=` padding, as
/// RFC 8941 §4.2.7 asks parsers to.
const B64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Derived components this verifier can compute (RFC 9421 §2.2) for a
/// request. `@query-param` (needs a parameter) and `@status` (responses
/// only) are refused.
const DERIVED: [&str; 7] = [
    "@method",
    "@target-uri",
    "@authority",
    "@scheme",
    "@request-target",
    "@path",
    "@query",
];

/// One RFC 9421 signature read from `Signature-Input` and `Signature`: what a
/// caller needs to fetch the key (`key_id`) and then to `verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rfc9421Signature {
    /// The signature's label (`sig1` in `sig1=(...)`).
    pub label: String,
    /// `keyid`: the key URL, usually `{actor}#main-key`.
    pub key_id: String,
    /// `alg`, when the signer named one.
    pub algorithm: Option<String>,
    /// Covered component names (`@method`, `content-digest`, …) in the
    /// signer's order.
    pub components: Vec<String>,
    /// `created`, seconds since the epoch.
    pub created: i64,
    /// `expires`, seconds since the epoch.
    pub expires: Option<i64>,
    /// `nonce`, if any (not checked: Mastodon keeps no nonce store either).
    pub nonce: Option<String>,
    /// `tag`, if any.
    pub tag: Option<String>,
    /// The signature bytes.
    pub signature: Vec<u8>,
    /// `@signature-params` value re-serialized canonically (RFC 8941 §4.1).
    params_canonical: String,
    /// `@signature-params` value exactly as the sender wrote it.
    params_raw: String,
}

// ---------------------------------------------------------------------------
// RFC 8941 structured fields: the subset of the grammar these headers use
// (dictionaries of items and inner lists with parameters), parsed strictly.

/// A bare item (RFC 8941 §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Bare {
    Integer(i64),
    /// A decimal, in thousandths (at most three fractional digits).
    Decimal(i64),
    String(String),
    Token(String),
    Bytes(Vec<u8>),
    Boolean(bool),
}

type Params = Vec<(String, Bare)>;

/// An item with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    value: Bare,
    params: Params,
}

/// A dictionary member's value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Member {
    Item(Item),
    InnerList(Vec<Item>, Params),
}

/// One dictionary member, with the text its value was parsed from.
#[derive(Debug, Clone)]
struct Entry {
    key: String,
    member: Member,
    raw: String,
}

fn malformed(what: &str, msg: &str) -> SignatureError {
    SignatureError::Malformed(format!("{what}: {msg}"))
}

/// A cursor over an ASCII header value. Every read goes through `get`.
struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn bump(&mut self) {
        self.pos = self.pos.saturating_add(1);
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn skip_sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.bump();
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.bump();
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    /// The text between `start` and the cursor (ASCII, so always valid).
    fn text_from(&self, start: usize) -> String {
        self.s
            .get(start..self.pos)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    }

    fn key(&mut self) -> Result<String, &'static str> {
        let start = self.pos;
        match self.peek() {
            Some(c) if c.is_ascii_lowercase() || c == b'*' => self.bump(),
            _ => return Err("expected a lowercase key"),
        }
        while let Some(c) = self.peek() {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-.*".contains(&c) {
                self.bump();
            } else {
                break;
            }
        }
        Ok(self.text_from(start))
    }

    fn params(&mut self) -> Result<Params, &'static str> {
        let mut params: Params = Vec::new();
        while self.eat(b';') {
            self.skip_sp();
            let key = self.key()?;
            let value = if self.eat(b'=') {
                self.bare()?
            } else {
                Bare::Boolean(true)
            };
            if params.iter().any(|(k, _)| *k == key) {
                return Err("a parameter appears twice");
            }
            if params.len() >= MAX_MEMBERS {
                return Err("too many parameters");
            }
            params.push((key, value));
        }
        Ok(params)
    }

    fn item(&mut self) -> Result<Item, &'static str> {
        let value = self.bare()?;
        let params = self.params()?;
        Ok(Item { value, params })
    }

    fn inner_list(&mut self) -> Result<Member, &'static str> {
        if !self.eat(b'(') {
            return Err("expected '('");
        }
        let mut items = Vec::new();
        loop {
            self.skip_sp();
            if self.eat(b')') {
                let params = self.params()?;
                return Ok(Member::InnerList(items, params));
            }
            if items.len() >= MAX_MEMBERS {
                return Err("too many items in a list");
            }
            items.push(self.item()?);
            match self.peek() {
                Some(b' ' | b')') => {}
                Some(_) => return Err("expected a space or ')' in a list"),
                None => return Err("unterminated list"),
            }
        }
    }

    fn bare(&mut self) -> Result<Bare, &'static str> {
        match self.peek() {
            Some(c) if c == b'-' || c.is_ascii_digit() => self.number(),
            Some(b'"') => self.string(),
            Some(b':') => self.bytes(),
            Some(b'?') => self.boolean(),
            Some(c) if c.is_ascii_alphabetic() || c == b'*' => Ok(self.token()),
            Some(_) => Err("unexpected character"),
            None => Err("a value is missing"),
        }
    }

    fn number(&mut self) -> Result<Bare, &'static str> {
        let negative = self.eat(b'-');
        let mut int: i64 = 0;
        let mut int_digits = 0usize;
        while let Some(c) = self.peek().filter(u8::is_ascii_digit) {
            int_digits += 1;
            if int_digits > 15 {
                return Err("number too long");
            }
            int = int * 10 + i64::from(c - b'0');
            self.bump();
        }
        if int_digits == 0 {
            return Err("expected a digit");
        }
        let sign = if negative { -1 } else { 1 };
        if !self.eat(b'.') {
            return Ok(Bare::Integer(sign * int));
        }
        if int_digits > 12 {
            return Err("decimal too long");
        }
        let mut frac: i64 = 0;
        let mut frac_digits = 0u32;
        while let Some(c) = self.peek().filter(u8::is_ascii_digit) {
            frac_digits += 1;
            if frac_digits > 3 {
                return Err("too many decimal places");
            }
            frac = frac * 10 + i64::from(c - b'0');
            self.bump();
        }
        if frac_digits == 0 {
            return Err("a decimal ends with '.'");
        }
        let scale = 10i64.pow(3 - frac_digits);
        Ok(Bare::Decimal(sign * (int * 1000 + frac * scale)))
    }

    fn string(&mut self) -> Result<Bare, &'static str> {
        if !self.eat(b'"') {
            return Err("expected '\"'");
        }
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err("unterminated string");
            };
            self.bump();
            match c {
                b'"' => return Ok(Bare::String(out)),
                b'\\' => match self.peek() {
                    Some(e @ (b'"' | b'\\')) => {
                        self.bump();
                        out.push(char::from(e));
                    }
                    _ => return Err("bad escape in a string"),
                },
                0x20..=0x7e => out.push(char::from(c)),
                _ => return Err("a string holds a control character"),
            }
        }
    }

    fn token(&mut self) -> Bare {
        let start = self.pos;
        // The first character was checked by `bare`.
        self.bump();
        while self
            .peek()
            .is_some_and(|c| is_tchar(c) || c == b':' || c == b'/')
        {
            self.bump();
        }
        Bare::Token(self.text_from(start))
    }

    fn bytes(&mut self) -> Result<Bare, &'static str> {
        if !self.eat(b':') {
            return Err("expected ':'");
        }
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || b"+/=".contains(&c))
        {
            self.bump();
        }
        let text = self.text_from(start);
        if !self.eat(b':') {
            return Err("unterminated byte sequence");
        }
        B64_LENIENT
            .decode(text.as_bytes())
            .map(Bare::Bytes)
            .map_err(|_| "a byte sequence is not base64")
    }

    fn boolean(&mut self) -> Result<Bare, &'static str> {
        if !self.eat(b'?') {
            return Err("expected '?'");
        }
        let value = match self.peek() {
            Some(b'1') => true,
            Some(b'0') => false,
            _ => return Err("a boolean is neither ?0 nor ?1"),
        };
        self.bump();
        Ok(Bare::Boolean(value))
    }
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// Parses an RFC 8941 dictionary. A key given twice is refused (RFC 8941
/// would keep the last; for signatures an ambiguity is safer refused).
fn parse_dictionary(value: &str, what: &str) -> Result<Vec<Entry>, SignatureError> {
    if value.len() > MAX_HEADER_LEN {
        return Err(malformed(what, "the header is too long"));
    }
    if !value.is_ascii() {
        return Err(malformed(what, "the header holds non-ASCII characters"));
    }
    let trimmed = value.trim_matches([' ', '\t']);
    let mut p = Parser {
        s: trimmed.as_bytes(),
        pos: 0,
    };
    let mut entries: Vec<Entry> = Vec::new();
    while !p.at_end() {
        let key = p.key().map_err(|m| malformed(what, m))?;
        let start = p.pos;
        let member = if p.eat(b'=') {
            let start = p.pos;
            let m = if p.peek() == Some(b'(') {
                p.inner_list()
            } else {
                p.item().map(Member::Item)
            };
            (m.map_err(|m| malformed(what, m))?, start)
        } else {
            let params = p.params().map_err(|m| malformed(what, m))?;
            (
                Member::Item(Item {
                    value: Bare::Boolean(true),
                    params,
                }),
                start,
            )
        };
        let (member, start) = member;
        let raw = p.text_from(start);
        if entries.iter().any(|e| e.key == key) {
            return Err(malformed(what, "a name appears twice"));
        }
        if entries.len() >= MAX_MEMBERS {
            return Err(malformed(what, "too many members"));
        }
        entries.push(Entry { key, member, raw });
        p.skip_ows();
        if p.at_end() {
            break;
        }
        if !p.eat(b',') {
            return Err(malformed(what, "expected a comma between members"));
        }
        p.skip_ows();
        if p.at_end() {
            return Err(malformed(what, "a trailing comma"));
        }
    }
    Ok(entries)
}

/// Serializes an sf-string, or `None` if `s` holds a character a string
/// cannot carry (RFC 8941 §4.1.6: printable ASCII only).
fn sf_string(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => return None,
        }
    }
    out.push('"');
    Some(out)
}

fn serialize_bare(b: &Bare, out: &mut String) {
    match b {
        Bare::Integer(i) => out.push_str(&i.to_string()),
        Bare::Decimal(milli) => {
            if *milli < 0 {
                out.push('-');
            }
            let abs = milli.unsigned_abs();
            out.push_str(&(abs / 1000).to_string());
            out.push('.');
            let frac = format!("{:03}", abs % 1000);
            let frac = frac.trim_end_matches('0');
            out.push_str(if frac.is_empty() { "0" } else { frac });
        }
        // Parsed strings hold printable ASCII only, so this always succeeds.
        Bare::String(s) => out.push_str(&sf_string(s).unwrap_or_default()),
        Bare::Token(t) => out.push_str(t),
        Bare::Bytes(b) => {
            out.push(':');
            out.push_str(&B64.encode(b));
            out.push(':');
        }
        Bare::Boolean(true) => out.push_str("?1"),
        Bare::Boolean(false) => out.push_str("?0"),
    }
}

fn serialize_params(params: &Params, out: &mut String) {
    for (k, v) in params {
        out.push(';');
        out.push_str(k);
        if *v != Bare::Boolean(true) {
            out.push('=');
            serialize_bare(v, out);
        }
    }
}

fn serialize_inner_list(items: &[Item], params: &Params) -> String {
    let mut out = String::from("(");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        serialize_bare(&item.value, &mut out);
        serialize_params(&item.params, &mut out);
    }
    out.push(')');
    serialize_params(params, &mut out);
    out
}

// ---------------------------------------------------------------------------
// Reading the two headers.

/// Whether a request carries an RFC 9421 signature (a `Signature-Input`
/// header), which is how Mastodon picks this scheme over draft-cavage.
pub fn is_rfc9421(headers: &[(String, String)]) -> bool {
    headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("signature-input"))
}

/// Every value of a header, trimmed and joined with `", "` (RFC 9421 §2.1,
/// also how HTTP combines repeated fields); `None` if absent.
fn combined_header(headers: &[(String, String)], name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim_matches([' ', '\t']))
        .collect();
    if values.is_empty() {
        None
    } else {
        Some(values.join(", "))
    }
}

/// Reads the signature of a request from its `Signature-Input` and
/// `Signature` headers (all their lines), so the caller can fetch the key
/// named by `key_id` before calling `verify`.
pub fn parse_headers(headers: &[(String, String)]) -> Result<Rfc9421Signature, SignatureError> {
    let input = combined_header(headers, "signature-input").ok_or(SignatureError::Missing)?;
    let signature = combined_header(headers, "signature").ok_or(SignatureError::Missing)?;
    parse(&input, &signature)
}

/// Parses `Signature-Input` and `Signature` values holding exactly one
/// signature, with the same label in both. Requires `keyid` and `created`
/// (as Mastodon does) and covered components this module can compute.
pub fn parse(signature_input: &str, signature: &str) -> Result<Rfc9421Signature, SignatureError> {
    let mut sig = parse_input(signature_input)?;
    let entries = parse_dictionary(signature, "Signature")?;
    let entry = match entries.as_slice() {
        [] => return Err(SignatureError::Missing),
        [one] => one,
        _ => {
            return Err(SignatureError::Malformed(
                "Signature holds several signatures; send exactly one".into(),
            ));
        }
    };
    if entry.key != sig.label {
        return Err(SignatureError::Malformed(format!(
            "Signature-Input names signature {:?} but Signature names {:?}",
            sig.label, entry.key
        )));
    }
    match &entry.member {
        Member::Item(Item {
            value: Bare::Bytes(b),
            ..
        }) if !b.is_empty() => sig.signature = b.clone(),
        _ => {
            return Err(SignatureError::Malformed(
                "Signature must be a byte sequence (label=:base64:)".into(),
            ));
        }
    }
    Ok(sig)
}

/// Parses a `Signature-Input` value (one signature); `signature` is left
/// empty.
fn parse_input(signature_input: &str) -> Result<Rfc9421Signature, SignatureError> {
    let what = "Signature-Input";
    let entries = parse_dictionary(signature_input, what)?;
    let entry = match entries.as_slice() {
        [] => return Err(malformed(what, "no signature is described")),
        [one] => one,
        _ => {
            return Err(malformed(
                what,
                "several signatures are described; send exactly one",
            ));
        }
    };
    let Member::InnerList(items, params) = &entry.member else {
        return Err(malformed(
            what,
            "expected a list of covered components, like sig1=(\"@method\" ...)",
        ));
    };
    let mut components: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let Bare::String(name) = &item.value else {
            return Err(malformed(what, "a covered component is not a quoted name"));
        };
        if !item.params.is_empty() {
            return Err(malformed(
                what,
                "component parameters (;sf, ;key, ;bs, ;req, ;tr, ;name) are not supported",
            ));
        }
        check_component_name(name)?;
        if components.contains(name) {
            return Err(malformed(what, "a component is covered twice"));
        }
        components.push(name.clone());
    }
    let mut key_id = None;
    let mut algorithm = None;
    let mut created = None;
    let mut expires = None;
    let mut nonce = None;
    let mut tag = None;
    for (k, v) in params {
        let bad = |name: &str, kind: &str| malformed(what, &format!("{name} must be {kind}"));
        match (k.as_str(), v) {
            ("keyid", Bare::String(s)) => key_id = Some(s.clone()),
            ("keyid", _) => return Err(bad("keyid", "a quoted string")),
            ("alg", Bare::String(s)) => algorithm = Some(s.clone()),
            ("alg", _) => return Err(bad("alg", "a quoted string")),
            ("created", Bare::Integer(i)) => created = Some(*i),
            ("created", _) => return Err(bad("created", "an integer")),
            ("expires", Bare::Integer(i)) => expires = Some(*i),
            ("expires", _) => return Err(bad("expires", "an integer")),
            ("nonce", Bare::String(s)) => nonce = Some(s.clone()),
            ("nonce", _) => return Err(bad("nonce", "a quoted string")),
            ("tag", Bare::String(s)) => tag = Some(s.clone()),
            ("tag", _) => return Err(bad("tag", "a quoted string")),
            // Other parameters are signed (they are in @signature-params)
            // but carry nothing this verifier uses.
            _ => {}
        }
    }
    let key_id = key_id
        .filter(|k| !k.is_empty())
        .ok_or_else(|| malformed(what, "the keyid parameter is required"))?;
    let created = created.ok_or_else(|| malformed(what, "the created parameter is required"))?;
    Ok(Rfc9421Signature {
        label: entry.key.clone(),
        key_id,
        algorithm,
        components,
        created,
        expires,
        nonce,
        tag,
        signature: Vec::new(),
        params_canonical: serialize_inner_list(items, params),
        params_raw: entry.raw.clone(),
    })
}

/// A covered component must be a derived component this module computes or
/// a lowercase field name.
fn check_component_name(name: &str) -> Result<(), SignatureError> {
    let what = "Signature-Input";
    if name.starts_with('@') {
        if DERIVED.contains(&name) {
            return Ok(());
        }
        return Err(SignatureError::Malformed(format!(
            "{what}: unsupported derived component {name:?} (supported: {})",
            DERIVED.join(", ")
        )));
    }
    if name.is_empty() || !name.bytes().all(|c| is_tchar(c) && !c.is_ascii_uppercase()) {
        return Err(malformed(
            what,
            "a covered header name is not a lowercase field name",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The signature base (RFC 9421 §2.5).

/// Scheme, authority (lowercase, default port dropped) and the rest of an
/// absolute http(s) URL.
fn split_url(url: &str) -> Option<(String, String, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end)?.to_ascii_lowercase();
    let tail = rest.get(end..)?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority
        .strip_suffix(default_port)
        .map(str::to_string)
        .unwrap_or(authority);
    Some((scheme, authority, tail))
}

/// The value of one covered component for this request.
fn component_value(
    name: &str,
    req: &RequestParts<'_>,
    target_uri: &str,
) -> Result<String, SignatureError> {
    let url_part = |pick: fn((String, String, &str)) -> String| {
        split_url(target_uri).map(pick).ok_or_else(|| {
            SignatureError::Malformed(format!("cannot derive {name} from the request URL"))
        })
    };
    let (path, query) = match req.path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (req.path_and_query, None),
    };
    let value = match name {
        "@method" => req.method.to_string(),
        "@target-uri" => target_uri.to_string(),
        "@authority" => url_part(|(_, a, _)| a)?,
        "@scheme" => url_part(|(s, _, _)| s)?,
        "@request-target" => req.path_and_query.to_string(),
        "@path" => {
            if path.is_empty() {
                "/".to_string()
            } else {
                path.to_string()
            }
        }
        "@query" => format!("?{}", query.unwrap_or("")),
        _ if name.starts_with('@') => {
            return Err(SignatureError::Malformed(format!(
                "unsupported derived component {name:?}"
            )));
        }
        _ => combined_header(req.headers, name)
            .ok_or_else(|| SignatureError::MissingHeader(name.to_string()))?,
    };
    if value.contains(['\r', '\n']) {
        return Err(SignatureError::Malformed(format!(
            "the value of {name} contains a line break"
        )));
    }
    Ok(value)
}

/// The component lines of the base (without `@signature-params`), each
/// ending in `\n`.
fn component_lines(
    sig: &Rfc9421Signature,
    req: &RequestParts<'_>,
    target_uri: &str,
) -> Result<String, SignatureError> {
    let mut out = String::new();
    for name in &sig.components {
        let value = component_value(name, req, target_uri)?;
        // Names were checked to be `@`-names or tchars: always serializable.
        out.push_str(&sf_string(name).unwrap_or_default());
        out.push_str(": ");
        out.push_str(&value);
        out.push('\n');
    }
    Ok(out)
}

/// The signature base RFC 9421 §2.5 builds for this signature and request:
/// one `"name": value` line per covered component, then
/// `"@signature-params": ...` (re-serialized canonically). `target_uri` is
/// the full URL the request was sent to (the server's public base URL plus
/// the path and query it received).
pub fn signature_base(
    sig: &Rfc9421Signature,
    req: &RequestParts<'_>,
    target_uri: &str,
) -> Result<String, SignatureError> {
    let mut base = component_lines(sig, req, target_uri)?;
    base.push_str("\"@signature-params\": ");
    base.push_str(&sig.params_canonical);
    Ok(base)
}

// ---------------------------------------------------------------------------
// Policy checks.

/// Checks that the signature is recent, as Mastodon's `matches_time_window?`
/// does: `created` at most an hour ahead, and now at most an hour past the
/// expiry (`expires`, else `created` + 5 min, never beyond `created` + 12 h).
pub fn check_time(sig: &Rfc9421Signature, now: Timestamp) -> Result<(), SignatureError> {
    let created = Timestamp::from_second(sig.created)
        .map_err(|_| SignatureError::Malformed("created is out of range".into()))?;
    let stated = match sig.expires {
        Some(e) => Timestamp::from_second(e)
            .map_err(|_| SignatureError::Malformed("expires is out of range".into()))?,
        None => created.saturating_add(DEFAULT_EXPIRY).unwrap_or(created),
    };
    let expires = stated.min(created.saturating_add(MAX_EXPIRY).unwrap_or(created));
    if created > now.saturating_add(CLOCK_SKEW).unwrap_or(now) {
        return Err(SignatureError::InFuture(created.to_string()));
    }
    if now > expires.saturating_add(CLOCK_SKEW).unwrap_or(expires) {
        return Err(SignatureError::Expired(created.to_string()));
    }
    Ok(())
}

/// Checks which components a signature must cover (Mastodon's
/// `verify_signature_strength!`): `@method` and `@target-uri` always,
/// `content-digest` on POST.
pub fn check_coverage(sig: &Rfc9421Signature, method: &str) -> Result<(), SignatureError> {
    let has = |c: &str| sig.components.iter().any(|x| x == c);
    if !has("@method") {
        return Err(SignatureError::NotCovered("@method"));
    }
    if !has("@target-uri") {
        return Err(SignatureError::NotCovered("@target-uri"));
    }
    if method.eq_ignore_ascii_case("post") && !has("content-digest") {
        return Err(SignatureError::NotCovered("content-digest"));
    }
    Ok(())
}

/// `sha-256=:<base64>:` of a body, for the `Content-Digest` header
/// (RFC 9530).
pub fn content_digest_header(body: &[u8]) -> String {
    format!("sha-256=:{}:", B64.encode(Sha256::digest(body)))
}

/// Checks a `Content-Digest` header against the body: its `sha-256` value
/// if present, else its `sha-512` value; other algorithms are ignored.
pub fn verify_content_digest(header: &str, body: &[u8]) -> Result<(), SignatureError> {
    let entries = parse_dictionary(header, "Content-Digest")?;
    let find = |alg: &str| {
        entries
            .iter()
            .find(|e| e.key == alg)
            .map(|e| match &e.member {
                Member::Item(Item {
                    value: Bare::Bytes(b),
                    ..
                }) => Ok(b.as_slice()),
                _ => Err(SignatureError::Malformed(format!(
                    "Content-Digest: {alg} must be a byte sequence ({alg}=:base64:)"
                ))),
            })
    };
    let matches = if let Some(given) = find("sha-256") {
        given? == Sha256::digest(body).as_slice()
    } else if let Some(given) = find("sha-512") {
        given? == Sha512::digest(body).as_slice()
    } else {
        return Err(SignatureError::Malformed(
            "Content-Digest has no sha-256 or sha-512 value".into(),
        ));
    };
    if matches {
        Ok(())
    } else {
        Err(SignatureError::DigestMismatch)
    }
}

/// Every check that needs no key: algorithm, time window, coverage and body
/// digest, in Mastodon's order. Run it before fetching a key so junk costs
/// no fetch (`verify` runs it again).
pub fn check_before_key(
    sig: &Rfc9421Signature,
    req: &RequestParts<'_>,
    body: &[u8],
    now: Timestamp,
) -> Result<(), SignatureError> {
    if let Some(alg) = &sig.algorithm
        && alg != ALGORITHM
    {
        return Err(SignatureError::UnsupportedAlgorithm(alg.clone()));
    }
    check_time(sig, now)?;
    check_coverage(sig, req.method)?;
    if sig.components.iter().any(|c| c == "content-digest") {
        let header = combined_header(req.headers, "content-digest")
            .ok_or_else(|| SignatureError::MissingHeader("content-digest".into()))?;
        verify_content_digest(&header, body)?;
    }
    Ok(())
}

/// Verifies a request: `check_before_key`, then the RSA signature over the
/// signature base. The caller finds `key` from `sig.key_id` (and checks its
/// owner), and passes `target_uri`, the full URL the request was sent to
/// (its public base URL plus `req.path_and_query`), for `@target-uri`.
pub fn verify(
    sig: &Rfc9421Signature,
    req: &RequestParts<'_>,
    target_uri: &str,
    body: &[u8],
    key: &PublicKey,
    now: Timestamp,
) -> Result<(), SignatureError> {
    check_before_key(sig, req, body, now)?;
    let lines = component_lines(sig, req, target_uri)?;
    // The base ends with the signature parameters as the signer serialized
    // them. Signers emit the canonical form (RFC 8941 §4.1), and verifiers
    // (Fedify, Linzer in Mastodon) re-serialize, so that comes first; the
    // text exactly as received is the fallback for a signer that wrote, and
    // signed, a non-canonical but equivalent form (say `; created=1`).
    let mut candidates = vec![sig.params_canonical.as_str()];
    if sig.params_raw != sig.params_canonical {
        candidates.push(sig.params_raw.as_str());
    }
    for params in candidates {
        let base = format!("{lines}\"@signature-params\": {params}");
        if key.verify(base.as_bytes(), &sig.signature) {
            return Ok(());
        }
    }
    Err(SignatureError::BadSignature(sig.key_id.clone()))
}

/// Headers to add to an outgoing request: `Date`, `Content-Digest` (for a
/// body), `Signature-Input` and `Signature`, covering `@method`,
/// `@target-uri`, `@authority` and `content-digest`, with `created`, `keyid`
/// and `alg="rsa-v1_5-sha256"`. The HTTP client adds `Host`.
pub fn sign(
    key: &SigningKey,
    key_id: &str,
    method: &str,
    url: &str,
    body: Option<&[u8]>,
    now: Timestamp,
) -> Result<Vec<(String, String)>, SignatureError> {
    let (_, _, tail) = split_url(url)
        .ok_or_else(|| SignatureError::Malformed(format!("not an http(s) URL: {url}")))?;
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err(SignatureError::Malformed(format!(
            "not an HTTP method: {method:?}"
        )));
    }
    let key_id_sf = sf_string(key_id)
        .ok_or_else(|| SignatureError::Malformed("the key id must be printable ASCII".into()))?;
    let path_and_query = tail.split('#').next().unwrap_or("");
    let path_and_query = if path_and_query.is_empty() {
        "/"
    } else {
        path_and_query
    };
    let mut headers = vec![("Date".to_string(), http_date(now))];
    let mut components = vec!["\"@method\"", "\"@target-uri\"", "\"@authority\""];
    if let Some(b) = body {
        headers.push(("Content-Digest".to_string(), content_digest_header(b)));
        components.push("\"content-digest\"");
    }
    let input = format!(
        "{LABEL}=({});created={};keyid={key_id_sf};alg=\"{ALGORITHM}\"",
        components.join(" "),
        now.as_second()
    );
    // Read back what was written, so signing and verifying share one path.
    let sig = parse_input(&input)?;
    let req = RequestParts {
        method,
        path_and_query,
        headers: &headers,
    };
    let base = signature_base(&sig, &req, url)?;
    let signature = key.sign(base.as_bytes());
    headers.push(("Signature-Input".to_string(), input));
    headers.push((
        "Signature".to_string(),
        format!("{LABEL}=:{}:", B64.encode(signature)),
    ));
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    const URL: &str = "https://b.example/inbox";
    const KEY_ID: &str = "https://a.example/actor#main-key";

    use crate::signatures::keys::testing::pair;

    fn now() -> Timestamp {
        "2026-11-26T12:00:00Z".parse().expect("time")
    }

    fn signed(key: &SigningKey, body: &[u8]) -> Vec<(String, String)> {
        sign(key, KEY_ID, "POST", URL, Some(body), now()).expect("sign")
    }

    fn header<'a>(h: &'a [(String, String)], name: &str) -> &'a str {
        h.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    fn set(h: &mut [(String, String)], name: &str, value: &str) {
        for (n, v) in h.iter_mut() {
            if n.eq_ignore_ascii_case(name) {
                *v = value.to_string();
            }
        }
    }

    /// Parses and verifies a POST to /inbox.
    fn check_req(
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: &[u8],
        key: &PublicKey,
        at: Timestamp,
    ) -> Result<(), SignatureError> {
        let sig = parse_headers(headers)?;
        let req = RequestParts {
            method,
            path_and_query: path,
            headers,
        };
        verify(
            &sig,
            &req,
            &format!("https://b.example{path}"),
            body,
            key,
            at,
        )
    }

    fn check(
        headers: &[(String, String)],
        body: &[u8],
        key: &PublicKey,
        at: Timestamp,
    ) -> Result<(), SignatureError> {
        check_req("POST", "/inbox", headers, body, key, at)
    }

    /// Signs `input` (a Signature-Input value) over a POST to /inbox, the
    /// way a third-party signer would, and returns the full header set.
    fn signed_with_input(
        key: &SigningKey,
        input: &str,
        body: &[u8],
        extra: &[(&str, &str)],
    ) -> Vec<(String, String)> {
        let mut h = vec![
            ("Host".to_string(), "b.example".to_string()),
            ("Content-Digest".to_string(), content_digest_header(body)),
        ];
        for (n, v) in extra {
            h.push((n.to_string(), v.to_string()));
        }
        let sig = parse_input(input).expect("input parses");
        let req = RequestParts {
            method: "POST",
            path_and_query: "/inbox",
            headers: &h,
        };
        // Sign the raw text, as a signer that serializes it once would.
        let base = format!(
            "{}\"@signature-params\": {}",
            component_lines(&sig, &req, URL).expect("lines"),
            sig.params_raw
        );
        let s = B64.encode(key.sign(base.as_bytes()));
        h.push(("Signature-Input".to_string(), input.to_string()));
        h.push(("Signature".to_string(), format!("{}=:{s}:", sig.label)));
        h
    }

    #[test]
    fn round_trip_and_every_tampering_is_caught() {
        let (sk, pk) = pair();
        let body = br#"{"type":"Follow"}"#;
        let h = signed(&sk, body);
        assert!(is_rfc9421(&h));
        assert_eq!(check(&h, body, &pk, now()), Ok(()));
        let sig = parse_headers(&h).expect("parse");
        assert_eq!(sig.key_id, KEY_ID);
        assert_eq!(sig.label, "sig1");
        assert_eq!(sig.algorithm.as_deref(), Some(ALGORITHM));
        assert_eq!(
            sig.components,
            ["@method", "@target-uri", "@authority", "content-digest"]
        );
        assert_eq!(sig.created, now().as_second());
        assert_eq!(sig.signature.len(), 256);

        // Tampered body.
        assert_eq!(
            check(&h, b"{}", &pk, now()),
            Err(SignatureError::DigestMismatch)
        );
        // Digest recomputed over a tampered body: the signature breaks.
        let mut h2 = h.clone();
        set(&mut h2, "content-digest", &content_digest_header(b"{}"));
        assert!(matches!(
            check(&h2, b"{}", &pk, now()),
            Err(SignatureError::BadSignature(_))
        ));
        // Another method (still POST-like, so content-digest stays required).
        assert!(matches!(
            check_req("PUT", "/inbox", &h, body, &pk, now()),
            Err(SignatureError::BadSignature(_))
        ));
        // Another path: @target-uri differs.
        assert!(matches!(
            check_req("POST", "/other-inbox", &h, body, &pk, now()),
            Err(SignatureError::BadSignature(_))
        ));
        // Another host.
        let sig = parse_headers(&h).expect("parse");
        let req = RequestParts {
            method: "POST",
            path_and_query: "/inbox",
            headers: &h,
        };
        assert!(matches!(
            verify(&sig, &req, "https://c.example/inbox", body, &pk, now()),
            Err(SignatureError::BadSignature(_))
        ));
        // The key-free checks pass a good request and stop a bad body.
        assert_eq!(check_before_key(&sig, &req, body, now()), Ok(()));
        assert_eq!(
            check_before_key(&sig, &req, b"{}", now()),
            Err(SignatureError::DigestMismatch)
        );
        // Wrong key.
        let (_, other) = pair();
        assert!(matches!(
            check(&h, body, &other, now()),
            Err(SignatureError::BadSignature(_))
        ));
        // A flipped signature bit.
        let mut h3 = h.clone();
        let mut bytes = parse_headers(&h).expect("parse").signature;
        if let Some(b) = bytes.first_mut() {
            *b ^= 1;
        }
        set(
            &mut h3,
            "signature",
            &format!("sig1=:{}:", B64.encode(&bytes)),
        );
        assert!(matches!(
            check(&h3, body, &pk, now()),
            Err(SignatureError::BadSignature(_))
        ));
        // A changed parameter (created one second later).
        let mut h4 = h.clone();
        let input = header(&h, "signature-input").replace(
            &format!("created={}", now().as_second()),
            &format!("created={}", now().as_second() + 1),
        );
        set(&mut h4, "signature-input", &input);
        assert!(matches!(
            check(&h4, body, &pk, now()),
            Err(SignatureError::BadSignature(_))
        ));
    }

    #[test]
    fn the_time_window_is_mastodons() {
        let (sk, pk) = pair();
        let body = b"{}";
        let h = signed(&sk, body);
        // 5 min lifetime + 1 h skew.
        let ok = now() + SignedDuration::from_mins(65);
        assert_eq!(check(&h, body, &pk, ok), Ok(()));
        assert!(matches!(
            check(&h, body, &pk, ok + SignedDuration::from_secs(1)),
            Err(SignatureError::Expired(_))
        ));
        assert!(matches!(
            check(&h, body, &pk, now() + SignedDuration::from_hours(2)),
            Err(SignatureError::Expired(_))
        ));
        // Created an hour and a half ahead.
        assert!(matches!(
            check(&h, body, &pk, now() - SignedDuration::from_mins(90)),
            Err(SignatureError::InFuture(_))
        ));
        assert_eq!(
            check(&h, body, &pk, now() - SignedDuration::from_mins(59)),
            Ok(())
        );

        // `expires` extends the lifetime, but never past 12 h.
        let c = now().as_second();
        let in_a_day = format!(
            "sig1=(\"@method\" \"@target-uri\" \"content-digest\");created={c};expires={};keyid=\"k\"",
            c + 86_400
        );
        let h = signed_with_input(&sk, &in_a_day, body, &[]);
        let at = |mins| now() + SignedDuration::from_mins(mins);
        assert_eq!(check(&h, body, &pk, at(12 * 60 + 60)), Ok(()));
        assert!(matches!(
            check(&h, body, &pk, at(12 * 60 + 61)),
            Err(SignatureError::Expired(_))
        ));
        // A short `expires` shortens it.
        let short = format!(
            "sig1=(\"@method\" \"@target-uri\" \"content-digest\");created={c};expires={};keyid=\"k\"",
            c + 60
        );
        let h = signed_with_input(&sk, &short, body, &[]);
        assert_eq!(check(&h, body, &pk, at(61)), Ok(()));
        assert!(matches!(
            check(&h, body, &pk, at(62)),
            Err(SignatureError::Expired(_))
        ));
        // Out-of-range times are refused, not panicked on.
        for bad in ["created=999999999999999", "created=-999999999999999"] {
            let input = format!("sig1=(\"@method\" \"@target-uri\");{bad};keyid=\"k\"");
            let sig = parse_input(&input).expect("parses");
            assert!(check_time(&sig, now()).is_err(), "{bad}");
        }
    }

    #[test]
    fn required_parameters_and_components() {
        let (sk, pk) = pair();
        let body = b"{}";
        let c = now().as_second();
        let all = "\"@method\" \"@target-uri\" \"content-digest\"";
        // Baseline: a minimal Mastodon-acceptable signature, without alg.
        let good = format!("sig1=({all});created={c};keyid=\"k\"");
        let h = signed_with_input(&sk, &good, body, &[]);
        assert_eq!(check(&h, body, &pk, now()), Ok(()));

        let refused = |input: &str| {
            let h = signed_with_input(&sk, input, body, &[]);
            check(&h, body, &pk, now())
        };
        let parse_fails = |input: &str, needle: &str| match parse(input, "sig1=:AAAA:") {
            Err(SignatureError::Malformed(m)) => {
                assert!(m.contains(needle), "{input}: {m} (wanted {needle})")
            }
            other => panic!("{input}: {other:?}"),
        };
        parse_fails(&format!("sig1=({all});keyid=\"k\""), "created");
        parse_fails(&format!("sig1=({all});created={c}"), "keyid");
        parse_fails(&format!("sig1=({all});created={c};keyid=\"\""), "keyid");
        parse_fails(
            &format!("sig1=({all});created=\"{c}\";keyid=\"k\""),
            "created",
        );
        parse_fails(&format!("sig1=({all});created={c};keyid=k"), "keyid");
        parse_fails(
            &format!("sig1=({all});created={c}.5;keyid=\"k\""),
            "created",
        );

        assert_eq!(
            refused(&format!(
                "sig1=(\"@target-uri\" \"content-digest\");created={c};keyid=\"k\""
            )),
            Err(SignatureError::NotCovered("@method"))
        );
        assert_eq!(
            refused(&format!(
                "sig1=(\"@method\" \"content-digest\");created={c};keyid=\"k\""
            )),
            Err(SignatureError::NotCovered("@target-uri"))
        );
        // @path + @authority is not enough for Mastodon either.
        assert_eq!(
            refused(&format!(
                "sig1=(\"@method\" \"@path\" \"@authority\" \"content-digest\");created={c};keyid=\"k\""
            )),
            Err(SignatureError::NotCovered("@target-uri"))
        );
        assert_eq!(
            refused(&format!(
                "sig1=(\"@method\" \"@target-uri\");created={c};keyid=\"k\""
            )),
            Err(SignatureError::NotCovered("content-digest"))
        );
        // A GET needs no digest.
        let get = format!("sig1=(\"@method\" \"@target-uri\");created={c};keyid=\"k\"");
        let mut h = signed_with_input(&sk, &get, b"", &[]);
        h.retain(|(n, _)| n != "Content-Digest");
        let sig = parse_headers(&h).expect("parse");
        let req = RequestParts {
            method: "GET",
            path_and_query: "/inbox",
            headers: &h,
        };
        // Signed as POST by the helper: coverage passes, the RSA check fails.
        assert!(matches!(
            verify(&sig, &req, URL, b"", &pk, now()),
            Err(SignatureError::BadSignature(_))
        ));
        assert_eq!(check_coverage(&sig, "GET"), Ok(()));

        // Another algorithm.
        assert_eq!(
            refused(&format!(
                "sig1=({all});created={c};keyid=\"k\";alg=\"rsa-pss-sha512\""
            )),
            Err(SignatureError::UnsupportedAlgorithm(
                "rsa-pss-sha512".into()
            ))
        );
        // A covered header that is absent.
        assert_eq!(
            {
                let input = format!("sig1=({all} \"content-type\");created={c};keyid=\"k\"");
                let mut h = signed_with_input(&sk, &input, body, &[("Content-Type", "a/b")]);
                h.retain(|(n, _)| n != "Content-Type");
                check(&h, body, &pk, now())
            },
            Err(SignatureError::MissingHeader("content-type".into()))
        );
        // Content-Digest covered but absent.
        let mut h = signed_with_input(&sk, &good, body, &[]);
        h.retain(|(n, _)| n != "Content-Digest");
        assert_eq!(
            check(&h, body, &pk, now()),
            Err(SignatureError::MissingHeader("content-digest".into()))
        );
    }

    #[test]
    fn exactly_one_signature_with_matching_labels() {
        let (sk, pk) = pair();
        let body = b"{}";
        let h = signed(&sk, body);
        let input = header(&h, "signature-input").to_string();
        let sig = header(&h, "signature").to_string();
        let second_input = input.replacen("sig1=", "sig2=", 1);
        let second_sig = sig.replacen("sig1=", "sig2=", 1);

        let is_malformed = |r: Result<Rfc9421Signature, SignatureError>, needle: &str| match r {
            Err(SignatureError::Malformed(m)) => assert!(m.contains(needle), "{m}"),
            other => panic!("{other:?}"),
        };
        // Two signatures in one header, or in two header lines.
        is_malformed(
            parse(&format!("{input}, {second_input}"), &sig),
            "several signatures",
        );
        is_malformed(
            parse(&input, &format!("{sig}, {second_sig}")),
            "several signatures",
        );
        let mut two_lines = h.clone();
        two_lines.push(("Signature-Input".into(), second_input.clone()));
        two_lines.push(("Signature".into(), second_sig.clone()));
        is_malformed(parse_headers(&two_lines), "several signatures");
        // The same label twice.
        is_malformed(parse(&format!("{input}, {input}"), &sig), "twice");
        // Labels that do not match.
        is_malformed(parse(&input, &second_sig), "names signature");
        is_malformed(parse(&second_input, &sig), "names signature");
        // Any label is fine when both agree.
        let renamed = parse(&second_input, &second_sig).expect("parse");
        assert_eq!(renamed.label, "sig2");
        // (The label is not part of the signature base.)
        let req = RequestParts {
            method: "POST",
            path_and_query: "/inbox",
            headers: &h,
        };
        assert_eq!(verify(&renamed, &req, URL, body, &pk, now()), Ok(()));
        // Missing headers.
        let mut no_sig = h.clone();
        no_sig.retain(|(n, _)| n != "Signature");
        assert_eq!(parse_headers(&no_sig), Err(SignatureError::Missing));
        assert!(!is_rfc9421(&[("Signature".into(), "keyId=\"x\"".into())]));
    }

    #[test]
    fn derived_components_and_fields_follow_rfc_9421() {
        let (sk, pk) = pair();
        let body = b"{}";
        let c = now().as_second();
        let input = format!(
            "sig1=(\"@method\" \"@target-uri\" \"@authority\" \"@scheme\" \"@request-target\" \"@path\" \"@query\" \"content-digest\" \"x-multi\" \"x-empty\");created={c};keyid=\"k\""
        );
        let extra = [
            ("X-Multi", "  one  "),
            ("x-multi", "two, three\t"),
            ("X-Empty", ""),
        ];
        let mut h = signed_with_input(&sk, &input, body, &extra);
        let sig = parse_headers(&h).expect("parse");
        let req = RequestParts {
            method: "POST",
            path_and_query: "/inbox",
            headers: &h,
        };
        let base = signature_base(&sig, &req, URL).expect("base");
        let digest = content_digest_header(body);
        assert_eq!(
            base,
            format!(
                "\"@method\": POST\n\
                 \"@target-uri\": https://b.example/inbox\n\
                 \"@authority\": b.example\n\
                 \"@scheme\": https\n\
                 \"@request-target\": /inbox\n\
                 \"@path\": /inbox\n\
                 \"@query\": ?\n\
                 \"content-digest\": {digest}\n\
                 \"x-multi\": one, two, three\n\
                 \"x-empty\": \n\
                 \"@signature-params\": (\"@method\" \"@target-uri\" \"@authority\" \"@scheme\" \"@request-target\" \"@path\" \"@query\" \"content-digest\" \"x-multi\" \"x-empty\");created={c};keyid=\"k\""
            )
        );
        assert_eq!(check(&h, body, &pk, now()), Ok(()));
        // The order of lines of one field matters; across fields it does not.
        h.swap(2, 3);
        assert!(matches!(
            check(&h, body, &pk, now()),
            Err(SignatureError::BadSignature(_))
        ));

        // @authority drops the default port and lowercases.
        let req = RequestParts {
            method: "GET",
            path_and_query: "/a/b?x=1&y=%20",
            headers: &[],
        };
        let s = parse_input(
            "s=(\"@authority\" \"@scheme\" \"@path\" \"@query\" \"@request-target\");created=1;keyid=\"k\"",
        )
        .expect("parse");
        let base = signature_base(&s, &req, "HTTPS://Example.COM:443/a/b?x=1&y=%20").expect("b");
        assert!(
            base.starts_with(
                "\"@authority\": example.com\n\"@scheme\": https\n\"@path\": /a/b\n\"@query\": ?x=1&y=%20\n\"@request-target\": /a/b?x=1&y=%20\n"
            ),
            "{base}"
        );
        let base = signature_base(&s, &req, "http://example.com:8080/a").expect("b");
        assert!(
            base.starts_with("\"@authority\": example.com:8080\n"),
            "{base}"
        );

        // Refused components.
        for bad in [
            "\"@status\"",
            "\"@query-param\";name=\"x\"",
            "\"@signature-params\"",
            "\"Content-Type\"",
            "\"content-type\";sf",
            "\"content-type\";bs",
            "\"\"",
            "\"a b\"",
            "\"@method\" \"@method\"",
            "token",
            "1",
        ] {
            let input = format!("sig1=({bad});created=1;keyid=\"k\"");
            assert!(
                matches!(parse_input(&input), Err(SignatureError::Malformed(_))),
                "{bad} should be refused"
            );
        }
        // A header value with a line break is refused, never put in the base.
        let h = vec![("x-a".to_string(), "1\n\"@method\": GET".to_string())];
        let req = RequestParts {
            method: "POST",
            path_and_query: "/",
            headers: &h,
        };
        let s = parse_input("s=(\"x-a\");created=1;keyid=\"k\"").expect("parse");
        assert!(matches!(
            signature_base(&s, &req, URL),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn signature_params_canonical_and_as_sent() {
        let (sk, pk) = pair();
        let body = b"{}";
        let c = now().as_second();
        // Non-canonical spacing and number forms a sender might write (and
        // sign): accepted through the as-received fallback.
        for input in [
            format!(
                "sig1=( \"@method\"  \"@target-uri\" \"content-digest\" );created={c}; keyid=\"k\""
            ),
            format!(
                "sig1=(\"@method\" \"@target-uri\" \"content-digest\");created=000{c};keyid=\"k\""
            ),
            format!(
                "sig1=(\"@method\" \"@target-uri\" \"content-digest\");created={c};keyid=\"k\";x=1.50;y;z=?1;w=tok/en:1;v=:AQ:"
            ),
        ] {
            let h = signed_with_input(&sk, &input, body, &[]);
            assert_eq!(check(&h, body, &pk, now()), Ok(()), "{input}");
        }
        // And when the sender signed the canonical form of those.
        let sig = parse_input(&format!(
            "sig1=( \"@method\"  \"@target-uri\");created=00{c}; keyid=\"k\\\\\\\"\";x=1.50;y=?1;z=-0.0;v=:AQ:"
        ))
        .expect("parse");
        assert_eq!(
            sig.params_canonical,
            format!(
                "(\"@method\" \"@target-uri\");created={c};keyid=\"k\\\\\\\"\";x=1.5;y;z=0.0;v=:AQ==:"
            )
        );
        assert_eq!(sig.key_id, "k\\\"");
        let canonical = format!("sig1={}", sig.params_canonical);
        let reparsed = parse_input(&canonical).expect("reparse");
        assert_eq!(reparsed.params_canonical, reparsed.params_raw);
    }

    /// RFC 9421 Appendix B.2.6 (the test request, covering date, @method,
    /// @path, @authority, content-type and content-length) and B.2.1 (no
    /// components, a nonce): their signature bases, byte for byte. Their
    /// algorithms (ed25519, rsa-pss-sha512) are not ours, so only the base
    /// is checked; the Content-Digest of the test request is checked too.
    #[test]
    fn rfc_9421_appendix_b_signature_bases() {
        let body = br#"{"hello": "world"}"#;
        let h: Vec<(String, String)> = [
            ("Host", "example.com"),
            ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"),
            ("Content-Type", "application/json"),
            (
                "Content-Digest",
                "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
            ),
            ("Content-Length", "18"),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
        let req = RequestParts {
            method: "POST",
            path_and_query: "/foo?param=Value&Pet=dog",
            headers: &h,
        };
        let target = "https://example.com/foo?param=Value&Pet=dog";
        let sig = parse(
            "sig-b26=(\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\"",
            "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:",
        )
        .expect("B.2.6 parses");
        assert_eq!(sig.signature.len(), 64);
        assert_eq!(
            signature_base(&sig, &req, target).expect("base"),
            "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\
             \"@method\": POST\n\
             \"@path\": /foo\n\
             \"@authority\": example.com\n\
             \"content-type\": application/json\n\
             \"content-length\": 18\n\
             \"@signature-params\": (\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\""
        );
        let sig = parse(
            "sig-b21=();created=1618884473;keyid=\"test-key-rsa-pss\";nonce=\"b3k2pp5k7z-50gnwp.yemd\"",
            "sig-b21=:AAAA:",
        )
        .expect("B.2.1 parses");
        assert_eq!(sig.nonce.as_deref(), Some("b3k2pp5k7z-50gnwp.yemd"));
        assert_eq!(
            signature_base(&sig, &req, target).expect("base"),
            "\"@signature-params\": ();created=1618884473;keyid=\"test-key-rsa-pss\";nonce=\"b3k2pp5k7z-50gnwp.yemd\""
        );
        // RFC 9530 / RFC 9421 digests of the same body.
        assert_eq!(
            verify_content_digest(header(&h, "content-digest"), body),
            Ok(())
        );
        assert_eq!(
            content_digest_header(body),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
    }

    #[test]
    fn content_digest_rules() {
        let body = br#"{"hello": "world"}"#;
        let sha256 = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
        let sha512 = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";
        let wrong256 = content_digest_header(b"other");
        assert_eq!(verify_content_digest(sha256, body), Ok(()));
        assert_eq!(verify_content_digest(sha512, body), Ok(()));
        assert_eq!(
            verify_content_digest(&format!("{sha512}, {sha256}"), body),
            Ok(())
        );
        // Unpadded base64 is read too (RFC 8941 §4.2.7).
        assert_eq!(
            verify_content_digest(
                "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE:",
                body
            ),
            Ok(())
        );
        // sha-256 decides when present, even beside a good sha-512.
        assert_eq!(
            verify_content_digest(&format!("{sha512}, {wrong256}"), body),
            Err(SignatureError::DigestMismatch)
        );
        assert_eq!(
            verify_content_digest(&wrong256, body),
            Err(SignatureError::DigestMismatch)
        );
        assert_eq!(
            verify_content_digest("sha-256=:AAAA:", body),
            Err(SignatureError::DigestMismatch)
        );
        assert_eq!(
            verify_content_digest("sha-512=:AAAA:", body),
            Err(SignatureError::DigestMismatch)
        );
        for bad in [
            "",
            "md5=:AAAA:",
            "sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
            "sha-256=\"X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\"",
            "SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:,",
            "sha-256=:%%%%:",
        ] {
            assert!(
                matches!(
                    verify_content_digest(bad, body),
                    Err(SignatureError::Malformed(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn structured_field_parser_edges() {
        let ok = |s: &str| parse_dictionary(s, "t").is_ok();
        assert!(ok(""));
        assert!(ok("a=1, b=2;x, c=(1 2);p=?0,d"));
        assert!(ok("a=-999999999999999"));
        assert!(ok("a=999999999999.999"));
        assert!(ok("a=\"\\\\\\\"\""));
        assert!(ok("a=*tok:/x"));
        assert!(ok("a=()"));
        assert!(ok("a=( )"));
        for bad in [
            "a=1,",
            "a=1,,b=2",
            "A=1",
            "1a=1",
            "a=1 b=2",
            "a=1;",
            "a=1;B=2",
            "a=9999999999999999",
            "a=1234567890123.1",
            "a=1.",
            "a=1.1234",
            "a=-",
            "a=-a",
            "a=\"unterminated",
            "a=\"bad \\n escape\"",
            "a=\"tab\there\"",
            "a=:abc",
            "a=:@@@@:",
            "a=?2",
            "a=?",
            "a=(1 2",
            "a=(1(2))",
            "a=(1;)",
            "a=)",
            "a=é",
            "a=1, a=2",
            "a=1;p=1;p=2",
            "a=@1",
            "a=%\"display\"",
        ] {
            assert!(!ok(bad), "{bad:?} should not parse");
        }
        let long = format!("a=\"{}\"", "x".repeat(MAX_HEADER_LEN));
        assert!(!ok(&long));
        let many = (0..=MAX_MEMBERS)
            .map(|i| format!("k{i}=1"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(!ok(&many));
        let many_items = format!("a=({})", vec!["1"; MAX_MEMBERS + 1].join(" "));
        assert!(!ok(&many_items));
    }

    /// Deterministic xorshift, so the fuzz loops below are reproducible.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
        }
    }

    /// Mangled variants of `s`: every truncation, every byte deleted, every
    /// byte replaced by each of a set of characters that matter to the
    /// grammar (and a few that do not belong).
    fn mangled(s: &str) -> Vec<String> {
        let b = s.as_bytes();
        let specials: &[&[u8]] = &[
            b"\"",
            b"(",
            b")",
            b";",
            b"=",
            b",",
            b" ",
            b"\t",
            b":",
            b"\\",
            b"-",
            b"9",
            b"?",
            b"*",
            b"@",
            b"A",
            b"\x7f",
            b"\x00",
            b"\n",
            "é".as_bytes(),
            b"((",
            b"::",
        ];
        let mut out = Vec::new();
        for i in 0..=b.len() {
            out.push(b.get(..i).unwrap_or_default().to_vec());
            let head = b.get(..i).unwrap_or_default();
            let tail = b.get(i + 1..).unwrap_or_default();
            out.push([head, tail].concat());
            for sp in specials {
                out.push([head, sp, tail].concat());
                out.push([head, sp, b.get(i..).unwrap_or_default()].concat());
            }
        }
        out.into_iter()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .collect()
    }

    #[test]
    fn garbage_never_panics() {
        let (sk, pk) = pair();
        let body = b"{}";
        let h = signed(&sk, body);
        let input = header(&h, "signature-input").to_string();
        let sig = header(&h, "signature").to_string();
        let digest = header(&h, "content-digest").to_string();
        let req = RequestParts {
            method: "POST",
            path_and_query: "/inbox",
            headers: &h,
        };
        let mut accepted = 0usize;
        // Mangled Signature-Input: the parse may succeed (say a space after
        // a `;`), and then verification runs all the way.
        for m in mangled(&input) {
            if let Ok(s) = parse(&m, &sig)
                && verify(&s, &req, URL, body, &pk, now()).is_ok()
            {
                accepted += 1;
                // Whatever was accepted names the same parameters.
                assert_eq!(s.key_id, KEY_ID);
                assert_eq!(
                    s.components,
                    ["@method", "@target-uri", "@authority", "content-digest"]
                );
                assert_eq!(s.created, now().as_second());
            }
        }
        assert!(accepted > 0, "at least the harmless variants verify");
        // Mangled Signature: a changed signature never verifies, unless only
        // padding or separators changed.
        for m in mangled(&sig) {
            if let Ok(s) = parse(&input, &m) {
                let r = verify(&s, &req, URL, body, &pk, now());
                if r.is_ok() {
                    assert_eq!(s.signature, parse(&input, &sig).expect("p").signature);
                }
            }
        }
        // Mangled Content-Digest: only an equivalent header passes.
        for m in mangled(&digest) {
            if verify_content_digest(&m, body).is_ok() {
                assert!(
                    m.contains("sha-256=:") || m.contains("sha-512=:"),
                    "{m:?} accepted"
                );
            }
            let mut h2 = h.clone();
            set(&mut h2, "content-digest", &m);
            let req = RequestParts {
                method: "POST",
                path_and_query: "/inbox",
                headers: &h2,
            };
            let s = parse(&input, &sig).expect("parse");
            let _ = verify(&s, &req, URL, body, &pk, now());
        }
        // Random strings over the grammar's alphabet.
        let alphabet = b"abcsig1=();:\",? -*.09@\\AZ_/+\t";
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let len = rng.below(60);
            let s: String = (0..len)
                .map(|_| char::from(*alphabet.get(rng.below(alphabet.len())).unwrap_or(&b'a')))
                .collect();
            let _ = parse(&s, &s);
            let _ = parse(&s, &sig);
            let _ = verify_content_digest(&s, body);
            let _ = parse_dictionary(&s, "t");
        }
        // Odd target URIs and paths.
        let s = parse(&input, &sig).expect("parse");
        for target in [
            "",
            "https://",
            "ftp://x/",
            "https://u@h/",
            "://",
            "https:/x",
        ] {
            let r = verify(&s, &req, target, body, &pk, now());
            assert!(r.is_err(), "{target:?}");
        }
        for path in ["", "?", "??", "/a?b?c", "#"] {
            let req = RequestParts {
                method: "POST",
                path_and_query: path,
                headers: &h,
            };
            let _ = verify(&s, &req, URL, body, &pk, now());
        }
    }

    #[test]
    fn signing_refuses_what_it_cannot_express() {
        let (sk, _) = pair();
        assert!(sign(&sk, KEY_ID, "POST", "ftp://x/", None, now()).is_err());
        assert!(sign(&sk, KEY_ID, "PO ST", URL, None, now()).is_err());
        assert!(sign(&sk, "https://a.example/é", "POST", URL, None, now()).is_err());
        // A GET: no digest, three components.
        let h = sign(&sk, KEY_ID, "GET", "https://b.example", None, now()).expect("sign");
        assert!(h.iter().all(|(n, _)| n != "Content-Digest"));
        assert_eq!(
            header(&h, "signature-input"),
            format!(
                "sig1=(\"@method\" \"@target-uri\" \"@authority\");created={};keyid=\"{KEY_ID}\";alg=\"rsa-v1_5-sha256\"",
                now().as_second()
            )
        );
        assert_eq!(header(&h, "date"), "Thu, 26 Nov 2026 12:00:00 GMT");
    }
}
