//! The built-in web UI and its JS client, driven in headless Chromium against a real tessera
//! server: signing in, restoring the session on reload, silent refresh, tabs that refresh
//! together and sign out together, role-gated pages with the server enforcing the roles,
//! where the tokens live, and a screenshot of every page (in `target/screenshots/`).
//!
//! Each test starts a server on a fresh SQLite database (`common::TestServer`), spawns
//! Debian's `chromedriver` on a free port and a Chromium with a fresh profile. When either
//! cannot start the test fails; it never skips. The tests take turns (one browser at a time)
//! so that timing-sensitive ones are not starved on a small machine. See
//! `tests/browser/README.md` for the element ids the tests rely on.

mod common;

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Backend, PASSWORD, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use thirtyfour::common::capabilities::chromium::ChromiumLikeCapabilities;
use thirtyfour::extensions::query::ElementPollerWithTimeout;
use thirtyfour::prelude::*;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// How Chromium runs: headless, sandbox-free (tests run as root in CI), with nothing that
/// reaches beyond this machine.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
];

/// How long one test may take before it fails rather than hangs.
const TEST_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a test waits for an element to appear.
const ELEMENT_WAIT: Duration = Duration::from_secs(20);

/// One browser at a time: see the module docs.
static ONE_BROWSER_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---- the browser ---------------------------------------------------------------------------

