//! "Hold the line": one black-box attack per defence, against the real binary over real
//! sockets. SECURITY.md maps each defence to the standard it answers and to the test here
//! that proves it.
//!
//! Sections: access tokens (RFC 8725, RFC 9068), production start-up, CSRF and origin
//! checks, login (timing, throttling, hashing pool, bcrypt), input handling, usernames and
//! cookies. Where a refusal only means something if the honest request passes, the test runs
//! that control first: every forged token, for one, is built by the same code that first
//! builds an accepted one.
//!
//! Attacks on token or input parsing run on SQLite only; everything that depends on stored
//! state (sessions, throttle counters, password hashes) runs on both databases.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Backend, PASSWORD, Req, Resp, Session, TestServer};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_databases!(
    refresh_token_of_the_earlier_form_still_rotates,
    a_refresh_token_naming_another_session_matches_nothing,
    csrf_pair_from_another_session_is_refused,
    planted_csrf_cookie_is_refused,
    foreign_origin_is_refused_on_every_state_changing_route,
    cross_site_fetch_metadata_is_refused_on_every_state_changing_route,
    same_origin_requests_pass_on_every_state_changing_route,
    configured_allowed_origin_passes,
    unknown_username_costs_the_same_time_as_a_wrong_password,
    account_is_throttled_after_5_failures_whatever_the_address,
    parallel_guesses_do_not_outrun_the_account_throttle,
    address_is_throttled_after_20_failures_on_different_accounts,
    an_address_quiet_for_15_minutes_starts_counting_again,
    forwarded_for_is_ignored_without_trusted_proxies,
    hashing_pool_overflow_answers_503_and_health_stays_up,
    bcrypt_user_signs_in_and_is_rehashed_to_argon2id,
    bcrypt_password_differing_after_72_bytes_is_refused,
    a_1_mb_password_is_refused_with_413,
    a_60_kb_password_is_refused_quickly_without_hashing,
    full_width_admin_is_the_same_account_as_admin,
    dotless_and_dotted_i_lookalikes_cannot_sign_in_or_register,
    production_cookies_carry_secure,
    host_prefixed_refresh_cookie_works_in_production,
    logout_clears_the_refresh_cookie_with_the_attributes_it_was_set_with,
);

// ---- forging access tokens ---------------------------------------------------------------

/// The signing secret the token tests configure, so that each attack can be checked against
/// a control signed the way tessera signs. 40 bytes, no well-known word in it.
const SECRET: &str = "q7Vb2Lx9Tz4Nw8Kd1Rf6Hm3Jc5Gp0Ys8Ue4Wa1Zt";

/// The label tessera derives its access-token signing key with (src/auth/token.rs).
const SIGNING_KEY_LABEL: &[u8] = b"tessera access-token signing key v1";

