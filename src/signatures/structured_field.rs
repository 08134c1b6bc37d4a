//! RFC 8941 structured fields: the subset of the grammar that RFC 9421's
//! `Signature-Input`, `Signature` and `Content-Digest` use (dictionaries of
//! items and inner lists with parameters), parsed strictly by a small
//! bounded parser that never panics: it reads bytes through `get`, caps the
//! number of members, and refuses anything outside the grammar. Its own
//! serializer writes the canonical form back (for `@signature-params`).

use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD as B64;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::signatures::SignatureError;

/// Longest `Signature-Input`, `Signature` or `Content-Digest` value read, in
/// bytes, so a hostile sender cannot make the parser work on megabytes.
/// A real one is a few hundred bytes (an RSA-4096 signature is 690).
pub const MAX_HEADER_LEN: usize = 8 * 1024;

/// Most dictionary members, inner-list items or parameters accepted in one
/// header value: far above anything a signer sends, low enough to bound work.
pub(super) const MAX_MEMBERS: usize = 64;

/// Base64 that accepts byte sequences with or without `=` padding, as
/// RFC 8941 §4.2.7 asks parsers to.
const B64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A bare item (RFC 8941 §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Bare {
    Integer(i64),
    /// A decimal, in thousandths (at most three fractional digits).
    Decimal(i64),
    String(String),
    Token(String),
    Bytes(Vec<u8>),
    Boolean(bool),
}

pub(super) type Params = Vec<(String, Bare)>;

/// An item with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Item {
    pub(super) value: Bare,
    pub(super) params: Params,
}

/// A dictionary member's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Member {
    Item(Item),
    InnerList(Vec<Item>, Params),
}

/// One dictionary member, with the text its value was parsed from.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) key: String,
    pub(super) member: Member,
    pub(super) raw: String,
}

pub(super) fn malformed(what: &str, msg: &str) -> SignatureError {
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

pub(super) fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// Parses an RFC 8941 dictionary. A key given twice is refused (RFC 8941
/// would keep the last; for signatures an ambiguity is safer refused).
pub(super) fn parse_dictionary(value: &str, what: &str) -> Result<Vec<Entry>, SignatureError> {
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
pub(super) fn sf_string(s: &str) -> Option<String> {
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

pub(super) fn serialize_bare(b: &Bare, out: &mut String) {
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

pub(super) fn serialize_params(params: &Params, out: &mut String) {
    for (k, v) in params {
        out.push(';');
        out.push_str(k);
        if *v != Bare::Boolean(true) {
            out.push('=');
            serialize_bare(v, out);
        }
    }
}

pub(super) fn serialize_inner_list(items: &[Item], params: &Params) -> String {
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
