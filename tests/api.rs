//! The main flow, black-box over real sockets, on SQLite and on PostgreSQL: login, protected
//! and role-gated API, rotating refresh, logout, CSRF, and restarts.

mod common;

use common::{Backend, PASSWORD, Req, Resp, TestServer, run_pg};
use reqwest::{Method, StatusCode};
use serde_json::json;

on_both_databases!(
    login_returns_token_user_and_cookies,
    login_without_fields_is_400,
    wrong_password_and_unknown_user_get_the_same_401,
    username_case_and_spaces_are_ignored,
    protected_route_needs_a_valid_token,
    roles_gate_property_writes,
    property_crud_round_trip,
    refresh_rotates_and_the_old_token_dies,
    logout_needs_csrf_then_revokes,
    mismatched_csrf_on_property_post_is_403,
    refresh_token_is_not_an_access_token_and_vice_versa,
    disabled_or_deleted_user_token_is_refused,
    refresh_cookie_survives_a_restart,
    me_and_csrf_endpoints_answer,
    health_and_readiness_answer,
    admin_manages_users_over_the_api,
    new_user_defaults_to_viewer,
    cors_is_granted_only_to_configured_origins,
    security_headers_are_set,
    every_response_carries_a_request_id,
);

async fn login_returns_token_user_and_cookies(backend: Backend) {
    let server = TestServer::start(backend).await;
    let resp = server.login_raw("admin", &server.admin_password).await;

    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.body["success"], true);
    let data = resp.data();
    assert!(data["accessToken"].as_str().unwrap().split('.').count() == 3);
    assert_eq!(data["user"]["username"], "admin");
    assert_eq!(data["user"]["role"], "admin");
    assert!(data["user"]["id"].is_string());

    let refresh = resp.set_cookie("refreshToken").unwrap();
    assert!(refresh.contains("HttpOnly"));
    assert!(refresh.contains("SameSite=Lax"));
    assert!(refresh.contains("Path=/api/auth"));
    assert!(refresh.contains("Max-Age=604800"));
    let csrf = resp.set_cookie("csrfToken").unwrap();
    assert!(!csrf.contains("HttpOnly"));
    assert!(csrf.contains("Path=/"));
}

async fn login_without_fields_is_400(backend: Backend) {
    let server = TestServer::start(backend).await;
    for body in [
        json!({}),
        json!({"username": "admin"}),
        json!({"password": "x"}),
        json!({"username": 5, "password": true}),
        json!([]),
        json!(null),
        json!(42),
    ] {
        let resp = server
            .send(Req::new(Method::POST, "/api/auth/login").json(body.clone()))
            .await;
        assert_eq!(resp.status, StatusCode::BAD_REQUEST, "body {body}");
        assert_eq!(resp.message(), "Username and password are required");
        assert_eq!(resp.body["success"], false);
    }
}

async fn wrong_password_and_unknown_user_get_the_same_401(backend: Backend) {
    let server = TestServer::start(backend).await;
    let wrong = server.login_raw("admin", "not-the-password").await;
    let unknown = server.login_raw("nobody-here", "not-the-password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.text, unknown.text);
    assert_eq!(wrong.message(), "Invalid credentials");
}

async fn username_case_and_spaces_are_ignored(backend: Backend) {
    let server = TestServer::start(backend).await;
    let resp = server.login_raw("  ADMIN  ", &server.admin_password).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.data()["user"]["username"], "admin");
}

async fn protected_route_needs_a_valid_token(backend: Backend) {
    let server = TestServer::start(backend).await;
    let none = server.get("/api/properties", None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.message(), "Access denied. No token provided.");

    let garbage = server
        .get("/api/properties", Some("garbage.token.here"))
        .await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    assert_eq!(garbage.message(), "Access denied. Invalid token.");

    let session = server.login_admin().await;
    let ok = server
        .get("/api/properties", Some(&session.access_token))
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(ok.data()["items"].is_array());
}

