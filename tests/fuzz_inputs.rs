//! Generated inputs: every JSON endpoint gets a few hundred generated bodies, and every route
//! with an id in its path a few hundred generated ids, with valid credentials, on SQLite and
//! on PostgreSQL. No answer may be a 5xx, and every answer must be the JSON envelope.
//!
//! The generator is a small deterministic PRNG (xorshift64*), so a failure names its seed and
//! reproduces exactly. Bodies mix random JSON of random types and nesting, objects shaped like
//! the endpoint's own (so they get past the type checks and reach the rules and the
//! database), strings with control characters, NUL, lone surrogates and look-alike Unicode,
//! huge and out-of-range numbers, deep nesting, duplicate keys and corrupted bytes.

mod common;

use common::{Backend, PASSWORD, Resp, Session, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;

on_both_databases!(
    generated_bodies_never_cause_a_5xx_and_always_get_the_envelope,
    generated_path_ids_never_cause_a_5xx_and_always_get_the_envelope,
);

/// Bodies per endpoint.
const BODIES_PER_ENDPOINT: usize = 300;
/// Ids per route.
const IDS_PER_ROUTE: usize = 100;

// ---- the generator -------------------------------------------------------------------------

/// xorshift64*: tiny, deterministic, good enough to pick test inputs.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// Pieces strings are made of: ASCII, control characters and NUL, look-alikes, invisible and
/// bidirectional marks, astral-plane characters, quoting and injection classics.
const STRING_PIECES: &[&str] = &[
    "a",
    "Z",
    "admin",
    "7",
    " ",
    ".",
    "-",
    "_",
    "é",
    "ß",
    "ı",
    "İ",
    "ａ",
    "ｄ",
    "\u{0}",
    "\u{1}",
    "\u{1f}",
    "\u{7f}",
    "\u{85}",
    "\u{200b}",
    "\u{202e}",
    "\u{feff}",
    "\u{fffd}",
    "\u{10ffff}",
    "😀",
    "𝒜",
    "ǅ",
    "\n",
    "\r",
    "\t",
    "\\",
    "\"",
    "'",
    "%00",
    "<script>",
    "${jndi:ldap://x}",
    "' OR 1=1 --",
    "); DROP TABLE users; --",
    "{{7*7}}",
];

/// Number literals, valid and not: huge, tiny, out of f64 and i64 range, negative zero.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "3.5",
    "1e308",
    "-1e308",
    "1e309",
    "-1e999",
    "5e-324",
    "1e-400",
    "1E+2",
    "123456789012345678901234567890",
    "-9223372036854775809",
    "18446744073709551616",
    "0.0000000000000000000000001",
    "00",
    "1.",
    ".5",
    "+1",
    "NaN",
    "Infinity",
];

/// A JSON string literal: usually valid, sometimes with a raw escape such as a lone
/// surrogate, which is not valid JSON.
fn gen_string(rng: &mut Rng) -> String {
    let len = match rng.below(10) {
        0 => 0,
        1 => 200 + rng.below(3000),
        _ => rng.below(40),
    };
    let mut text = String::new();
    while text.chars().count() < len {
        text.push_str(rng.pick(STRING_PIECES));
    }
    let literal = serde_json::to_string(&text).unwrap();
    if rng.percent(5) {
        let escape = rng.pick(&["\\ud800", "\\udfff", "\\u0000", "\\x41", "\\u12"]);
        return format!("\"{escape}{}", &literal[1..]);
    }
    literal
}

/// A random JSON value of random type; nesting stops at `depth` 4.
fn gen_value(rng: &mut Rng, depth: usize, fields: &[&str]) -> String {
    let kind = if depth >= 4 {
        rng.below(4)
    } else {
        rng.below(6)
    };
    match kind {
        0 => rng.pick(&["null", "true", "false"]).to_string(),
        1 => {
            if rng.percent(50) {
                rng.pick(NUMBERS).to_string()
            } else {
                (rng.next() as i64 >> rng.below(64)).to_string()
            }
        }
        2 | 3 => gen_string(rng),
        4 => {
            let items: Vec<String> = (0..rng.below(5))
                .map(|_| gen_value(rng, depth + 1, fields))
                .collect();
            format!("[{}]", items.join(","))
        }
        _ => gen_object(rng, depth, fields, &[]),
    }
}

