//! Sessions that can't be stolen, forked or outlived (RFC 9700 §4.14.2, OWASP ASVS 5.0 §7):
//! reuse detection, the tab-safe grace window under truly parallel refreshes, lifetimes,
//! revocation reaching access tokens (on this and on another instance), session management.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Backend, PASSWORD, Req, Session, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;

on_both_databases!(
    reuse_after_the_window_kills_the_successor,
    reuse_spares_the_users_second_device,
    two_parallel_refreshes_both_stay_signed_in,
    twenty_parallel_refreshes_leave_at_most_one_live_chain,
    loser_just_inside_the_window_gets_the_session,
    loser_just_outside_the_window_revokes_the_session,
    logout_refuses_the_access_token_at_once,
    logout_during_concurrent_use_ends_the_token_for_good,
    role_change_admin_to_viewer_stops_the_old_token_deleting,
    absolute_lifetime_ends_the_session_even_after_rotation,
    idle_lifetime_slides_with_each_refresh,
    cookie_max_age_follows_the_configured_lifetime,
    a_second_instance_sees_a_revocation_within_five_seconds,
    sessions_api_lists_and_revokes_my_sessions,
    logout_all_ends_every_session,
    password_change_needs_the_current_one_and_ends_other_sessions,
    expired_sessions_are_deleted_by_the_cleanup,
);

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

async fn me_status(server: &TestServer, session: &Session) -> StatusCode {
    server
        .get("/api/auth/me", Some(&session.access_token))
        .await
        .status
}

async fn reuse_after_the_window_kills_the_successor(backend: Backend) {
    let server = TestServer::start_with(backend, &[("TESSERA_REFRESH_GRACE", "1")]).await;
    let mut session = server.login_admin().await;
    let stolen = session.refresh_token.clone();
    assert_eq!(server.refresh(&mut session).await.status, StatusCode::OK);

    sleep_ms(2_200).await;
    let replay = server.refresh_with(&stolen).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);

    assert_eq!(
        server.refresh_with(&session.refresh_token).await.status,
        StatusCode::UNAUTHORIZED,
        "the successor refresh token dies with the session"
    );
    assert_eq!(
        me_status(&server, &session).await,
        StatusCode::UNAUTHORIZED,
        "and its access token"
    );
}

async fn reuse_spares_the_users_second_device(backend: Backend) {
    let server = TestServer::start_with(backend, &[("TESSERA_REFRESH_GRACE", "1")]).await;
    let mut laptop = server.login_admin().await;
    let mut phone = server.login_admin().await;
    let stolen = laptop.refresh_token.clone();
    assert_eq!(server.refresh(&mut laptop).await.status, StatusCode::OK);

    sleep_ms(2_200).await;
    assert_eq!(
        server.refresh_with(&stolen).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(me_status(&server, &laptop).await, StatusCode::UNAUTHORIZED);

    assert_eq!(me_status(&server, &phone).await, StatusCode::OK);
    assert_eq!(server.refresh(&mut phone).await.status, StatusCode::OK);
}

/// Fires `n` refreshes with the same token at once, each on its own connection.
async fn parallel_refreshes(server: &TestServer, token: &str, n: usize) -> Vec<common::Resp> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = Vec::new();
    for _ in 0..n {
        let url = server.url("/api/auth/refresh");
        let cookie = format!("refreshToken={token}");
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            // A client per request: separate connections, truly concurrent on the server.
            let client = reqwest::Client::new();
            barrier.wait().await;
            client
                .post(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
        }));
    }
    let mut out = Vec::new();
    for task in tasks {
        out.push(common::Resp::read(task.await.unwrap()).await);
    }
    out
}

async fn two_parallel_refreshes_both_stay_signed_in(backend: Backend) {
    let server = TestServer::start(backend).await;
    let session = server.login_admin().await;
    let results = parallel_refreshes(&server, &session.refresh_token, 2).await;
    for resp in &results {
        assert_eq!(resp.status, StatusCode::OK, "{}", resp.text);
        let token = resp.data()["accessToken"].as_str().unwrap();
        assert_eq!(
            server.get("/api/auth/me", Some(token)).await.status,
            StatusCode::OK
        );
    }
    let new_cookies: Vec<_> = results
        .iter()
        .filter_map(|r| r.cookie("refreshToken"))
        .collect();
    assert_eq!(
        new_cookies.len(),
        1,
        "exactly one new refresh token: the session never forks"
    );
}