/// Secrets from tutorials, examples and jwt.io that an attacker tries first.
const GUESSED_SECRETS: &[&str] = &[
    "secret",
    "your-256-bit-secret",
    "some-long-random-string-change-this",
    "a-string-secret-at-least-256-bits-long",
    "changeme",
    "",
];

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hmac_sha384(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<sha2::Sha384> as Mac>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hmac_sha512(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<sha2::Sha512> as Mac>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The HS256 key tessera derives from `secret`: HMAC-SHA256 over the length-prefixed label.
fn derived_signing_key(secret: &[u8]) -> Vec<u8> {
    let mut input = (SIGNING_KEY_LABEL.len() as u64).to_be_bytes().to_vec();
    input.extend_from_slice(SIGNING_KEY_LABEL);
    hmac_sha256(secret, &input)
}

fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// The decoded header and claims of a compact JWS.
fn header_and_claims(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    let decode = |part: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    (decode(parts[0]), decode(parts[1]))
}

/// `BASE64URL(header) . BASE64URL(claims)`, the JWS signing input.
fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// A compact JWS over `header` and `claims`, HMAC-SHA256-signed with `key`.
fn sign_hs256(header: &Value, claims: &Value, key: &[u8]) -> String {
    let input = signing_input(header, claims);
    let signature = b64(&hmac_sha256(key, input.as_bytes()));
    format!("{input}.{signature}")
}

/// A token exactly like tessera's own, signed with the configured [`SECRET`]'s derived key.
fn sign_like_tessera(header: &Value, claims: &Value) -> String {
    sign_hs256(header, claims, &derived_signing_key(SECRET.as_bytes()))
}

/// The current unix time, read the way the server reads it.
fn unix_now() -> i64 {
    tessera::auth::clock::now()
}

/// A SQLite server with [`SECRET`] and a signed-in viewer, for the token attacks.
async fn token_server(extra_env: &[(&str, &str)]) -> (TestServer, Session) {
    let mut env = vec![("TESSERA_JWT_SECRET", SECRET)];
    env.extend_from_slice(extra_env);
    let server = TestServer::start_with(Backend::Sqlite, &env).await;
    server.add_user("victor", "viewer");
    let session = server.login("victor", PASSWORD).await;
    (server, session)
}

/// `GET /api/auth/me` with `token`.
async fn me(server: &TestServer, token: &str) -> Resp {
    server.get("/api/auth/me", Some(token)).await
}

/// The control: a token built by the test's own signing code is accepted, so a refusal of
/// a variant is due to the one thing the variant changes.
async fn assert_accepted(server: &TestServer, token: &str, what: &str) {
    let resp = me(server, token).await;
    assert_eq!(resp.status, StatusCode::OK, "control {what}: {}", resp.text);
}

/// A 401 with the tutorial's invalid-token message.
async fn assert_invalid_token(server: &TestServer, token: &str, what: &str) {
    let resp = me(server, token).await;
    assert_eq!(
        resp.status,
        StatusCode::UNAUTHORIZED,
        "{what} must be refused; token {token:?}: {}",
        resp.text
    );
    assert_eq!(resp.message(), "Access denied. Invalid token.", "{what}");
}

// ---- tokens (RFC 8725, RFC 9068) ---------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alg_none_is_refused_in_any_letter_case() {
    let (server, session) = token_server(&[]).await;
    let (header, claims) = header_and_claims(&session.access_token);
    assert_accepted(&server, &sign_like_tessera(&header, &claims), "re-signed").await;
    let original_signature = session.access_token.rsplit('.').next().unwrap();

    for alg in ["none", "None", "NONE", "nOnE"] {
        let mut forged = header.clone();
        forged["alg"] = json!(alg);
        let input = signing_input(&forged, &claims);
        let key = derived_signing_key(SECRET.as_bytes());
        let variants = [
            ("empty signature", format!("{input}.")),
            (
                "original signature",
                format!("{input}.{original_signature}"),
            ),
            (
                "HMAC signature with the real key",
                format!("{input}.{}", b64(&hmac_sha256(&key, input.as_bytes()))),
            ),
        ];
        for (what, token) in variants {
            assert_invalid_token(&server, &token, &format!("alg {alg:?}, {what}")).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn algorithms_other_than_hs256_are_refused() {
    let (server, session) = token_server(&[]).await;
    let (header, claims) = header_and_claims(&session.access_token);
    assert_accepted(&server, &sign_like_tessera(&header, &claims), "HS256").await;
    let key = derived_signing_key(SECRET.as_bytes());

    // HS384 and HS512 with the right key: only the algorithm differs.
    for (alg, mac) in [
        ("HS384", hmac_sha384 as fn(&[u8], &[u8]) -> Vec<u8>),
        ("HS512", hmac_sha512),
    ] {
        let mut forged = header.clone();
        forged["alg"] = json!(alg);
        let input = signing_input(&forged, &claims);
        let token = format!("{input}.{}", b64(&mac(&key, input.as_bytes())));
        assert_invalid_token(&server, &token, alg).await;
    }

    // Key confusion: an asymmetric algorithm in the header over an HMAC signature.
    for alg in ["RS256", "ES256", "PS256", "EdDSA", "hs256"] {
        let mut forged = header.clone();
        forged["alg"] = json!(alg);
        let token = sign_hs256(&forged, &claims, &key);
        assert_invalid_token(&server, &token, &format!("{alg} header, HS256 signature")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_payload_with_the_original_signature_is_refused() {
    let (server, session) = token_server(&[]).await;
    let admin = server.login_admin().await;
    assert_accepted(&server, &session.access_token, "untouched token").await;
    let (header, claims) = header_and_claims(&session.access_token);
    let signature = session.access_token.rsplit('.').next().unwrap();

    let mut as_admin = claims.clone();
    as_admin["role"] = json!("admin");
    let mut as_admin_user = as_admin.clone();
    as_admin_user["sub"] = admin.user["id"].clone();
    as_admin_user["username"] = json!("admin");
    let mut longer = claims.clone();
    longer["exp"] = json!(claims["exp"].as_i64().unwrap() + 86_400);

    for (what, forged) in [
        ("role admin", as_admin),
        ("admin's sub, username and role", as_admin_user),
        ("exp a day later", longer),
    ] {
        let token = format!("{}.{signature}", signing_input(&header, &forged));
        assert_invalid_token(&server, &token, what).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_signature_is_refused() {
    let (server, session) = token_server(&[]).await;
    let token = &session.access_token;
    assert_accepted(&server, token, "untouched token").await;
    let (input, signature) = token.rsplit_once('.').unwrap();

    for keep in [signature.len() - 1, signature.len() - 2, 22, 1, 0] {
        let truncated = format!("{input}.{}", &signature[..keep]);
        assert_invalid_token(&server, &truncated, &format!("{keep}-character signature")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_signed_with_a_guessed_or_example_secret_is_refused() {
    let (server, session) = token_server(&[]).await;
    let (header, claims) = header_and_claims(&session.access_token);
    assert_accepted(&server, &sign_like_tessera(&header, &claims), "real key").await;

    for guess in GUESSED_SECRETS {
        // Used directly as the HS256 key, as a tutorial's server would.
        let direct = sign_hs256(&header, &claims, guess.as_bytes());
        assert_invalid_token(&server, &direct, &format!("{guess:?} as the key")).await;
        // Or run through tessera's own key derivation.
        let derived = sign_hs256(&header, &claims, &derived_signing_key(guess.as_bytes()));
        assert_invalid_token(&server, &derived, &format!("key derived from {guess:?}")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_signed_with_the_configured_secret_itself_is_refused() {
    let (server, session) = token_server(&[]).await;
    let (header, claims) = header_and_claims(&session.access_token);
    assert_accepted(&server, &sign_like_tessera(&header, &claims), "derived key").await;

    let direct = sign_hs256(&header, &claims, SECRET.as_bytes());
    assert_invalid_token(&server, &direct, "TESSERA_JWT_SECRET used as the HS256 key").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_missing_typ_is_refused() {
    let (server, session) = token_server(&[]).await;
    let (header, claims) = header_and_claims(&session.access_token);
    assert_eq!(header["typ"], "at+jwt");
    assert_accepted(&server, &sign_like_tessera(&header, &claims), "typ at+jwt").await;

    for typ in [
        json!("JWT"),
        json!("jwt"),
        json!("JOSE"),
        json!(""),
        json!(null),
    ] {
        let mut forged = header.clone();
        forged["typ"] = typ.clone();
        assert_invalid_token(
            &server,
            &sign_like_tessera(&forged, &claims),
            &format!("{typ}"),
        )
        .await;
    }
    let mut missing = header.clone();
    missing.as_object_mut().unwrap().remove("typ");
    assert_invalid_token(&server, &sign_like_tessera(&missing, &claims), "no typ").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_issuer_is_refused() {
    let (server, session) = token_server(&[]).await;
    let (header, claims) = header_and_claims(&session.access_token);
    assert_eq!(claims["iss"], "tessera");
    assert_accepted(&server, &sign_like_tessera(&header, &claims), "iss tessera").await;

    for iss in [
        json!("evil"),
        json!("Tessera"),
        json!("tessera "),
        json!(["tessera"]),
    ] {
        let mut forged = claims.clone();
        forged["iss"] = iss.clone();
        assert_invalid_token(
            &server,
            &sign_like_tessera(&header, &forged),
            &format!("{iss}"),
        )
        .await;
    }
    let mut missing = claims.clone();
    missing.as_object_mut().unwrap().remove("iss");
    assert_invalid_token(&server, &sign_like_tessera(&header, &missing), "no iss").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_audience_is_refused() {
    let (server, session) = token_server(&[]).await;
    let (header, claims) = header_and_claims(&session.access_token);
    assert_eq!(claims["aud"], "tessera");
    assert_accepted(&server, &sign_like_tessera(&header, &claims), "aud tessera").await;

    for aud in [
        json!("other-api"),
        json!(["other-api"]),
        json!("Tessera"),
        json!(""),
    ] {
        let mut forged = claims.clone();
        forged["aud"] = aud.clone();
        assert_invalid_token(
            &server,
            &sign_like_tessera(&header, &forged),
            &format!("{aud}"),
        )
        .await;
    }
    let mut missing = claims.clone();
    missing.as_object_mut().unwrap().remove("aud");
    assert_invalid_token(&server, &sign_like_tessera(&header, &missing), "no aud").await;
}

/// The verifier tolerates 5 s of clock skew on `exp` (`LEEWAY_SECONDS`, src/auth/token.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_expired_beyond_the_5_s_leeway_is_refused() {
    let (server, session) = token_server(&[]).await;
    let (header, claims) = header_and_claims(&session.access_token);

    // Inside the leeway: 2 s past exp still passes (this documents the leeway).
    let mut recent = claims.clone();
    recent["exp"] = json!(unix_now() - 2);
    assert_accepted(
        &server,
        &sign_like_tessera(&header, &recent),
        "2 s past exp",
    )
    .await;

    let mut expired = claims.clone();
    expired["exp"] = json!(unix_now() - 10);
    let resp = me(&server, &sign_like_tessera(&header, &expired)).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{}", resp.text);
    assert_eq!(resp.message(), "Access denied. Token expired.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_token_with_a_1_s_ttl_is_refused_after_ttl_plus_leeway() {
    let (server, session) = token_server(&[("TESSERA_ACCESS_TTL", "1s")]).await;
    assert_accepted(&server, &session.access_token, "fresh token").await;

    // exp = iat + 1; refused once now > exp + 5.
    tokio::time::sleep(Duration::from_millis(7_500)).await;
    let resp = me(&server, &session.access_token).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{}", resp.text);
    assert_eq!(resp.message(), "Access denied. Token expired.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_without_sid_or_exp_is_refused() {
    let (server, session) = token_server(&[]).await;
    let (header, claims) = header_and_claims(&session.access_token);
    assert_accepted(&server, &sign_like_tessera(&header, &claims), "all claims").await;

    for claim in ["sid", "exp"] {
        let mut forged = claims.clone();
        forged.as_object_mut().unwrap().remove(claim);
        assert_invalid_token(&server, &sign_like_tessera(&header, &forged), claim).await;
        let mut nulled = claims.clone();
        nulled[claim] = Value::Null;
        let what = format!("{claim}: null");
        assert_invalid_token(&server, &sign_like_tessera(&header, &nulled), &what).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_not_in_compact_form_is_refused() {
    let (server, session) = token_server(&[]).await;
    let token = session.access_token.clone();
    assert_accepted(&server, &token, "compact token").await;
    let parts: Vec<&str> = token.split('.').collect();
    let (h, c, s) = (parts[0], parts[1], parts[2]);

    let flattened = json!({"protected": h, "payload": c, "signature": s}).to_string();
    let general = json!({"payload": c, "signatures": [{"protected": h, "signature": s}]});
    let variants = [
        ("flattened JSON serialization", flattened),
        ("general JSON serialization", general.to_string()),
        ("two parts", format!("{h}.{c}")),
        ("four parts", format!("{token}.{s}")),
        ("five parts, JWE-like", format!("{h}.{c}.{s}.{s}.{s}")),
        ("space inside", format!("{h}. {c}.{s}")),
        ("tab inside", format!("{h}.{c}\t.{s}")),
        ("padded signature", format!("{h}.{c}.{s}=")),
        ("empty header part", format!(".{c}.{s}")),
    ];
    for (what, variant) in variants {
        assert_invalid_token(&server, &variant, what).await;
    }
}

// ---- production start-up -----------------------------------------------------------------

/// How a `tessera serve` run ended.
#[derive(Debug)]
enum Startup {
    /// It exited by itself.
    Exited { success: bool, stderr: String },
    /// It started listening (and was stopped by the test).
    Listening,
    /// Neither, within a minute (and was stopped by the test).
    Hung,
}

/// Runs `tessera serve --bind 127.0.0.1:0` with only `env` (and PATH) in a fresh directory.
fn run_serve(env: &[(&str, &str)]) -> Startup {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();

    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("tessera listening on ") {
                let _ = tx.send(());
            }
        }
    });
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr_pipe, &mut text);
        text
    });

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let stderr = stderr_reader.join().unwrap();
            return Startup::Exited {
                success: status.success(),
                stderr,
            };
        }
        let listening = rx.try_recv().is_ok();
        if listening || Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return if listening {
                Startup::Listening
            } else {
                Startup::Hung
            };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The run failed, and its error says how to generate a secret.
fn assert_refused_with_hint(outcome: Startup, what: &str) {
    match outcome {
        Startup::Exited { success, stderr } => {
            assert!(!success, "{what}: exit status must be a failure");
            assert!(
                stderr.contains("openssl rand"),
                "{what}: the error must say how to generate a secret; stderr: {stderr}"
            );
        }
        other => panic!("{what}: production mode did not refuse to start: {other:?}"),
    }
}

#[test]
fn production_starts_with_a_strong_secret() {
    // The control for the refusals below: same runner, a strong secret, it listens.
    let outcome = run_serve(&[
        ("TESSERA_MODE", "production"),
        ("TESSERA_JWT_SECRET", SECRET),
    ]);
    assert!(
        matches!(outcome, Startup::Listening),
        "a strong secret must start: {outcome:?}"
    );
}

#[test]
fn production_refuses_to_start_without_a_secret() {
    assert_refused_with_hint(run_serve(&[("TESSERA_MODE", "production")]), "TESSERA_MODE");
    assert_refused_with_hint(run_serve(&[("NODE_ENV", "production")]), "NODE_ENV");
}

#[test]
fn production_refuses_a_secret_shorter_than_32_bytes() {
    let short = &SECRET[..31];
    for (mode, value) in [("TESSERA_MODE", "production"), ("NODE_ENV", "production")] {
        for name in ["TESSERA_JWT_SECRET", "JWT_SECRET"] {
            let outcome = run_serve(&[(mode, value), (name, short)]);
            assert_refused_with_hint(outcome, &format!("{mode}, 31-byte {name}"));
        }
    }
}

#[test]
fn production_refuses_a_well_known_example_secret() {
    for example in [
        "some-long-random-string-change-this",
        "your-256-bit-secret",
        "a-string-secret-at-least-256-bits-long",
        "your-256-bit-secret-your-256-bit-secret",
    ] {
        for name in ["TESSERA_JWT_SECRET", "JWT_SECRET"] {
            let outcome = run_serve(&[("TESSERA_MODE", "production"), (name, example)]);
            assert_refused_with_hint(outcome, &format!("{name}={example}"));
        }
        let outcome = run_serve(&[("NODE_ENV", "production"), ("JWT_SECRET", example)]);
        assert_refused_with_hint(outcome, &format!("NODE_ENV, JWT_SECRET={example}"));
    }
}

// ---- CSRF ----------------------------------------------------------------------------------

/// A property POST with `session`'s access token and the given CSRF cookie and header.
async fn post_property(server: &TestServer, session: &Session, cookie: &str, header: &str) -> Resp {
    server
        .send(
            Req::new(Method::POST, "/api/properties")
                .bearer(&session.access_token)
                .cookie("csrfToken", cookie)
                .csrf(header)
                .json(json!({"title": "Cottage"})),
        )
        .await
}

/// A logout with `session`'s refresh cookie and the given CSRF cookie and header.
async fn logout_with(server: &TestServer, session: &Session, cookie: &str, header: &str) -> Resp {
    server
        .send(
            Req::new(Method::POST, "/api/auth/logout")
                .cookie("refreshToken", &session.refresh_token)
                .cookie("csrfToken", cookie)
                .csrf(header),
        )
        .await
}

fn assert_csrf_refused(resp: &Resp, what: &str) {
    assert_eq!(resp.status, StatusCode::FORBIDDEN, "{what}: {}", resp.text);
    assert_eq!(resp.message(), "Invalid CSRF token", "{what}");
}

async fn csrf_pair_from_another_session_is_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.add_user("alice", "editor");
    server.add_user("bob", "editor");
    let alice = server.login("alice", PASSWORD).await;
    let bob = server.login("bob", PASSWORD).await;

    let own = post_property(&server, &alice, &alice.csrf_token, &alice.csrf_token).await;
    assert_eq!(own.status, StatusCode::CREATED, "control: {}", own.text);

    let (b_cookie, b_header) = (&bob.csrf_token, &bob.csrf_token);
    let crossed = post_property(&server, &alice, b_cookie, b_header).await;
    assert_csrf_refused(&crossed, "property POST with bob's pair");
    let crossed = logout_with(&server, &alice, b_cookie, b_header).await;
    assert_csrf_refused(&crossed, "logout with bob's pair");

    assert_eq!(
        me(&server, &alice.access_token).await.status,
        StatusCode::OK,
        "alice's session survives"
    );
}

async fn planted_csrf_cookie_is_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.add_user("alice", "editor");
    let alice = server.login("alice", PASSWORD).await;

    // A real server-issued token, but bound to no session (GET /api/auth/csrf, no cookie).
    let bootstrap = server.get("/api/auth/csrf", None).await;
    let unbound = bootstrap.data()["csrfToken"].as_str().unwrap().to_string();
    let shaped = format!("{}.{}", b64(&[7u8; 18]), b64(&[9u8; 32]));

    for (what, planted) in [
        ("made-up value", "attacker-chose-this".to_string()),
        ("made-up nonce.mac", shaped),
        ("session-less server token", unbound),
    ] {
        let resp = post_property(&server, &alice, &planted, &planted).await;
        assert_csrf_refused(&resp, &format!("property POST, {what}"));
        let resp = logout_with(&server, &alice, &planted, &planted).await;
        assert_csrf_refused(&resp, &format!("logout, {what}"));
    }

    let own = post_property(&server, &alice, &alice.csrf_token, &alice.csrf_token).await;
    assert_eq!(own.status, StatusCode::CREATED, "control: {}", own.text);
}

// ---- Origin and Fetch Metadata -------------------------------------------------------------

/// A server with a signed-in admin, a second admin session, a property and another user:
/// enough for a valid request on every state-changing route.
struct Scene {
    server: TestServer,
    admin: Session,
    admin_password: String,
    other_session_id: String,
    property_id: String,
    user_id: String,
}

impl Scene {
    async fn new(backend: Backend, env: &[(&str, &str)]) -> Scene {
        let server = TestServer::start_with(backend, env).await;
        let admin_password = server.admin_password.clone();
        let other = server.login_admin().await;
        let admin = server.login_admin().await;
        server.add_user("vera", "viewer");
        let vera = server.login("vera", PASSWORD).await;
        let user_id = vera.user["id"].as_str().unwrap().to_string();

        let created = server
            .write(
                Method::POST,
                "/api/properties",
                &admin,
                Some(json!({"title": "Mill"})),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        let property_id = created.data()["id"].as_str().unwrap().to_string();

        let sessions = server
            .get("/api/auth/sessions", Some(&admin.access_token))
            .await;
        let other_session_id = sessions
            .data()
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["current"] == false)
            .map(|s| s["id"].as_str().unwrap().to_string())
            .unwrap();
        drop(other);
        Scene {
            server,
            admin,
            admin_password,
            other_session_id,
            property_id,
            user_id,
        }
    }

    /// One valid request per state-changing route: (name, method, path, body). Order matters
    /// when they are all sent for real: each still works after the ones before it.
    fn routes(&self) -> Vec<(&'static str, Method, String, Option<Value>)> {
        let property = format!("/api/properties/{}", self.property_id);
        let user = format!("/api/users/{}", self.user_id);
        let session = format!("/api/auth/sessions/{}", self.other_session_id);
        vec![
            (
                "create property",
                Method::POST,
                "/api/properties".into(),
                Some(json!({"title": "Barn"})),
            ),
            (
                "update property",
                Method::PUT,
                property.clone(),
                Some(json!({"title": "Big mill"})),
            ),
            ("delete property", Method::DELETE, property, None),
            (
                "create user",
                Method::POST,
                "/api/users".into(),
                Some(json!({"username": "newbie", "password": PASSWORD})),
            ),
            (
                "change role",
                Method::PATCH,
                user.clone(),
                Some(json!({"role": "editor"})),
            ),
            ("delete user", Method::DELETE, user, None),
            ("revoke session", Method::DELETE, session, None),
            (
                "change password",
                Method::POST,
                "/api/auth/password".into(),
                Some(json!({
                    "currentPassword": self.admin_password,
                    "newPassword": "a-brand-new-password",
                })),
            ),
            ("refresh", Method::POST, "/api/auth/refresh".into(), None),
            (
                "login",
                Method::POST,
                "/api/auth/login".into(),
                Some(json!({"username": "admin", "password": "a-brand-new-password"})),
            ),
            ("logout", Method::POST, "/api/auth/logout".into(), None),
            (
                "logout everywhere",
                Method::POST,
                "/api/auth/logout-all".into(),
                None,
            ),
        ]
    }

    /// `route` with every credential a browser of `session` would attach, plus `extra`.
    async fn send(
        &self,
        session: &Session,
        route: &(&'static str, Method, String, Option<Value>),
        extra: &[(&str, &str)],
    ) -> Resp {
        let (_, method, path, body) = route;
        let mut req = Req::new(method.clone(), path)
            .bearer(&session.access_token)
            .csrf(&session.csrf_token)
            .cookie("refreshToken", &session.refresh_token)
            .cookie("csrfToken", &session.csrf_token);
        for (name, value) in extra {
            req = req.header(name, value);
        }
        req.json = body.clone();
        self.server.send(req).await
    }

    /// Nothing the hostile requests aimed at has changed.
    async fn assert_untouched(&self) {
        let server = &self.server;
        let me = me(server, &self.admin.access_token).await;
        assert_eq!(
            me.status,
            StatusCode::OK,
            "admin session alive: {}",
            me.text
        );
        let path = format!("/api/properties/{}", self.property_id);
        let property = server.get(&path, Some(&self.admin.access_token)).await;
        assert_eq!(property.data()["title"], "Mill", "property untouched");
        let users = server
            .get("/api/users", Some(&self.admin.access_token))
            .await;
        let vera = users
            .data()
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == self.user_id);
        assert_eq!(vera.unwrap()["role"], "viewer", "user untouched");
        let sessions = server
            .get("/api/auth/sessions", Some(&self.admin.access_token))
            .await;
        assert_eq!(
            sessions.data().as_array().unwrap().len(),
            2,
            "no session revoked"
        );
        // The refresh token was not rotated away.
        let refreshed = server.refresh_with(&self.admin.refresh_token).await;
        assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
        server.login("admin", &self.admin_password).await;
    }
}

fn assert_cross_site_refused(resp: &Resp, what: &str) {
    assert_eq!(resp.status, StatusCode::FORBIDDEN, "{what}: {}", resp.text);
    assert_eq!(resp.message(), "Cross-site request refused", "{what}");
}

async fn foreign_origin_is_refused_on_every_state_changing_route(backend: Backend) {
    let scene = Scene::new(backend, &[]).await;
    for origin in [
        "https://evil.example",
        "null",
        "http://127.0.0.1.evil.example",
    ] {
        for route in scene.routes() {
            let resp = scene
                .send(&scene.admin, &route, &[("origin", origin)])
                .await;
            assert_cross_site_refused(&resp, &format!("{} with Origin {origin}", route.0));
        }
    }
    scene.assert_untouched().await;
}

async fn cross_site_fetch_metadata_is_refused_on_every_state_changing_route(backend: Backend) {
    let scene = Scene::new(backend, &[]).await;
    for route in scene.routes() {
        let resp = scene
            .send(&scene.admin, &route, &[("sec-fetch-site", "cross-site")])
            .await;
        assert_cross_site_refused(&resp, &format!("{} with Sec-Fetch-Site", route.0));
    }
    scene.assert_untouched().await;
}

async fn same_origin_requests_pass_on_every_state_changing_route(backend: Backend) {
    let scene = Scene::new(backend, &[]).await;
    let origin = scene.server.base.clone();
    let headers = [
        ("origin", origin.as_str()),
        ("sec-fetch-site", "same-origin"),
    ];
    let mut session = scene.admin.clone();
    let mut before_login = session.clone();
    for route in scene.routes() {
        // The last route signs out everywhere from the session that did not log out.
        let acting = if route.0 == "logout everywhere" {
            &before_login
        } else {
            &session
        };
        let resp = scene.send(acting, &route, &headers).await;
        assert!(
            resp.status.is_success(),
            "{} with Origin {origin}: {} {}",
            route.0,
            resp.status,
            resp.text
        );
        // Refresh and login hand out the state the next requests must carry.
        if route.0 == "refresh" || route.0 == "login" {
            before_login = session.clone();
            session = Session::from_grant(&resp);
        }
    }
}

async fn configured_allowed_origin_passes(backend: Backend) {
    let env = [("TESSERA_ALLOWED_ORIGINS", "https://app.example")];
    let scene = Scene::new(backend, &env).await;
    let routes = scene.routes();
    let create = &routes[0];
    assert_eq!(create.0, "create property");

    let resp = scene
        .send(&scene.admin, create, &[("origin", "https://app.example")])
        .await;
    assert_eq!(
        resp.status,
        StatusCode::CREATED,
        "from app.example: {}",
        resp.text
    );
    let login_body = json!({"username": "admin", "password": scene.admin_password});
    let resp = scene
        .server
        .send(
            Req::new(Method::POST, "/api/auth/login")
                .header("origin", "https://app.example")
                .json(login_body),
        )
        .await;
    assert_eq!(
        resp.status,
        StatusCode::OK,
        "login from app.example: {}",
        resp.text
    );

    for origin in [
        "https://evil.example",
        "http://app.example",
        "https://app.example.evil.example",
        "https://app.example:8443",
    ] {
        let resp = scene
            .send(&scene.admin, create, &[("origin", origin)])
            .await;
        assert_cross_site_refused(&resp, &format!("Origin {origin}"));
    }
}

// ---- login: timing, throttling, hashing pool, bcrypt --------------------------------------

/// A login request from `address` (via X-Forwarded-For).
async fn login_from(server: &TestServer, username: &str, password: &str, address: &str) -> Resp {
    let body = json!({"username": username, "password": password});
    server
        .send(
            Req::new(Method::POST, "/api/auth/login")
                .header("x-forwarded-for", address)
                .json(body),
        )
        .await
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn unknown_username_costs_the_same_time_as_a_wrong_password(backend: Backend) {
    let env = [("TESSERA_TRUSTED_PROXIES", "127.0.0.1")];
    let server = TestServer::start_with(backend, &env).await;
    // Several real accounts, so none reaches its failure limit; a new client address for
    // every attempt, so the address limit never applies either.
    let accounts = ["tia", "tom", "tara", "theo", "tess"];
    for name in accounts {
        server.add_user(name, "viewer");
    }
    let _ = login_from(&server, "warm-up", "wrong-password", "192.0.2.1").await;

    let rounds = 20;
    let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        let account = accounts[i % accounts.len()];
        let ghost = format!("ghost-{i}");
        let order = if i % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for real in order {
            let (name, series) = if real {
                (account, &mut wrong)
            } else {
                (ghost.as_str(), &mut unknown)
            };
            let address = format!("198.51.100.{}", series.len() * 2 + usize::from(real) + 1);
            let started = Instant::now();
            let resp = login_from(&server, name, "wrong-password-1", &address).await;
            series.push(started.elapsed());
            assert_eq!(
                resp.status,
                StatusCode::UNAUTHORIZED,
                "{name}: {}",
                resp.text
            );
        }
    }

    let (wrong, unknown) = (median(&mut wrong), median(&mut unknown));
    let (fast, slow) = (wrong.min(unknown), wrong.max(unknown));
    let gap = (slow - fast).as_secs_f64() / fast.as_secs_f64();
    assert!(
        gap < 0.25,
        "median wrong password {wrong:?} vs unknown username {unknown:?}: {:.0} % apart",
        gap * 100.0
    );
}

fn retry_after(resp: &Resp) -> Option<u64> {
    resp.headers.get("retry-after")?.to_str().ok()?.parse().ok()
}

async fn account_is_throttled_after_5_failures_whatever_the_address(backend: Backend) {
    let env = [("TESSERA_TRUSTED_PROXIES", "127.0.0.1")];
    let server = TestServer::start_with(backend, &env).await;
    server.add_user("target", "viewer");

    for i in 1..=5 {
        let (guess, address) = (format!("guess-{i}"), format!("203.0.113.{i}"));
        let resp = login_from(&server, "target", &guess, &address).await;
        assert_eq!(
            resp.status,
            StatusCode::UNAUTHORIZED,
            "failure {i}: {}",
            resp.text
        );
    }
    let resp = login_from(&server, "target", "guess-6", "203.0.113.6").await;
    assert_eq!(
        resp.status,
        StatusCode::TOO_MANY_REQUESTS,
        "attempt 6, after 5 failures from 5 addresses: {}",
        resp.text
    );
    assert!(
        retry_after(&resp).is_some_and(|s| s >= 1),
        "{:?}",
        resp.headers
    );

    // Blocked means blocked: the right password from yet another address does not pass.
    let resp = login_from(&server, "target", PASSWORD, "203.0.113.7").await;
    assert_eq!(resp.status, StatusCode::TOO_MANY_REQUESTS, "{}", resp.text);
}

/// The counters are read before the slow password check and written after it; a burst of
/// guesses sent at once must still be held to about the same number as one at a time.
async fn parallel_guesses_do_not_outrun_the_account_throttle(backend: Backend) {
    let env = [("TESSERA_TRUSTED_PROXIES", "127.0.0.1")];
    let server = Arc::new(TestServer::start_with(backend, &env).await);
    server.add_user("target", "viewer");

    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..40 {
        let server = server.clone();
        guesses.spawn(async move {
            let address = format!("198.51.100.{}", i + 1);
            login_from(&server, "target", &format!("guess-{i}"), &address).await
        });
    }
    let answers = guesses.join_all().await;
    let checked = answers
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count();
    let refused = answers
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    let statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
    // 5 free failures, plus at most 3 more that were already in flight when the 5th landed.
    assert!(
        (5..=8).contains(&checked),
        "{checked} of 40 parallel guesses were checked: {statuses:?}"
    );
    assert_eq!(checked + refused, 40, "{statuses:?}");
}

/// An address's failures are forgotten after 15 quiet minutes: its next failure counts as
/// the first. An address with recent failures keeps counting.
async fn an_address_quiet_for_15_minutes_starts_counting_again(backend: Backend) {
    let env = [("TESSERA_TRUSTED_PROXIES", "127.0.0.1")];
    let server = TestServer::start_with(backend, &env).await;
    for address in ["192.0.2.50", "192.0.2.51"] {
        for i in 0..3 {
            let resp = login_from(&server, &format!("nobody-{i}"), "wrong-password", address).await;
            assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{}", resp.text);
        }
    }
    // The first address's failures happened 16 minutes ago.
    let age = "UPDATE login_throttle SET last_failure_at = last_failure_at - 960 \
               WHERE throttle_key = $1";
    assert_eq!(db_execute(&server, age, &["ip:192.0.2.50"]).await, 1);

    for address in ["192.0.2.50", "192.0.2.51"] {
        let resp = login_from(&server, "nobody-x", "wrong-password", address).await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{}", resp.text);
    }
    let count_is = "UPDATE login_throttle SET failures = failures \
                    WHERE throttle_key = $1 AND failures = CAST($2 AS INTEGER)";
    assert_eq!(
        db_execute(&server, count_is, &["ip:192.0.2.50", "1"]).await,
        1,
        "the quiet address starts again at 1"
    );
    assert_eq!(
        db_execute(&server, count_is, &["ip:192.0.2.51", "4"]).await,
        1,
        "the busy address is at 4"
    );
}

async fn address_is_throttled_after_20_failures_on_different_accounts(backend: Backend) {
    let server = TestServer::start(backend).await;
    for i in 1..=20 {
        let resp = server
            .login_raw(&format!("account-{i}"), "wrong-password")
            .await;
        assert_eq!(
            resp.status,
            StatusCode::UNAUTHORIZED,
            "failure {i}: {}",
            resp.text
        );
    }
    let resp = server.login_raw("account-21", "wrong-password").await;
    assert_eq!(
        resp.status,
        StatusCode::TOO_MANY_REQUESTS,
        "attempt 21, after 20 failures on 20 accounts: {}",
        resp.text
    );
    assert!(
        retry_after(&resp).is_some_and(|s| s >= 1),
        "{:?}",
        resp.headers
    );
}

async fn forwarded_for_is_ignored_without_trusted_proxies(backend: Backend) {
    let server = TestServer::start(backend).await;

    // A fresh account and a fresh X-Forwarded-For address on every attempt: were the header
    // believed, no account and no address would ever reach its limit.
    let mut first_429 = None;
    for i in 1..=30 {
        let (name, spoofed) = (format!("account-{i}"), format!("10.9.{i}.{i}"));
        let resp = login_from(&server, &name, "wrong-password", &spoofed).await;
        if resp.status == StatusCode::TOO_MANY_REQUESTS {
            first_429 = Some(i);
            break;
        }
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{}", resp.text);
    }
    assert!(
        first_429.is_some(),
        "30 failures with spoofed X-Forwarded-For never met the address limit"
    );
}

async fn hashing_pool_overflow_answers_503_and_health_stays_up(backend: Backend) {
    let env = [("TESSERA_HASH_WORKERS", "1"), ("TESSERA_HASH_QUEUE", "2")];
    let server = Arc::new(TestServer::start_with(backend, &env).await);
    let password = server.admin_password.clone();

    let finished = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let (server, password, finished) = (server.clone(), password.clone(), finished.clone());
        flood.spawn(async move {
            let resp = server.login_raw("admin", &password).await;
            finished.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            resp
        });
    }

    // Health probes while logins are still in flight.
    let mut probes = Vec::new();
    loop {
        let in_flight = 64 - finished.load(std::sync::atomic::Ordering::SeqCst);
        if in_flight == 0 && !probes.is_empty() {
            break;
        }
        let started = Instant::now();
        let health = server.get("/healthz", None).await;
        probes.push((health.status, started.elapsed(), in_flight));
    }
    let answers: Vec<Resp> = flood.join_all().await;

    assert!(
        probes.iter().any(|p| p.2 > 0),
        "no probe ran during the flood"
    );
    for (status, elapsed, in_flight) in &probes {
        assert_eq!(
            *status,
            StatusCode::OK,
            "healthz with {in_flight} logins in flight"
        );
        assert!(
            *elapsed < Duration::from_secs(1),
            "healthz took {elapsed:?} with {in_flight} logins in flight"
        );
    }
    let busy: Vec<&Resp> = answers
        .iter()
        .filter(|r| r.status == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    let statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
    assert!(
        !statuses.contains(&500),
        "a login answered 500: {statuses:?}"
    );
    assert!(
        !busy.is_empty(),
        "64 logins on 1 worker + 2 queue slots: {statuses:?}"
    );
    for resp in &busy {
        assert!(
            retry_after(resp).is_some_and(|s| s >= 1),
            "503 without Retry-After"
        );
        assert_eq!(resp.body["success"], false);
    }
}

/// Runs one statement on the server's database directly.
async fn db_execute(server: &TestServer, sql: &'static str, args: &[&str]) -> u64 {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(server.database_url()).await.unwrap();
    let mut query = sqlx::query(sql);
    for arg in args {
        query = query.bind(arg.to_string());
    }
    let done = query.execute(&pool).await.unwrap();
    pool.close().await;
    done.rows_affected()
}

async fn stored_hash(server: &TestServer, username: &str) -> String {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(server.database_url()).await.unwrap();
    let row = sqlx::query("SELECT password_hash FROM users WHERE username = $1")
        .bind(username.to_string())
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    row.get::<String, _>(0)
}

async fn set_bcrypt_password(server: &TestServer, username: &str, password: &str) {
    let hash = bcrypt::hash(password, 4).unwrap();
    assert!(hash.starts_with("$2b$"));
    let sql = "UPDATE users SET password_hash = $1 WHERE username = $2";
    assert_eq!(db_execute(server, sql, &[&hash, username]).await, 1);
}

async fn bcrypt_user_signs_in_and_is_rehashed_to_argon2id(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.add_user("legacy", "viewer");
    set_bcrypt_password(&server, "legacy", "tutorial-password").await;

    let wrong = server.login_raw("legacy", "tutorial-passwore").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.text);
    assert!(stored_hash(&server, "legacy").await.starts_with("$2b$"));

    server.login("legacy", "tutorial-password").await;
    let upgraded = stored_hash(&server, "legacy").await;
    assert!(
        upgraded.starts_with("$argon2id$"),
        "stored hash is now {upgraded}"
    );
    server.login("legacy", "tutorial-password").await;
}

async fn bcrypt_password_differing_after_72_bytes_is_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.add_user("legacy", "viewer");
    let prefix = "p".repeat(72);
    // bcrypt::hash reads only the first 72 bytes, as the tutorial's bcryptjs does.
    set_bcrypt_password(&server, "legacy", &format!("{prefix}-the-real-tail")).await;

    let resp = server
        .login_raw("legacy", &format!("{prefix}-another-tail"))
        .await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{}", resp.text);
    assert!(stored_hash(&server, "legacy").await.starts_with("$2b$"));
}

// ---- input ---------------------------------------------------------------------------------

/// Slowloris: a connection that starts a request and never finishes its headers is closed
/// once the header read timeout (10 s) has passed, instead of holding a file descriptor for
/// ever; the server keeps answering others meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_finishes_its_headers_is_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let server = TestServer::start(Backend::Sqlite).await;
    let address = server.url("").trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n")
        .await
        .unwrap();
    let started = Instant::now();

    // The server answers a normal request while the slow one is open.
    assert_eq!(server.get("/healthz", None).await.status, StatusCode::OK);

    // Whatever the server sends before closing, the connection must reach end-of-file.
    let mut received = Vec::new();
    // (A reset instead of an orderly close is fine too.)
    let _ = tokio::time::timeout(Duration::from_secs(20), slow.read_to_end(&mut received))
        .await
        .expect("the half-sent request was still open after 20 s");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(9),
        "closed after {elapsed:?}, before the 10 s header timeout"
    );
    let text = String::from_utf8_lossy(&received);
    assert!(
        received.is_empty() || text.starts_with("HTTP/1.1 408"),
        "unexpected answer: {text}"
    );
}

/// A server with a signed-in admin, a property and another user, for body-route checks.
struct Bodies {
    server: TestServer,
    admin: Session,
    property_path: String,
    user_path: String,
}

impl Bodies {
    async fn new(backend: Backend) -> Bodies {
        let scene = Scene::new(backend, &[]).await;
        Bodies {
            property_path: format!("/api/properties/{}", scene.property_id),
            user_path: format!("/api/users/{}", scene.user_id),
            server: scene.server,
            admin: scene.admin,
        }
    }

    /// Every route that takes a JSON body, with a valid body for it.
    fn routes(&self) -> Vec<(Method, String, Value)> {
        vec![
            (
                Method::POST,
                "/api/auth/login".into(),
                json!({"username": "admin", "password": "wrong-password"}),
            ),
            (
                Method::POST,
                "/api/properties".into(),
                json!({"title": "Barn"}),
            ),
            (
                Method::PUT,
                self.property_path.clone(),
                json!({"title": "Barn"}),
            ),
            (
                Method::POST,
                "/api/users".into(),
                json!({"username": "newbie", "password": PASSWORD}),
            ),
            (
                Method::PATCH,
                self.user_path.clone(),
                json!({"role": "editor"}),
            ),
            (
                Method::POST,
                "/api/auth/password".into(),
                json!({"currentPassword": "wrong-password", "newPassword": PASSWORD}),
            ),
        ]
    }

    /// `body` as `content_type` (none if `None`), with the admin's token and CSRF pair.
    async fn send(
        &self,
        method: &Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let admin = &self.admin;
        let mut req = self
            .server
            .http
            .request(method.clone(), self.server.url(path))
            .header("authorization", format!("Bearer {}", admin.access_token))
            .header("x-csrf-token", &admin.csrf_token)
            .header("cookie", format!("csrfToken={}", admin.csrf_token))
            .body(body);
        if let Some(content_type) = content_type {
            req = req.header("content-type", content_type);
        }
        let response = req.send().await.expect("the server answers");
        Resp::read(response).await
    }
}

/// The error envelope `{"success": false, "error": {"message": "…"}}`, as JSON.
fn assert_error_envelope(resp: &Resp, what: &str) {
    let content_type = resp
        .headers
        .get("content-type")
        .map(|v| v.to_str().unwrap());
    assert!(
        content_type.is_some_and(|v| v.starts_with("application/json")),
        "{what}: content type {content_type:?}"
    );
    assert_eq!(resp.body["success"], false, "{what}: {}", resp.text);
    let message = resp.body["error"]["message"].as_str();
    assert!(
        message.is_some_and(|m| !m.is_empty()),
        "{what}: {}",
        resp.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_json_content_type_is_415_on_every_body_route() {
    let fx = Bodies::new(Backend::Sqlite).await;
    let content_types = [
        Some("text/plain"),
        Some("text/plain; charset=utf-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/xml"),
        Some("application/jsonp"),
        None,
    ];
    for (method, path, body) in fx.routes() {
        for content_type in content_types {
            let bytes = body.to_string().into_bytes();
            let resp = fx.send(&method, &path, content_type, bytes).await;
            let what = format!("{method} {path} as {content_type:?}");
            assert_eq!(
                resp.status,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{what}: {}",
                resp.text
            );
            assert_error_envelope(&resp, &what);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_over_64_kib_is_413_on_every_body_route() {
    let fx = Bodies::new(Backend::Sqlite).await;
    for (method, path, body) in fx.routes() {
        let padded = |total: usize| {
            let mut body = body.clone();
            let overhead = body.to_string().len() + r#","pad":"""#.len();
            body["pad"] = json!("x".repeat(total - overhead));
            let bytes = body.to_string().into_bytes();
            assert_eq!(bytes.len(), total);
            bytes
        };
        let json = Some("application/json");
        let under = fx.send(&method, &path, json, padded(60 * 1024)).await;
        assert_ne!(
            under.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{method} {path}, 60 KiB"
        );
        let over = fx.send(&method, &path, json, padded(64 * 1024 + 1)).await;
        let what = format!("{method} {path} with 64 KiB + 1 byte");
        assert_eq!(
            over.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{what}: {}",
            over.text
        );
        assert_error_envelope(&over, &what);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_or_wrong_shaped_json_is_400_with_the_envelope() {
    let fx = Bodies::new(Backend::Sqlite).await;
    let everywhere = [
        "",
        "{",
        "{\"title\":",
        "not json",
        "[]",
        "[1,2]",
        "42",
        "-1e999",
        "null",
        "true",
        "\"text\"",
        "{}",
        "{\"a\":1}{}",
        "\u{feff}{}",
        "{'title':'single quotes'}",
    ];
    let wrong_types: [&[&str]; 6] = [
        &[
            r#"{"username":["admin"],"password":"x"}"#,
            r#"{"username":"admin","password":123456789}"#,
            r#"{"username":"admin","password":null}"#,
            r#"{"username":{"$ne":null},"password":{"$ne":null}}"#,
        ],
        &[
            r#"{"title":123}"#,
            r#"{"title":"Barn","price":"100"}"#,
            r#"{"title":"Barn","address":{}}"#,
            r#"{"title":"Barn","price":1e400}"#,
            r#"{"title":"Barn","price":-5}"#,
        ],
        &[
            r#"{"title":null}"#,
            r#"{"title":["Barn"]}"#,
            r#"{"title":""}"#,
        ],
        &[
            r#"{"username":"bobby","password":12345678}"#,
            r#"{"username":"bobby","password":"long-enough","role":"root"}"#,
            r#"{"username":null,"password":"long-enough"}"#,
        ],
        &[
            r#"{"role":"root"}"#,
            r#"{"disabled":"true"}"#,
            r#"{"role":1}"#,
            r#"{"role":"editor","extra":1}"#,
        ],
        &[
            r#"{"currentPassword":1,"newPassword":"long-enough"}"#,
            r#"{"currentPassword":"x","newPassword":null}"#,
            r#"{"current_password":"x","new_password":"long-enough"}"#,
        ],
    ];
    for (i, (method, path, _)) in fx.routes().into_iter().enumerate() {
        for body in everywhere.iter().chain(wrong_types[i]) {
            let json = Some("application/json");
            let resp = fx
                .send(&method, &path, json, body.as_bytes().to_vec())
                .await;
            let what = format!("{method} {path} with {body:?}");
            assert_eq!(
                resp.status,
                StatusCode::BAD_REQUEST,
                "{what}: {}",
                resp.text
            );
            assert_error_envelope(&resp, &what);
        }
    }
}

async fn a_1_mb_password_is_refused_with_413(backend: Backend) {
    let server = TestServer::start(backend).await;
    let started = Instant::now();
    let resp = server.login_raw("admin", &"p".repeat(1024 * 1024)).await;
    let elapsed = started.elapsed();
    assert_eq!(resp.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", resp.text);
    assert_error_envelope(&resp, "1 MB password");
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

/// `n` concurrent failed logins, each for its own unknown account from its own address.
async fn concurrent_failed_logins(server: &Arc<TestServer>, password: &str, n: usize) -> Vec<Resp> {
    let mut logins = tokio::task::JoinSet::new();
    for i in 0..n {
        let (server, password) = (server.clone(), password.to_string());
        logins.spawn(async move {
            let (name, address) = (format!("nobody-{i}"), format!("192.0.2.{}", i + 1));
            login_from(&server, &name, &password, &address).await
        });
    }
    logins.join_all().await
}

async fn a_60_kb_password_is_refused_quickly_without_hashing(backend: Backend) {
    // One hashing worker and one queue slot: logins that hash, sent at once, overflow (503).
    let env = [
        ("TESSERA_TRUSTED_PROXIES", "127.0.0.1"),
        ("TESSERA_HASH_WORKERS", "1"),
        ("TESSERA_HASH_QUEUE", "1"),
    ];
    let server = Arc::new(TestServer::start_with(backend, &env).await);
    let huge = "p".repeat(60 * 1000);

    let mut times = Vec::new();
    for i in 0..3 {
        let started = Instant::now();
        let resp = login_from(&server, "admin", &huge, &format!("198.51.100.{i}")).await;
        times.push(started.elapsed());
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{}", resp.text);
        assert_eq!(resp.message(), "Invalid credentials");
    }
    let typical = median(&mut times);
    assert!(
        typical < Duration::from_millis(200),
        "a 60 KB password took {typical:?}"
    );

    // Control: 16 ordinary wrong passwords at once are hashed, so the pool overflows.
    let ordinary = concurrent_failed_logins(&server, "wrong-password", 16).await;
    let statuses: Vec<u16> = ordinary.iter().map(|r| r.status.as_u16()).collect();
    assert!(
        statuses.contains(&503),
        "control overflowed nothing: {statuses:?}"
    );

    // 16 60 KB passwords at once: none reaches the hashing pool.
    let huge_ones = concurrent_failed_logins(&server, &huge, 16).await;
    let statuses: Vec<u16> = huge_ones.iter().map(|r| r.status.as_u16()).collect();
    assert!(
        statuses.iter().all(|s| *s == 401),
        "60 KB passwords were hashed: {statuses:?}"
    );
}

// ---- usernames -----------------------------------------------------------------------------

async fn create_user(server: &TestServer, admin: &Session, username: &str) -> Resp {
    let body = json!({"username": username, "password": PASSWORD});
    server
        .write(Method::POST, "/api/users", admin, Some(body))
        .await
}

async fn full_width_admin_is_the_same_account_as_admin(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.login_admin().await;

    let resp = server.login_raw("ａｄｍｉｎ", &server.admin_password).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text);
    assert_eq!(resp.data()["user"]["id"], admin.user["id"]);
    assert_eq!(resp.data()["user"]["username"], "admin");

    let resp = create_user(&server, &admin, "ａｄｍｉｎ").await;
    assert_eq!(resp.status, StatusCode::CONFLICT, "{}", resp.text);
    assert_error_envelope(&resp, "full-width admin");
}

async fn dotless_and_dotted_i_lookalikes_cannot_sign_in_or_register(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.login_admin().await;

    for lookalike in ["admın", "ADMİN", "admİn"] {
        let resp = server.login_raw(lookalike, &server.admin_password).await;
        assert_eq!(
            resp.status,
            StatusCode::UNAUTHORIZED,
            "{lookalike}: {}",
            resp.text
        );
        assert_eq!(resp.message(), "Invalid credentials");

        let resp = create_user(&server, &admin, lookalike).await;
        assert_eq!(
            resp.status,
            StatusCode::BAD_REQUEST,
            "{lookalike}: {}",
            resp.text
        );
        assert_error_envelope(&resp, lookalike);
    }
    let users = server.get("/api/users", Some(&admin.access_token)).await;
    assert_eq!(users.data().as_array().unwrap().len(), 1, "{}", users.text);
}

// ---- cookies -------------------------------------------------------------------------------

/// The attributes of a Set-Cookie header, names lower-cased, without the name=value pair.
fn cookie_attributes(set_cookie: &str) -> BTreeMap<String, String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|attr| {
            let (name, value) = attr.split_once('=').unwrap_or((attr, ""));
            (name.trim().to_ascii_lowercase(), value.trim().to_string())
        })
        .collect()
}

fn production_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("TESSERA_MODE", "production"),
        ("TESSERA_JWT_SECRET", SECRET),
    ]
}

async fn production_cookies_carry_secure(backend: Backend) {
    let server = TestServer::start_with(backend, &production_env()).await;
    let resp = server.login_raw("admin", &server.admin_password).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text);
    for name in ["refreshToken", "csrfToken"] {
        let header = resp.set_cookie(name).unwrap();
        assert!(
            cookie_attributes(&header).contains_key("secure"),
            "{header}"
        );
    }
    let session = Session::from_grant(&resp);
    let refreshed = server.refresh_with(&session.refresh_token).await;
    assert!(
        cookie_attributes(&refreshed.set_cookie("refreshToken").unwrap()).contains_key("secure")
    );
}

const HOST_COOKIE: &str = "__Host-refreshToken";

async fn host_prefixed_refresh_cookie_works_in_production(backend: Backend) {
    let mut env = production_env();
    env.push(("TESSERA_REFRESH_COOKIE", HOST_COOKIE));
    let server = TestServer::start_with(backend, &env).await;

    let login = server.login_raw("admin", &server.admin_password).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
    let set = login
        .set_cookie(HOST_COOKIE)
        .expect("a __Host- refresh cookie");
    let attrs = cookie_attributes(&set);
    assert_eq!(attrs.get("path").map(String::as_str), Some("/"), "{set}");
    assert!(
        attrs.contains_key("secure") && attrs.contains_key("httponly"),
        "{set}"
    );
    assert!(
        !attrs.contains_key("domain"),
        "__Host- cookies carry no Domain: {set}"
    );

    let first = login.cookie(HOST_COOKIE).unwrap();
    let refresh = Req::new(Method::POST, "/api/auth/refresh").cookie(HOST_COOKIE, &first);
    let rotated = server.send(refresh).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    let second = rotated
        .cookie(HOST_COOKIE)
        .expect("a rotated __Host- cookie");
    assert_ne!(second, first);
    let csrf = rotated.cookie("csrfToken").unwrap();

    let logout = Req::new(Method::POST, "/api/auth/logout")
        .cookie(HOST_COOKIE, &second)
        .cookie("csrfToken", &csrf)
        .csrf(&csrf);
    let resp = server.send(logout).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text);
    let again = server
        .send(Req::new(Method::POST, "/api/auth/refresh").cookie(HOST_COOKIE, &second))
        .await;
    assert_eq!(
        again.status,
        StatusCode::UNAUTHORIZED,
        "logout revoked the session"
    );
}

async fn logout_clears_the_refresh_cookie_with_the_attributes_it_was_set_with(backend: Backend) {
    let mut host_env = production_env();
    host_env.push(("TESSERA_REFRESH_COOKIE", HOST_COOKIE));
    let setups: [(&str, Vec<(&str, &str)>); 3] = [
        ("refreshToken", vec![]),
        ("refreshToken", production_env()),
        (HOST_COOKIE, host_env),
    ];
    for (name, env) in setups {
        let server = TestServer::start_with(backend, &env).await;
        let login = server.login_raw("admin", &server.admin_password).await;
        let set = login.set_cookie(name).unwrap();
        let refresh = login.cookie(name).unwrap();
        let csrf = login.cookie("csrfToken").unwrap();

        let logout = Req::new(Method::POST, "/api/auth/logout")
            .cookie(name, &refresh)
            .cookie("csrfToken", &csrf)
            .csrf(&csrf);
        let resp = server.send(logout).await;
        assert_eq!(resp.status, StatusCode::OK, "{}", resp.text);
        let cleared = resp
            .set_cookie(name)
            .expect("the refresh cookie is cleared");
        assert_eq!(
            cleared.split(';').next().unwrap(),
            format!("{name}="),
            "{cleared}"
        );

        let (mut set_attrs, mut cleared_attrs) =
            (cookie_attributes(&set), cookie_attributes(&cleared));
        assert_eq!(
            cleared_attrs.get("max-age").map(String::as_str),
            Some("0"),
            "{cleared}"
        );
        for attrs in [&mut set_attrs, &mut cleared_attrs] {
            attrs.remove("max-age");
            attrs.remove("expires");
        }
        assert_eq!(
            cleared_attrs, set_attrs,
            "{env:?}: set {set:?}, cleared {cleared:?}"
        );
    }
}

/// A refresh token issued before tokens named their session (a bare 43-character secret,
/// stored as its plain SHA-256) still rotates, into a token of the current form.
async fn refresh_token_of_the_earlier_form_still_rotates(backend: Backend) {
    use tessera::auth::token::{random_secret, refresh_token_hash, sha256_hex};
    let server = TestServer::start(backend).await;
    let session = server.login_admin().await;
    let legacy = random_secret();
    let sql = "UPDATE sessions SET refresh_hash = $1 WHERE refresh_hash = $2";
    let current = refresh_token_hash(&session.refresh_token);
    assert_eq!(
        db_execute(&server, sql, &[&sha256_hex(&legacy), &current]).await,
        1
    );

    let resp = server.refresh_with(&legacy).await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    let next = resp.cookie("refreshToken").unwrap();
    let (session_id, _) = next
        .split_once('.')
        .expect("the new token names its session");
    assert_eq!(session.refresh_token.split_once('.').unwrap().0, session_id);
    assert_eq!(server.refresh_with(&next).await.status, StatusCode::OK);
}

/// The session id in a refresh token is not trusted on its own: the same secret behind
/// another session's id matches nothing, and neither session is harmed.
async fn a_refresh_token_naming_another_session_matches_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut mine = server.login_admin().await;
    let mut other = server.login_admin().await;
    let (my_id, secret) = mine.refresh_token.split_once('.').unwrap();
    let (other_id, _) = other.refresh_token.split_once('.').unwrap();
    assert_ne!(my_id, other_id);

    let forged = format!("{other_id}.{secret}");
    let resp = server.refresh_with(&forged).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(resp.body["success"], false);

    assert_eq!(server.refresh(&mut mine).await.status, StatusCode::OK);
    assert_eq!(server.refresh(&mut other).await.status, StatusCode::OK);
}