/// A chromedriver process and the Chromium session it drives. Dropping it (on a failed
/// assertion too) kills chromedriver's whole process group, Chromium included.
struct Browser {
    driver: Option<WebDriver>,
    chromedriver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Spawns chromedriver on a free port and opens a Chromium session; panics if either
    /// cannot start.
    async fn launch() -> Browser {
        let port = free_port();
        let mut chromedriver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{CHROMEDRIVER} could not be started ({e}); \
                     install it with `apt-get install -y chromium chromium-driver`"
                )
            });
        wait_for_chromedriver(port, &mut chromedriver).await;

        let profile = tempfile::tempdir().expect("a temporary profile directory");
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(CHROMIUM).unwrap();
        for arg in CHROMIUM_ARGS {
            caps.add_arg(arg).unwrap();
        }
        caps.add_arg(&format!("--user-data-dir={}", profile.path().display()))
            .unwrap();

        let driver = match WebDriver::new(format!("http://127.0.0.1:{port}"), caps).await {
            Ok(driver) => driver,
            Err(e) => {
                kill_process_group(&mut chromedriver);
                panic!("{CHROMIUM} could not be started through chromedriver: {e}");
            }
        };
        driver.set_poller(Arc::new(ElementPollerWithTimeout::new(
            ELEMENT_WAIT,
            Duration::from_millis(100),
        )));
        Browser {
            driver: Some(driver),
            chromedriver,
            _profile: profile,
        }
    }

    fn driver(&self) -> &WebDriver {
        self.driver.as_ref().expect("the browser is running")
    }

    /// Closes Chromium and chromedriver.
    async fn quit(mut self) {
        if let Some(driver) = self.driver.take() {
            let _ = driver.quit().await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_process_group(&mut self.chromedriver);
        // The session is gone with its processes: no teardown request to a dead driver.
        if let Some(driver) = self.driver.take() {
            std::mem::forget(driver);
        }
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().unwrap().port()
}

async fn wait_for_chromedriver(port: u16, chromedriver: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = chromedriver.try_wait() {
            panic!("{CHROMEDRIVER} exited at start with {status}");
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        if Instant::now() > deadline {
            kill_process_group(chromedriver);
            panic!("{CHROMEDRIVER} did not listen on port {port} within 20 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Kills chromedriver and everything it started (it leads its own process group).
fn kill_process_group(child: &mut Child) {
    let group = format!("-{}", child.id());
    let _ = Command::new("kill")
        .args(["-KILL", "--", &group])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

/// Runs one browser test: waits for its turn, starts a server with `env` and a browser, and
/// fails the test if it takes longer than TEST_TIMEOUT.
async fn with_browser<F, Fut>(env: &[(&str, &str)], test: F)
where
    F: FnOnce(TestServer, Browser) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let _turn = ONE_BROWSER_AT_A_TIME.lock().await;
    let server = TestServer::start_with(Backend::Sqlite, env).await;
    let browser = Browser::launch().await;
    if tokio::time::timeout(TEST_TIMEOUT, test(server, browser))
        .await
        .is_err()
    {
        panic!("the browser test did not finish within {TEST_TIMEOUT:?}");
    }
}

// ---- page helpers --------------------------------------------------------------------------

/// Opens the UI at `hash` and waits for the sign-in form.
async fn open_sign_in(driver: &WebDriver, server: &TestServer) {
    driver.goto(server.url("/#/")).await.unwrap();
    driver
        .query(By::Id("login-form"))
        .first()
        .await
        .expect("the sign-in form");
}

/// Fills in and submits the sign-in form (which must be on screen).
async fn submit_sign_in(driver: &WebDriver, username: &str, password: &str) {
    let name = driver.find(By::Id("login-username")).await.unwrap();
    name.clear().await.unwrap();
    name.send_keys(username).await.unwrap();
    let secret = driver.find(By::Id("login-password")).await.unwrap();
    secret.clear().await.unwrap();
    secret.send_keys(password).await.unwrap();
    driver
        .find(By::Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Signs in through the form and waits until the page shows the signed-in frame.
async fn sign_in(driver: &WebDriver, server: &TestServer, username: &str, password: &str) {
    open_sign_in(driver, server).await;
    submit_sign_in(driver, username, password).await;
    driver
        .query(By::Id("account"))
        .and_displayed()
        .first()
        .await
        .unwrap_or_else(|e| panic!("{username} is not shown as signed in: {e}"));
}

/// Follows a nav link and waits for its page.
async fn go_to(driver: &WebDriver, route: &str, page_id: &str) {
    let link = driver
        .find(By::Css(format!("nav a[href=\"#/{route}\"]")))
        .await
        .unwrap();
    link.click().await.unwrap();
    driver.query(By::Id(page_id)).first().await.unwrap();
}

/// Runs `body` (the inside of an async function) in the page and returns its result.
/// A thrown error comes back as `{"error": message, "status": status}`.
async fn run_js(driver: &WebDriver, body: &str) -> Value {
    let script = format!(
        "const done = arguments[arguments.length - 1];\n\
         (async () => {{ {body} }})().then(\n\
           (value) => done({{ value: value === undefined ? null : value }}),\n\
           (e) => done({{ error: String(e && e.message || e), status: e && e.status }}),\n\
         );"
    );
    let ret = driver.execute_async(script, Vec::new()).await.unwrap();
    ret.json().clone()
}

/// Like `run_js`, but the script must succeed; returns its value.
async fn js_value(driver: &WebDriver, body: &str) -> Value {
    let result = run_js(driver, body).await;
    assert!(result.get("error").is_none(), "script failed: {result}");
    result["value"].clone()
}

/// The access token the page's JS client holds, read through the client's own module.
async fn page_access_token(driver: &WebDriver) -> String {
    let token = js_value(
        driver,
        "return (await import('/js/api.js')).tokenStore.get();",
    )
    .await;
    token.as_str().unwrap_or_default().to_string()
}

/// How many requests the page has sent to `path` since it loaded.
async fn requests_to(driver: &WebDriver, path: &str) -> u64 {
    let body = format!(
        "return performance.getEntriesByType('resource')\
           .filter((e) => new URL(e.name).pathname === '{path}').length;"
    );
    js_value(driver, &body).await.as_u64().unwrap()
}

async fn text_of(driver: &WebDriver, id: &str) -> String {
    driver
        .query(By::Id(id))
        .first()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Where this run's screenshots go: `target/screenshots/`.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("target/screenshots can be created");
    dir
}

// ---- signing in ----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_through_the_form_shows_the_user_on_the_dashboard() {
    with_browser(&[], |server, browser| async move {
        let driver = browser.driver();
        sign_in(driver, &server, "admin", &server.admin_password).await;

        assert_eq!(text_of(driver, "whoami").await, "admin");
        assert_eq!(text_of(driver, "role").await, "admin");
        assert!(
            driver
                .find_all(By::Id("login-form"))
                .await
                .unwrap()
                .is_empty()
        );
        browser.quit().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_shows_the_servers_error_message() {
    with_browser(&[], |server, browser| async move {
        let driver = browser.driver();
        open_sign_in(driver, &server).await;
        submit_sign_in(driver, "admin", "not-the-password").await;

        let error = driver
            .query(By::Id("login-error"))
            .and_displayed()
            .first()
            .await
            .unwrap();
        assert_eq!(error.text().await.unwrap(), "Invalid credentials");
        assert!(
            driver.find(By::Id("login-form")).await.is_ok(),
            "still on the sign-in page"
        );
        assert!(
            !driver
                .find(By::Id("account"))
                .await
                .unwrap()
                .is_displayed()
                .await
                .unwrap()
        );
        browser.quit().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloading_restores_the_session_without_a_second_sign_in() {
    with_browser(&[], |server, browser| async move {
        let driver = browser.driver();
        sign_in(driver, &server, "admin", &server.admin_password).await;
        driver.query(By::Id("whoami")).first().await.unwrap();

        // Record, from the very start of the next document, whether the sign-in form is
        // ever put on screen (DevTools runs this before the page's own scripts).
        watch_for_sign_in_form_on_next_load(&browser).await;
        driver.refresh().await.unwrap();

        assert_eq!(text_of(driver, "whoami").await, "admin");
        // `false`, not `null`: the watcher ran, and never saw the form.
        let seen = js_value(driver, "return window.__sawSignInForm ?? null;").await;
        assert_eq!(
            seen,
            json!(false),
            "the sign-in form was shown during the reload"
        );
        assert_eq!(requests_to(driver, "/api/auth/login").await, 0);
        assert_eq!(
            requests_to(driver, "/api/auth/refresh").await,
            1,
            "one restoring refresh"
        );
        browser.quit().await;
    })
    .await;
}

/// Installs, through chromedriver's DevTools endpoint, a script that runs first in every new
/// document and sets `window.__sawSignInForm` if `#login-form` ever enters the page.
async fn watch_for_sign_in_form_on_next_load(browser: &Browser) {
    let driver = browser.driver();
    let source = "window.__sawSignInForm = false;\
        new MutationObserver(() => {\
          if (document.getElementById('login-form')) window.__sawSignInForm = true;\
        }).observe(document, { childList: true, subtree: true });";
    let path = format!("session/{}/goog/cdp/execute", driver.session_id());
    let url = driver.server_url().join(&path).unwrap();
    let body = json!({
        "cmd": "Page.addScriptToEvaluateOnNewDocument",
        "params": { "source": source },
    });
    let response = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("chromedriver answers");
    assert!(
        response.status().is_success(),
        "DevTools command failed: {response:?}"
    );
}

// ---- silent refresh and tabs ---------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protected_action_after_the_access_token_expired_succeeds_by_a_silent_refresh() {
    with_browser(
        &[("TESSERA_ACCESS_TTL", "5s")],
        |server, browser| async move {
            let driver = browser.driver();
            sign_in(driver, &server, "admin", &server.admin_password).await;
            go_to(driver, "properties", "properties-page").await;
            let first_token = page_access_token(driver).await;

            // Longer than the token lives: the first token is dead by now.
            tokio::time::sleep(Duration::from_secs(7)).await;
            driver
                .find(By::Id("property-title"))
                .await
                .unwrap()
                .send_keys("After expiry")
                .await
                .unwrap();
            driver
                .find(By::Id("property-price"))
                .await
                .unwrap()
                .send_keys("250000")
                .await
                .unwrap();
            driver
                .find(By::Id("property-submit"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();

            let row = driver
                .query(By::Css(".property-row .property-title"))
                .with_text("After expiry")
                .first()
                .await;
            assert!(
                row.is_ok(),
                "the property created after expiry is not listed"
            );
            let shown = driver
                .find_all(By::Css("#property-error:not([hidden])"))
                .await
                .unwrap();
            assert!(shown.is_empty(), "the form shows an error");
            assert!(
                driver
                    .find(By::Id("account"))
                    .await
                    .unwrap()
                    .is_displayed()
                    .await
                    .unwrap()
            );
            assert_ne!(
                page_access_token(driver).await,
                first_token,
                "the access token was renewed"
            );

            let admin = server.login_admin().await;
            let list = server
                .get("/api/properties", Some(&admin.access_token))
                .await;
            assert_eq!(list.data()["items"][0]["title"], "After expiry");
            browser.quit().await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tabs_refreshing_together_both_stay_signed_in() {
    with_browser(
        &[("TESSERA_ACCESS_TTL", "5s")],
        |server, browser| async move {
            let driver = browser.driver();
            sign_in(driver, &server, "admin", &server.admin_password).await;
            let first = driver.window().await.unwrap();
            let second = driver.new_window().await.unwrap();
            driver.switch_to_window(second.clone()).await.unwrap();
            driver.goto(server.url("/#/")).await.unwrap();
            assert_eq!(
                text_of(driver, "whoami").await,
                "admin",
                "the second tab restored"
            );

            // Several token lifetimes, each tab with its own refresh timer.
            tokio::time::sleep(Duration::from_secs(8)).await;

            // Both tabs refresh at the same moment: start one, switch, start the other.
            let start = "window.__refreshed = null;\
            import('/js/auth.js').then((auth) => auth.refresh())\
              .then((user) => { window.__refreshed = user ? user.username : 'signed out'; });";
            driver.execute(start, Vec::new()).await.unwrap();
            driver.switch_to_window(first.clone()).await.unwrap();
            driver.execute(start, Vec::new()).await.unwrap();

            for window in [&first, &second] {
                driver.switch_to_window(window.clone()).await.unwrap();
                let refreshed = js_value(
                driver,
                "while (window.__refreshed === null) await new Promise((r) => setTimeout(r, 50));\
                 return window.__refreshed;",
            )
            .await;
                assert_eq!(refreshed, json!("admin"));
                let me = js_value(
                driver,
                "return (await (await import('/js/api.js')).get('/api/auth/me')).user.username;",
            )
            .await;
                assert_eq!(me, json!("admin"));
                assert!(
                    driver
                        .find(By::Id("account"))
                        .await
                        .unwrap()
                        .is_displayed()
                        .await
                        .unwrap()
                );
                assert!(
                    driver
                        .find_all(By::Id("login-form"))
                        .await
                        .unwrap()
                        .is_empty()
                );
            }

            // The session never forked: the browser still has exactly one.
            let sessions = js_value(
                driver,
                "return (await import('/js/api.js')).get('/api/auth/sessions');",
            )
            .await;
            assert_eq!(
                sessions.as_array().map(Vec::len),
                Some(1),
                "sessions: {sessions}"
            );
            browser.quit().await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_in_one_tab_signs_out_the_other() {
    with_browser(&[], |server, browser| async move {
        let driver = browser.driver();
        sign_in(driver, &server, "admin", &server.admin_password).await;
        let first = driver.window().await.unwrap();
        let second = driver.new_window().await.unwrap();
        driver.switch_to_window(second.clone()).await.unwrap();
        driver.goto(server.url("/#/properties")).await.unwrap();
        driver
            .query(By::Id("properties-page"))
            .first()
            .await
            .unwrap();
        let second_tab_token = page_access_token(driver).await;
        assert_eq!(second_tab_token.split('.').count(), 3);

        driver.switch_to_window(first).await.unwrap();
        driver
            .find(By::Id("logout"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        driver.query(By::Id("login-form")).first().await.unwrap();

        // The other tab signs out by itself, without a reload.
        driver.switch_to_window(second).await.unwrap();
        driver
            .query(By::Id("login-form"))
            .first()
            .await
            .expect("the second tab signed out");
        assert!(
            !driver
                .find(By::Id("account"))
                .await
                .unwrap()
                .is_displayed()
                .await
                .unwrap()
        );
        assert_eq!(page_access_token(driver).await, "");

        // The server ended the session too: the second tab's last access token is refused
        // (allowing for the server's few-second session cache).
        let status = js_value(
            driver,
            &format!(
                "for (let i = 0; ; i++) {{\
                   const res = await fetch('/api/auth/me',\
                     {{ headers: {{ Authorization: 'Bearer {second_tab_token}' }} }});\
                   if (res.status !== 200 || i === 50) return res.status;\
                   await new Promise((r) => setTimeout(r, 200));\
                 }}"
            ),
        )
        .await;
        assert_eq!(status, 401);
        browser.quit().await;
    })
    .await;
}

// ---- roles ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_sees_no_delete_button_and_a_forged_delete_is_refused_with_403() {
    with_browser(&[], |server, browser| async move {
        let driver = browser.driver();
        server.add_user("vera", "viewer");
        let admin = server.login_admin().await;
        let created = server
            .write(
                Method::POST,
                "/api/properties",
                &admin,
                Some(json!({ "title": "Keep me" })),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED);
        let id = created.data()["id"].as_str().unwrap().to_string();

        sign_in(driver, &server, "vera", PASSWORD).await;
        go_to(driver, "properties", "properties-page").await;
        driver
            .query(By::Css(".property-row"))
            .first()
            .await
            .unwrap();
        assert!(
            driver
                .find_all(By::Css(".delete-property"))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            driver
                .find_all(By::Css(".edit-property"))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            driver
                .find_all(By::Id("property-form"))
                .await
                .unwrap()
                .is_empty()
        );

        // The page forges the request the UI does not offer: the client's access token and
        // the CSRF cookie as header, so only the role can refuse it.
        let forged = js_value(
            driver,
            &format!(
                "const api = await import('/js/api.js');\
                 const csrf = document.cookie.split('; ')\
                   .find((c) => c.startsWith('csrfToken=')).slice('csrfToken='.length);\
                 const res = await fetch('/api/properties/{id}', {{\
                   method: 'DELETE', credentials: 'include',\
                   headers: {{ Authorization: 'Bearer ' + api.tokenStore.get(),\
                              'X-CSRF-Token': decodeURIComponent(csrf) }} }});\
                 return {{ status: res.status, body: await res.json() }};"
            ),
        )
        .await;
        assert_eq!(forged["status"], 403, "{forged}");
        assert_eq!(
            forged["body"]["error"]["message"],
            "Access denied. Insufficient permissions."
        );

        let still_there = server
            .get(&format!("/api/properties/{id}"), Some(&admin.access_token))
            .await;
        assert_eq!(still_there.status, StatusCode::OK);
        browser.quit().await;
    })
    .await;
}

// ---- where the tokens live -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_script_readable_storage_holds_the_access_token_or_the_refresh_token() {
    with_browser(&[], |server, browser| async move {
        let driver = browser.driver();
        sign_in(driver, &server, "admin", &server.admin_password).await;
        go_to(driver, "properties", "properties-page").await;

        let token = page_access_token(driver).await;
        assert_eq!(
            token.split('.').count(),
            3,
            "the client holds a JWT in memory"
        );

        let readable = js_value(
            driver,
            "const dump = (s) => Object.keys(s).map((k) => k + '=' + s.getItem(k)).join('\\n');\
             return { local: dump(localStorage), session: dump(sessionStorage),\
                      cookie: document.cookie };",
        )
        .await;
        for place in ["local", "session", "cookie"] {
            let text = readable[place].as_str().unwrap();
            assert!(
                !text.contains(&token),
                "the access token is in {place} storage"
            );
            assert!(!text.contains("eyJ"), "a JWT is in {place} storage: {text}");
            assert!(
                !text.contains("refreshToken"),
                "the refresh token is in {place}"
            );
        }

        // The refresh cookie exists, but only for the server: on a page under its path,
        // WebDriver sees it marked HttpOnly and the page's script still cannot read it.
        driver.goto(server.url("/api/auth/csrf")).await.unwrap();
        let cookie = driver
            .get_named_cookie("refreshToken")
            .await
            .expect("a refresh cookie");
        assert_eq!(cookie.http_only, Some(true));
        let script_view = driver
            .execute("return document.cookie;", Vec::new())
            .await
            .unwrap();
        let script_view = script_view.json().as_str().unwrap_or_default().to_string();
        assert!(
            !script_view.contains("refreshToken"),
            "script reads: {script_view}"
        );
        assert!(
            !script_view.contains(&cookie.value),
            "script reads the refresh token"
        );
        browser.quit().await;
    })
    .await;
}

// ---- screenshots ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_is_screenshotted_into_target_screenshots() {
    with_browser(&[], |server, browser| async move {
        let driver = browser.driver();
        let dir = screenshot_dir();
        server.add_user("eddie", "editor");
        server.add_user("vera", "viewer");
        let admin = server.login_admin().await;
        for (title, address, price) in [
            ("Harbour loft", "12 Quay Street", 420000),
            ("Garden cottage", "3 Orchard Lane", 310000),
        ] {
            let body = json!({
                "title": title, "address": address, "price": price,
                "description": "Bright, quiet, close to the station.",
            });
            server
                .write(Method::POST, "/api/properties", &admin, Some(body))
                .await;
        }

        open_sign_in(driver, &server).await;
        let shot = |name: &str| dir.join(format!("{name}.png"));
        driver.screenshot(&shot("signin")).await.unwrap();

        submit_sign_in(driver, "admin", &server.admin_password).await;
        driver.query(By::Id("whoami")).first().await.unwrap();
        driver.screenshot(&shot("dashboard")).await.unwrap();

        let pages = [
            ("properties", "properties-page", ".property-row"),
            ("sessions", "sessions-page", ".session-row"),
            ("password", "password-page", "#password-form"),
            ("users", "users-page", ".user-row"),
        ];
        for (route, page_id, content) in pages {
            go_to(driver, route, page_id).await;
            driver.query(By::Css(content)).first().await.unwrap();
            driver.screenshot(&shot(route)).await.unwrap();
        }

        for name in [
            "signin",
            "dashboard",
            "properties",
            "sessions",
            "password",
            "users",
        ] {
            let bytes = std::fs::read(shot(name)).unwrap();
            assert!(bytes.starts_with(b"\x89PNG"), "{name}.png is a PNG");
        }
        browser.quit().await;
    })
    .await;
}