async fn twenty_parallel_refreshes_leave_at_most_one_live_chain(backend: Backend) {
    let server = TestServer::start(backend).await;
    let session = server.login_admin().await;
    let results = parallel_refreshes(&server, &session.refresh_token, 20).await;

    assert!(
        results
            .iter()
            .all(|r| r.status.is_success() || r.status == StatusCode::UNAUTHORIZED)
    );
    assert!(results.iter().all(|r| !r.status.is_server_error()));
    let issued: Vec<String> = results
        .iter()
        .filter_map(|r| r.cookie("refreshToken"))
        .collect();
    assert_eq!(
        issued.len(),
        1,
        "one refresh token gave rise to {} tokens",
        issued.len()
    );

    // The one issued token continues the chain; nothing else does.
    let mut live = 0;
    for token in &issued {
        if server.refresh_with(token).await.status == StatusCode::OK {
            live += 1;
        }
    }
    assert_eq!(live, 1);
}

async fn loser_just_inside_the_window_gets_the_session(backend: Backend) {
    let server = TestServer::start_with(backend, &[("TESSERA_REFRESH_GRACE", "2")]).await;
    let mut session = server.login_admin().await;
    let previous = session.refresh_token.clone();
    assert_eq!(server.refresh(&mut session).await.status, StatusCode::OK);

    sleep_ms(900).await;
    let late_tab = server.refresh_with(&previous).await;
    assert_eq!(late_tab.status, StatusCode::OK, "{}", late_tab.text);
    assert_eq!(
        late_tab.cookie("refreshToken"),
        None,
        "no second refresh token"
    );
    let token = late_tab.data()["accessToken"].as_str().unwrap();
    assert_eq!(
        server.get("/api/auth/me", Some(token)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        server.refresh(&mut session).await.status,
        StatusCode::OK,
        "the chain goes on"
    );
}

async fn loser_just_outside_the_window_revokes_the_session(backend: Backend) {
    let server = TestServer::start_with(backend, &[("TESSERA_REFRESH_GRACE", "2")]).await;
    let mut session = server.login_admin().await;
    let previous = session.refresh_token.clone();
    assert_eq!(server.refresh(&mut session).await.status, StatusCode::OK);

    sleep_ms(3_200).await;
    assert_eq!(
        server.refresh_with(&previous).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        server.refresh_with(&session.refresh_token).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn logout_refuses_the_access_token_at_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let session = server.login_admin().await;
    assert_eq!(me_status(&server, &session).await, StatusCode::OK);
    assert_eq!(server.logout(&session).await.status, StatusCode::OK);
    assert_eq!(me_status(&server, &session).await, StatusCode::UNAUTHORIZED);
}

/// Requests with the same token keep the session cache busy (misses, refresh-ahead reads)
/// while the user logs out; from the logout's answer on, every request is refused. (That a
/// lookup still in flight at the logout cannot put the live session back is timing-bound
/// here, so `auth::cache`'s unit tests check it deterministically.)
async fn logout_during_concurrent_use_ends_the_token_for_good(backend: Backend) {
    let server = TestServer::start(backend).await;
    for round in 0..2 {
        let session = server.login_admin().await;
        let stop = AtomicBool::new(false);
        let hammer = || async {
            let mut passed = 0;
            while !stop.load(Ordering::Relaxed) {
                if me_status(&server, &session).await == StatusCode::OK {
                    passed += 1;
                }
            }
            passed
        };
        let logout = async {
            // Past half the 2 s cache lifetime, so refresh-ahead reads are in flight too.
            sleep_ms(1_200).await;
            let status = server.logout(&session).await.status;
            stop.store(true, Ordering::Relaxed);
            status
        };
        let (a, b, c, d, status) = tokio::join!(hammer(), hammer(), hammer(), hammer(), logout);
        assert_eq!(status, StatusCode::OK, "round {round}");
        assert!(a + b + c + d > 0, "the token was in use before the logout");

        // Longer than the cache lifetime: a stale entry put back would show in this time.
        let until = Instant::now() + Duration::from_millis(2_500);
        while Instant::now() < until {
            assert_eq!(
                me_status(&server, &session).await,
                StatusCode::UNAUTHORIZED,
                "round {round}: a logged-out token passed"
            );
        }
    }
}

async fn role_change_admin_to_viewer_stops_the_old_token_deleting(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.add_user("second-admin", "admin");
    let admin = server.login_admin().await;
    let other = server.login("second-admin", PASSWORD).await;
    let created = server
        .write(
            Method::POST,
            "/api/properties",
            &admin,
            Some(json!({"title": "Mill"})),
        )
        .await;
    let path = format!("/api/properties/{}", created.data()["id"].as_str().unwrap());

    let id = other.user["id"].as_str().unwrap();
    let demoted = server
        .write(
            Method::PATCH,
            &format!("/api/users/{id}"),
            &admin,
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(demoted.status, StatusCode::OK);

    let attempt = server.write(Method::DELETE, &path, &other, None).await;
    assert_eq!(attempt.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        server.get(&path, Some(&admin.access_token)).await.status,
        StatusCode::OK
    );
}

async fn absolute_lifetime_ends_the_session_even_after_rotation(backend: Backend) {
    let server = TestServer::start_with(backend, &[("TESSERA_REFRESH_ABSOLUTE_TTL", "3s")]).await;
    let mut session = server.login_admin().await;
    let first = server.login_raw("admin", &server.admin_password).await;
    let max_age = first.set_cookie("refreshToken").unwrap();
    assert!(max_age.contains("Max-Age=3"), "{max_age}");

    sleep_ms(1_500).await;
    assert_eq!(server.refresh(&mut session).await.status, StatusCode::OK);
    sleep_ms(2_000).await;
    let resp = server.refresh(&mut session).await;
    assert_eq!(
        resp.status,
        StatusCode::UNAUTHORIZED,
        "just rotated, but past the absolute limit"
    );
    assert_eq!(me_status(&server, &session).await, StatusCode::UNAUTHORIZED);
}

async fn idle_lifetime_slides_with_each_refresh(backend: Backend) {
    // Times are whole seconds, so a 3 s idle lifetime lasts between 2 and 3 s.
    let server = TestServer::start_with(backend, &[("TESSERA_REFRESH_IDLE_TTL", "3s")]).await;
    let mut session = server.login_admin().await;
    for _ in 0..4 {
        sleep_ms(1_200).await;
        let resp = server.refresh(&mut session).await;
        assert_eq!(
            resp.status,
            StatusCode::OK,
            "each refresh resets the idle lifetime"
        );
    }
    sleep_ms(3_200).await;
    assert_eq!(
        server.refresh(&mut session).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn cookie_max_age_follows_the_configured_lifetime(backend: Backend) {
    let server = TestServer::start_with(backend, &[("JWT_EXPIRE", "1h")]).await;
    let resp = server.login_raw("admin", &server.admin_password).await;
    assert!(
        resp.set_cookie("refreshToken")
            .unwrap()
            .contains("Max-Age=3600")
    );
    assert!(
        resp.set_cookie("csrfToken")
            .unwrap()
            .contains("Max-Age=3600")
    );
}

async fn a_second_instance_sees_a_revocation_within_five_seconds(backend: Backend) {
    let first = TestServer::start(backend).await;
    let second = first.sibling();
    let session = first.login_admin().await;
    assert_eq!(me_status(&second, &session).await, StatusCode::OK);

    assert_eq!(first.logout(&session).await.status, StatusCode::OK);
    assert_eq!(
        me_status(&first, &session).await,
        StatusCode::UNAUTHORIZED,
        "at once here"
    );
    let started = Instant::now();
    while me_status(&second, &session).await != StatusCode::UNAUTHORIZED {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still accepted after 5 s"
        );
        sleep_ms(100).await;
    }
}

async fn sessions_api_lists_and_revokes_my_sessions(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.add_user("sam", "viewer");
    let laptop = server.login_admin().await;
    let phone_resp = server
        .send(
            Req::new(Method::POST, "/api/auth/login")
                .header("user-agent", "PhoneBrowser/1.0")
                .json(json!({"username": "admin", "password": server.admin_password})),
        )
        .await;
    let phone = Session::from_grant(&phone_resp);
    let sam = server.login("sam", PASSWORD).await;

    let list = server
        .get("/api/auth/sessions", Some(&laptop.access_token))
        .await;
    let sessions = list.data().as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2, "only my sessions: {sessions:?}");
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let phone_entry = sessions
        .iter()
        .find(|s| s["userAgent"] == "PhoneBrowser/1.0")
        .unwrap();
    assert_eq!(phone_entry["current"], false);
    assert!(phone_entry["createdAt"].is_i64() && phone_entry["lastUsedAt"].is_i64());
    assert_eq!(phone_entry["ip"], "127.0.0.1");

    let phone_id = phone_entry["id"].as_str().unwrap();
    let revoked = server
        .write(
            Method::DELETE,
            &format!("/api/auth/sessions/{phone_id}"),
            &laptop,
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(me_status(&server, &phone).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        server.refresh_with(&phone.refresh_token).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(me_status(&server, &laptop).await, StatusCode::OK);

    let sams = server
        .get("/api/auth/sessions", Some(&sam.access_token))
        .await;
    let sam_id = sams.data()[0]["id"].as_str().unwrap().to_string();
    let not_mine = server
        .write(
            Method::DELETE,
            &format!("/api/auth/sessions/{sam_id}"),
            &laptop,
            None,
        )
        .await;
    assert_eq!(not_mine.status, StatusCode::NOT_FOUND);
    assert_eq!(me_status(&server, &sam).await, StatusCode::OK);
}

async fn logout_all_ends_every_session(backend: Backend) {
    let server = TestServer::start(backend).await;
    let one = server.login_admin().await;
    let two = server.login_admin().await;
    let resp = server
        .write(Method::POST, "/api/auth/logout-all", &one, None)
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.data()["revoked"], 2);
    for session in [&one, &two] {
        assert_eq!(me_status(&server, session).await, StatusCode::UNAUTHORIZED);
        assert_eq!(
            server.refresh_with(&session.refresh_token).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}

async fn password_change_needs_the_current_one_and_ends_other_sessions(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.add_user("pat", "editor");
    let here = server.login("pat", PASSWORD).await;
    let elsewhere = server.login("pat", PASSWORD).await;

    let wrong = server
        .write(
            Method::POST,
            "/api/auth/password",
            &here,
            Some(json!({"currentPassword": "not-it-at-all", "newPassword": "a-new-password-1"})),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    let short = server
        .write(
            Method::POST,
            "/api/auth/password",
            &here,
            Some(json!({"currentPassword": PASSWORD, "newPassword": "short"})),
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);

    let changed = server
        .write(
            Method::POST,
            "/api/auth/password",
            &here,
            Some(json!({"currentPassword": PASSWORD, "newPassword": "a-new-password-1"})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_eq!(
        me_status(&server, &here).await,
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        me_status(&server, &elsewhere).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        server.login_raw("pat", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        server.login_raw("pat", "a-new-password-1").await.status,
        StatusCode::OK
    );
}

async fn expired_sessions_are_deleted_by_the_cleanup(backend: Backend) {
    let server = TestServer::start_with(
        backend,
        &[
            ("TESSERA_REFRESH_IDLE_TTL", "1s"),
            ("TESSERA_CLEANUP_INTERVAL", "1s"),
        ],
    )
    .await;
    server.login_admin().await;
    server.login_admin().await;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(server.database_url()).await.unwrap();
    let count = || async {
        let row: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sessions")
            .fetch_one(&pool)
            .await
            .unwrap();
        row.0
    };
    assert_eq!(count().await, 2);
    let started = Instant::now();
    while count().await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "expired sessions were not deleted"
        );
        sleep_ms(250).await;
    }
    pool.close().await;
}