/// An object with some of `fields` (random values) and random extra keys.
fn gen_object(rng: &mut Rng, depth: usize, fields: &[&str], must: &[&str]) -> String {
    let mut members = Vec::new();
    for field in fields {
        if must.contains(field) || rng.percent(50) {
            let value = if rng.percent(60) {
                gen_string(rng)
            } else {
                gen_value(rng, depth + 1, fields)
            };
            members.push(format!("\"{field}\":{value}"));
        }
    }
    for _ in 0..rng.below(3) {
        let key = if rng.percent(50) {
            format!("\"{}\"", rng.pick(fields))
        } else {
            gen_string(rng)
        };
        members.push(format!("{key}:{}", gen_value(rng, depth + 1, fields)));
    }
    // Shuffle, so duplicate keys come first or last.
    for i in (1..members.len()).rev() {
        members.swap(i, rng.below(i + 1));
    }
    format!("{{{}}}", members.join(","))
}

/// A value that passes the type checks of `field`, so the request reaches the rules and the
/// database.
fn plausible(rng: &mut Rng, field: &str) -> String {
    match field {
        "price" => {
            if rng.percent(70) {
                rng.pick(NUMBERS).to_string()
            } else {
                "null".into()
            }
        }
        "role" => {
            let roles = [
                "\"admin\"",
                "\"editor\"",
                "\"viewer\"",
                "\"root\"",
                "\"Admin\"",
                "null",
            ];
            rng.pick(&roles).to_string()
        }
        "disabled" => rng.pick(&["true", "false", "null"]).to_string(),
        // Half the time well-formed, so the request gets past the rules to hashing and storage.
        "username" | "password" | "newPassword" if rng.percent(50) => {
            let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789._-";
            let len = if field == "username" { 3 } else { 8 } + rng.below(20);
            let text: String = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())] as char)
                .collect();
            format!("\"{text}\"")
        }
        _ => gen_string(rng),
    }
}

/// One generated body for an endpoint with `fields`.
fn gen_body(rng: &mut Rng, fields: &[&str]) -> Vec<u8> {
    match rng.below(20) {
        // Any JSON value at all.
        0..=4 => gen_value(rng, 0, fields).into_bytes(),
        // The endpoint's own shape, random values, random extra fields.
        5..=10 => gen_object(rng, 0, fields, &[]).into_bytes(),
        // The endpoint's own shape with values of the right types.
        11..=15 => {
            let members: Vec<String> = fields
                .iter()
                .map(|f| format!("\"{f}\":{}", plausible(rng, f)))
                .collect();
            format!("{{{}}}", members.join(",")).into_bytes()
        }
        // Deep nesting, alone or inside a field.
        16 => {
            let depth = 50 + rng.below(5_000);
            let (open, close) = if rng.percent(50) {
                ("[", "]")
            } else {
                ("{\"a\":", "}")
            };
            let nested = format!("{}1{}", open.repeat(depth), close.repeat(depth));
            if rng.percent(50) {
                nested.into_bytes()
            } else {
                format!("{{\"{}\":{nested}}}", rng.pick(fields)).into_bytes()
            }
        }
        // Corrupted: cut short, a byte flipped, or invalid UTF-8 spliced in.
        _ => {
            let mut bytes = gen_object(rng, 0, fields, fields).into_bytes();
            match rng.below(3) {
                0 => bytes.truncate(rng.below(bytes.len())),
                1 => {
                    let at = rng.below(bytes.len());
                    bytes[at] ^= 1 << rng.below(8);
                }
                _ => {
                    let at = rng.below(bytes.len());
                    let junk: &[u8] =
                        rng.pick(&[&[0xff][..], &[0xc0, 0x80][..], &[0xed, 0xa0, 0x80][..]]);
                    bytes.splice(at..at, junk.iter().copied());
                }
            }
            bytes
        }
    }
}