async fn roles_gate_property_writes(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.add_user("vera", "viewer");
    server.add_user("eddie", "editor");
    let viewer = server.login("vera", PASSWORD).await;
    let editor = server.login("eddie", PASSWORD).await;
    let admin = server.login_admin().await;
    let body =
        json!({"title": "Cottage", "address": "1 Lane", "price": 250000, "description": "Nice"});

    let denied = server
        .write(Method::POST, "/api/properties", &viewer, Some(body.clone()))
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.message(), "Access denied. Insufficient permissions.");

    let created = server
        .write(Method::POST, "/api/properties", &editor, Some(body))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.data()["id"].as_str().unwrap().to_string();
    let path = format!("/api/properties/{id}");

    let viewer_reads = server.get(&path, Some(&viewer.access_token)).await;
    assert_eq!(viewer_reads.status, StatusCode::OK);

    let editor_delete = server.write(Method::DELETE, &path, &editor, None).await;
    assert_eq!(editor_delete.status, StatusCode::FORBIDDEN);

    let admin_delete = server.write(Method::DELETE, &path, &admin, None).await;
    assert_eq!(admin_delete.status, StatusCode::OK);
    assert_eq!(
        server.get(&path, Some(&admin.access_token)).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn property_crud_round_trip(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.login_admin().await;
    for n in 0..3 {
        let body = json!({"title": format!("House {n}"), "price": 100 + n});
        let resp = server
            .write(Method::POST, "/api/properties", &admin, Some(body))
            .await;
        assert_eq!(resp.status, StatusCode::CREATED);
    }
    let page = server
        .get(
            "/api/properties?page=2&perPage=2",
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.data()["total"], 3);
    assert_eq!(page.data()["page"], 2);
    let items = page.data()["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["title"], "House 2");

    let id = items[0]["id"].as_str().unwrap();
    let path = format!("/api/properties/{id}");
    let update =
        json!({"title": "House 2b", "address": "2 Road", "price": 5.5, "description": null});
    let updated = server.write(Method::PUT, &path, &admin, Some(update)).await;
    assert_eq!(updated.status, StatusCode::OK);
    assert_eq!(updated.data()["title"], "House 2b");
    let fetched = server.get(&path, Some(&admin.access_token)).await;
    assert_eq!(fetched.data()["address"], "2 Road");
    assert_eq!(fetched.data()["price"], 5.5);

    let no_title = server
        .write(Method::PUT, &path, &admin, Some(json!({"title": "  "})))
        .await;
    assert_eq!(no_title.status, StatusCode::BAD_REQUEST);
    let bad_page = server
        .get("/api/properties?page=zero", Some(&admin.access_token))
        .await;
    assert_eq!(bad_page.status, StatusCode::BAD_REQUEST);
}

async fn refresh_rotates_and_the_old_token_dies(backend: Backend) {
    // No grace window, so the old token is dead at once.
    let server = TestServer::start_with(backend, &[("TESSERA_REFRESH_GRACE", "0")]).await;
    let mut session = server.login_admin().await;
    let old_refresh = session.refresh_token.clone();
    let old_access = session.access_token.clone();

    let resp = server.refresh(&mut session).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_ne!(session.refresh_token, old_refresh, "a new refresh cookie");
    assert_ne!(session.access_token, old_access, "a new access token");
    assert_eq!(resp.data()["user"]["username"], "admin");
    let ok = server
        .get("/api/auth/me", Some(&session.access_token))
        .await;
    assert_eq!(ok.status, StatusCode::OK);

    // Wait past the (zero-second) window so the replay is reuse, not a second tab.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let replay = server.refresh_with(&old_refresh).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);

    let none = server
        .send(Req::new(Method::POST, "/api/auth/refresh"))
        .await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.message(), "No refresh token");
}

async fn logout_needs_csrf_then_revokes(backend: Backend) {
    let server = TestServer::start(backend).await;
    let session = server.login_admin().await;

    let without = server
        .send(
            Req::new(Method::POST, "/api/auth/logout")
                .cookie("refreshToken", &session.refresh_token)
                .cookie("csrfToken", &session.csrf_token),
        )
        .await;
    assert_eq!(without.status, StatusCode::FORBIDDEN);
    assert_eq!(without.message(), "Invalid CSRF token");

    let resp = server.logout(&session).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.body, json!({"success": true}));
    let cleared = resp.set_cookie("refreshToken").unwrap();
    assert!(cleared.contains("Max-Age=0") && cleared.contains("Path=/api/auth"));
    assert!(cleared.contains("HttpOnly"));
    assert!(resp.set_cookie("csrfToken").unwrap().contains("Max-Age=0"));

    assert_eq!(
        server.refresh_with(&session.refresh_token).await.status,
        StatusCode::UNAUTHORIZED
    );
    let me = server
        .get("/api/auth/me", Some(&session.access_token))
        .await;
    assert_eq!(
        me.status,
        StatusCode::UNAUTHORIZED,
        "logout ends the access token too"
    );
}

async fn mismatched_csrf_on_property_post_is_403(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.login_admin().await;
    let body = json!({"title": "Barn"});
    let resp = server
        .send(
            Req::new(Method::POST, "/api/properties")
                .bearer(&admin.access_token)
                .cookie("csrfToken", &admin.csrf_token)
                .csrf("something-else")
                .json(body.clone()),
        )
        .await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
    assert_eq!(resp.message(), "Invalid CSRF token");

    let missing = server
        .send(
            Req::new(Method::POST, "/api/properties")
                .bearer(&admin.access_token)
                .json(body),
        )
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
}

async fn refresh_token_is_not_an_access_token_and_vice_versa(backend: Backend) {
    let server = TestServer::start(backend).await;
    let session = server.login_admin().await;
    let as_bearer = server
        .get("/api/auth/me", Some(&session.refresh_token))
        .await;
    assert_eq!(as_bearer.status, StatusCode::UNAUTHORIZED);
    let as_cookie = server.refresh_with(&session.access_token).await;
    assert_eq!(as_cookie.status, StatusCode::UNAUTHORIZED);
}

async fn disabled_or_deleted_user_token_is_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.add_user("dana", "editor");
    server.add_user("dora", "editor");
    let dana = server.login("dana", PASSWORD).await;
    let dora = server.login("dora", PASSWORD).await;
    assert_eq!(
        server
            .get("/api/auth/me", Some(&dana.access_token))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        server
            .get("/api/auth/me", Some(&dora.access_token))
            .await
            .status,
        StatusCode::OK
    );

    // Through the CLI (another process): refused within the 5-second propagation bound.
    assert!(
        server
            .cli(&["user", "disable", "dana"], "")
            .status
            .success()
    );
    let started = std::time::Instant::now();
    loop {
        let me = server.get("/api/auth/me", Some(&dana.access_token)).await;
        if me.status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            started.elapsed().as_secs_f64() < 5.0,
            "disabled user still accepted after 5 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        server.refresh_with(&dana.refresh_token).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        server.login_raw("dana", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Through the API of this instance: refused at once.
    let admin = server.login_admin().await;
    let users = server.get("/api/users", Some(&admin.access_token)).await;
    let dora_id = users
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "dora")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let deleted = server
        .write(
            Method::DELETE,
            &format!("/api/users/{dora_id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    let me = server.get("/api/auth/me", Some(&dora.access_token)).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
}

async fn refresh_cookie_survives_a_restart(backend: Backend) {
    let mut server = TestServer::start(backend).await;
    let mut session = server.login_admin().await;
    server.restart();
    assert_eq!(
        server
            .get("/api/auth/me", Some(&session.access_token))
            .await
            .status,
        StatusCode::OK,
        "the persisted signing secret keeps access tokens valid"
    );
    let resp = server.refresh(&mut session).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text);
    assert_eq!(
        server.admin_password, "",
        "the admin password is printed on first run only"
    );
}

async fn me_and_csrf_endpoints_answer(backend: Backend) {
    let server = TestServer::start(backend).await;
    let session = server.login_admin().await;
    let me = server
        .get("/api/auth/me", Some(&session.access_token))
        .await;
    assert_eq!(me.data()["user"]["username"], "admin");

    let csrf = server
        .send(
            Req::new(Method::GET, "/api/auth/csrf").cookie("refreshToken", &session.refresh_token),
        )
        .await;
    assert_eq!(csrf.status, StatusCode::OK);
    let token = csrf.data()["csrfToken"].as_str().unwrap().to_string();
    assert_eq!(csrf.cookie("csrfToken").unwrap(), token);
    // A token from /csrf is bound to the same session, so it works for writes.
    let resp = server
        .send(
            Req::new(Method::POST, "/api/properties")
                .bearer(&session.access_token)
                .cookie("csrfToken", &token)
                .csrf(&token)
                .json(json!({"title": "Loft"})),
        )
        .await;
    assert_eq!(resp.status, StatusCode::CREATED);
}