/// A path segment: random bytes and characters, percent-encoded. Never `.` or `..`: a client
/// resolves those (RFC 3986 §5.2.4), so they would name another route, not an id.
fn gen_id(rng: &mut Rng) -> String {
    let raw: Vec<u8> = loop {
        let raw: Vec<u8> = match rng.below(6) {
            0 => (0..rng.below(40)).map(|_| rng.next() as u8).collect(),
            1 => "0".repeat(rng.below(2_000)).into_bytes(),
            2 => {
                let classic = ["%", "null", "undefined", "-1", "0", "' OR '1'='1", "..."];
                rng.pick(&classic).as_bytes().to_vec()
            }
            _ => {
                let text: String = (0..1 + rng.below(12))
                    .map(|_| rng.pick(STRING_PIECES))
                    .collect();
                text.into_bytes()
            }
        };
        if raw != b"." && raw != b".." {
            break raw;
        }
    };
    raw.iter()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'~' => {
                (*b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---- the runs ------------------------------------------------------------------------------

/// A server with trusted-proxy addresses (so throttling does not hide deeper answers), a
/// signed-in admin, a property and a second user.
struct Target {
    server: TestServer,
    admin: Session,
    property_id: String,
    user_id: String,
}

impl Target {
    async fn new(backend: Backend) -> Target {
        let env = [("TESSERA_TRUSTED_PROXIES", "127.0.0.1")];
        let server = TestServer::start_with(backend, &env).await;
        let admin = server.login_admin().await;
        server.add_user("fuzzy", "viewer");
        let user = server.login("fuzzy", PASSWORD).await;
        let created = server
            .write(
                Method::POST,
                "/api/properties",
                &admin,
                Some(json!({"title": "Seed"})),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        Target {
            property_id: created.data()["id"].as_str().unwrap().to_string(),
            user_id: user.user["id"].as_str().unwrap().to_string(),
            server,
            admin,
        }
    }

    /// Sends raw `body` bytes as JSON with the admin's token and CSRF pair, from `address`.
    async fn send(&self, method: &Method, path: &str, body: Vec<u8>, address: &str) -> Resp {
        let admin = &self.admin;
        let response = self
            .server
            .http
            .request(method.clone(), self.server.url(path))
            .header("authorization", format!("Bearer {}", admin.access_token))
            .header("x-csrf-token", &admin.csrf_token)
            .header("cookie", format!("csrfToken={}", admin.csrf_token))
            .header("x-forwarded-for", address)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("the server answers");
        Resp::read(response).await
    }

    /// The server still serves, and the admin's session still works.
    async fn assert_alive(&self) {
        let health = self.server.get("/healthz", None).await;
        assert_eq!(health.status, StatusCode::OK);
        let me = self
            .server
            .get("/api/auth/me", Some(&self.admin.access_token))
            .await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    }
}

/// What is wrong with a response, if anything: a 5xx, or a body that is not the envelope.
fn fault(resp: &Resp) -> Option<String> {
    if resp.status.is_server_error() {
        return Some(format!("status {}", resp.status));
    }
    let json = resp
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Some("not application/json".into());
    }
    let envelope = match resp.body["success"].as_bool() {
        Some(true) => resp.body.get("data").is_some(),
        Some(false) => resp.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        None => false,
    };
    (!envelope).then(|| "not the JSON envelope".into())
}

/// Faulty responses, grouped by endpoint.
#[derive(Default)]
struct Faults {
    lines: Vec<String>,
    per_endpoint: std::collections::BTreeMap<String, usize>,
}

impl Faults {
    /// Records `resp` if it is faulty, with what was sent.
    fn check(&mut self, endpoint: &str, what: String, sent: &[u8], resp: &Resp) {
        let Some(problem) = fault(resp) else {
            return;
        };
        *self
            .per_endpoint
            .entry(format!("{endpoint}: {problem}"))
            .or_default() += 1;
        let mut sent = String::from_utf8_lossy(sent).into_owned();
        if sent.chars().count() > 300 {
            sent = sent.chars().take(300).collect::<String>() + "…";
        }
        let mut text = resp.text.clone();
        text.truncate(200);
        self.lines.push(format!(
            "{problem}: {what} body {sent:?} → {} {text}",
            resp.status
        ));
    }

    fn assert_none(&self, total: usize) {
        let counts: Vec<String> = self
            .per_endpoint
            .iter()
            .map(|(k, n)| format!("  {n} × {k}"))
            .collect();
        let shown: Vec<&str> = self.lines.iter().take(12).map(String::as_str).collect();
        assert!(
            self.lines.is_empty(),
            "{} of {total} requests failed:\n{}\nfirst ones:\n{}",
            self.lines.len(),
            counts.join("\n"),
            shown.join("\n")
        );
    }
}

async fn generated_bodies_never_cause_a_5xx_and_always_get_the_envelope(backend: Backend) {
    let target = Target::new(backend).await;
    let property = format!("/api/properties/{}", target.property_id);
    let user = format!("/api/users/{}", target.user_id);
    let endpoints: [(Method, &str, &[&str]); 6] = [
        (Method::POST, "/api/auth/login", &["username", "password"]),
        (
            Method::POST,
            "/api/properties",
            &["title", "address", "price", "description"],
        ),
        (
            Method::PUT,
            &property,
            &["title", "address", "price", "description"],
        ),
        (
            Method::POST,
            "/api/users",
            &["username", "password", "role"],
        ),
        (Method::PATCH, &user, &["role", "disabled"]),
        (
            Method::POST,
            "/api/auth/password",
            &["currentPassword", "newPassword"],
        ),
    ];

    let mut faults = Faults::default();
    let mut total = 0;
    for (n, (method, path, fields)) in endpoints.iter().enumerate() {
        let seed = 0x7e55_e7a0 + n as u64;
        let mut rng = Rng::new(seed);
        for i in 0..BODIES_PER_ENDPOINT {
            let body = gen_body(&mut rng, fields);
            let address = format!("10.{}.{}.{}", n, i / 250, i % 250 + 1);
            let resp = target.send(method, path, body.clone(), &address).await;
            total += 1;
            let endpoint = format!("{method} {path}");
            let what = format!("{endpoint} (seed {seed:#x}, #{i})");
            faults.check(&endpoint, what, &body, &resp);
        }
    }
    faults.assert_none(total);
    target.assert_alive().await;
}

async fn generated_path_ids_never_cause_a_5xx_and_always_get_the_envelope(backend: Backend) {
    let target = Target::new(backend).await;
    let title = json!({"title": "Renamed"}).to_string();
    let role = json!({"role": "viewer"}).to_string();
    let routes: [(Method, &str, &str); 6] = [
        (Method::GET, "/api/properties/", ""),
        (Method::PUT, "/api/properties/", &title),
        (Method::DELETE, "/api/properties/", ""),
        (Method::PATCH, "/api/users/", &role),
        (Method::DELETE, "/api/users/", ""),
        (Method::DELETE, "/api/auth/sessions/", ""),
    ];

    let mut faults = Faults::default();
    let mut total = 0;
    for (n, (method, prefix, body)) in routes.iter().enumerate() {
        let seed = 0x1d5_0000 + n as u64;
        let mut rng = Rng::new(seed);
        for i in 0..IDS_PER_ROUTE {
            let path = format!("{prefix}{}", gen_id(&mut rng));
            let body = body.as_bytes().to_vec();
            let resp = target.send(method, &path, body.clone(), "10.200.0.1").await;
            total += 1;
            let endpoint = format!("{method} {prefix}{{id}}");
            let what = format!("{method} {path} (seed {seed:#x}, #{i})");
            faults.check(&endpoint, what, &body, &resp);
        }
    }
    faults.assert_none(total);
    target.assert_alive().await;
}