async fn health_and_readiness_answer(backend: Backend) {
    let server = TestServer::start(backend).await;
    assert_eq!(server.get("/healthz", None).await.status, StatusCode::OK);
    let ready = server.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.data()["status"], "ready");
    server.login_admin().await;
    let metrics = server.get("/metrics", None).await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics
            .text
            .contains("tessera_logins_total{result=\"success\"} 1"),
        "{}",
        metrics.text
    );
    let unknown = server.get("/api/nothing-here", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body["success"], false);
}

async fn admin_manages_users_over_the_api(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.login_admin().await;
    let created = server
        .write(
            Method::POST,
            "/api/users",
            &admin,
            Some(json!({"username": "Carol", "password": PASSWORD, "role": "editor"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.data()["user"]["username"], "carol");
    let id = created.data()["user"]["id"].as_str().unwrap().to_string();

    let dup = server
        .write(
            Method::POST,
            "/api/users",
            &admin,
            Some(json!({"username": "CAROL", "password": PASSWORD})),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);

    let list = server.get("/api/users", Some(&admin.access_token)).await;
    assert_eq!(list.data().as_array().unwrap().len(), 2);

    let carol = server.login("carol", PASSWORD).await;
    assert_eq!(
        server
            .get("/api/users", Some(&carol.access_token))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let path = format!("/api/users/{id}");
    let patched = server
        .write(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    assert_eq!(patched.data()["user"]["role"], "viewer");
    assert_eq!(
        server
            .get("/api/auth/me", Some(&carol.access_token))
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "a role change ends the user's sessions"
    );

    let removed = server.write(Method::DELETE, &path, &admin, None).await;
    assert_eq!(removed.status, StatusCode::OK);
    assert_eq!(
        server.login_raw("carol", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn new_user_defaults_to_viewer(backend: Backend) {
    let server = TestServer::start(backend).await;
    let out = server.cli(
        &["user", "add", "nora", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success());
    let nora = server.login("nora", PASSWORD).await;
    assert_eq!(nora.user["role"], "viewer");

    let admin = server.login_admin().await;
    let created = server
        .write(
            Method::POST,
            "/api/users",
            &admin,
            Some(json!({"username": "olga", "password": PASSWORD})),
        )
        .await;
    assert_eq!(created.data()["user"]["role"], "viewer");
}

async fn cors_is_granted_only_to_configured_origins(backend: Backend) {
    let server = TestServer::start_with(
        backend,
        &[("TESSERA_ALLOWED_ORIGINS", "http://localhost:5173")],
    )
    .await;
    let preflight = |origin: &'static str| {
        Req::new(Method::OPTIONS, "/api/auth/login")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,x-csrf-token",
            )
    };
    let allowed = server.send(preflight("http://localhost:5173")).await;
    assert_eq!(
        allowed.headers["access-control-allow-origin"],
        "http://localhost:5173"
    );
    assert_eq!(allowed.headers["access-control-allow-credentials"], "true");
    // A preflight is answered by the CORS layer, and still carries the security headers.
    assert_eq!(allowed.headers["x-content-type-options"], "nosniff");
    assert_eq!(allowed.headers["x-frame-options"], "DENY");
    assert_eq!(allowed.headers["cache-control"], "no-store");
    assert!(allowed.headers.contains_key("x-request-id"));
    let foreign = server.send(preflight("https://evil.example")).await;
    assert!(foreign.headers.get("access-control-allow-origin").is_none());

    let login = server
        .send(
            Req::new(Method::POST, "/api/auth/login")
                .header("origin", "http://localhost:5173")
                .json(json!({"username": "admin", "password": server.admin_password})),
        )
        .await;
    assert_eq!(
        login.status,
        StatusCode::OK,
        "a configured origin may sign in"
    );
}

async fn security_headers_are_set(backend: Backend) {
    let server = TestServer::start(backend).await;
    for path in ["/", "/api/auth/me"] {
        let resp = server.get(path, None).await;
        assert_eq!(resp.headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(resp.headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(resp.headers["referrer-policy"], "no-referrer", "{path}");
    }
    let api = server.get("/api/auth/me", None).await;
    assert_eq!(api.headers["cache-control"], "no-store");
    // `/api` itself is an API path: a 404 envelope, not the web page.
    for path in ["/api", "/api/"] {
        let resp = server.get(path, None).await;
        assert_eq!(resp.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(resp.body["success"], false, "{path}: {}", resp.text);
        assert_eq!(resp.headers["x-frame-options"], "DENY", "{path}");
    }
    let page = server.get("/", None).await;
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("object-src 'none'") && csp.contains("frame-ancestors 'none'"));
}

async fn every_response_carries_a_request_id(backend: Backend) {
    let server = TestServer::start(backend).await;
    let id_of = |resp: &Resp| {
        let text = resp.headers["x-request-id"].to_str().unwrap().to_string();
        let id = uuid::Uuid::parse_str(&text).expect("the request id is a UUID");
        assert_eq!(id.get_version_num(), 4, "{text}");
        text
    };
    let first = id_of(&server.get("/api/auth/me", None).await);
    let second = id_of(&server.get("/healthz", None).await);
    assert_ne!(first, second, "each request gets its own id");

    // An id sent by a proxy in front is kept, so logs on both sides line up.
    let resp = server
        .send(Req::new(Method::GET, "/healthz").header("x-request-id", "edge-42"))
        .await;
    assert_eq!(resp.headers["x-request-id"], "edge-42");

    // One that is too long, empty, not visible ASCII, or sent twice is replaced by a fresh
    // one, so a client cannot write its own text into the logs.
    let long = "a".repeat(129);
    for bad in [long.as_str(), "", "has space", "tab\there"] {
        let resp = server
            .send(Req::new(Method::GET, "/healthz").header("x-request-id", bad))
            .await;
        assert_eq!(resp.status, StatusCode::OK);
        id_of(&resp);
    }
    let twice = server
        .send(
            Req::new(Method::GET, "/healthz")
                .header("x-request-id", "one")
                .header("x-request-id", "two"),
        )
        .await;
    id_of(&twice);
    let longest = "b".repeat(128);
    let kept = server
        .send(Req::new(Method::GET, "/healthz").header("x-request-id", &longest))
        .await;
    assert_eq!(kept.headers["x-request-id"], longest.as_str());
}

/// PostgreSQL ends every connection to tessera's database, as a restart of the database
/// server would. Each broken pooled connection costs at most one failed request — a 503
/// envelope, never a hang or a 500 — and the server then answers normally, reads and
/// writes alike, without being restarted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_postgres_connections_are_replaced_after_at_most_one_failure_each() {
    let server = TestServer::start(Backend::Postgres).await;
    let database = server
        .database_url()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();

    // Open several pooled connections with concurrent readiness checks.
    let client = reqwest::Client::new();
    let ready_url = server.url("/readyz");
    let mut checks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (client, url) = (client.clone(), ready_url.clone());
        checks.spawn(async move { client.get(url).send().await.unwrap().status() });
    }
    while let Some(status) = checks.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }

    run_pg(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
    ));

    // Right away (the connections were used moments ago, so none is re-checked before use).
    let mut failures = 0;
    for attempt in 0..40 {
        let resp = server.get("/readyz", None).await;
        match resp.status {
            StatusCode::OK => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(resp.body["success"], false, "{}", resp.text);
                assert!(resp.headers.contains_key("retry-after"));
                failures += 1;
                assert!(attempt < 20, "attempt {attempt} still failed");
            }
            other => panic!("attempt {attempt}: unexpected {other}: {}", resp.text),
        }
    }
    assert!(
        failures <= 16,
        "{failures} failures for a pool of at most 16 connections"
    );

    // Writes work again too: a login inserts a session.
    let session = server.login_admin().await;
    let me = server
        .get("/api/auth/me", Some(&session.access_token))
        .await;
    assert_eq!(me.status, StatusCode::OK);
}
