//! Test harness: starts the real `tessera` binary on a fresh database (a SQLite file in a
//! temporary directory, or a new PostgreSQL database on 127.0.0.1:5432) and talks to it over
//! real sockets. Nothing is mocked.
//!
//! PostgreSQL must be reachable: a test that cannot reach it fails (it never skips).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The PostgreSQL server every test database is created on.
pub const POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Which database a test server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database created for one test and dropped after it.
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
}

impl TestDb {
    pub fn new(backend: Backend, dir: &std::path::Path) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.join("tessera.db").display()),
                pg_name: None,
            },
            Backend::Postgres => {
                let name = format!("tessera_test_{}", uuid_like());
                run_pg(&format!("CREATE DATABASE {name}"));
                TestDb {
                    url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
                    pg_name: Some(name),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            let _ = std::thread::spawn(move || run_pg(&sql)).join();
        }
    }
}

/// Runs one statement against the PostgreSQL admin database, failing loudly if the server
/// cannot be reached.
pub fn run_pg(sql: &str) {
    let sql = sql.to_string();
    let result = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(POSTGRES_ADMIN_URL).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await?;
            conn.close().await
        })
    })
    .join()
    .unwrap();
    if let Err(e) = result {
        panic!(
            "PostgreSQL at {POSTGRES_ADMIN_URL} is required for these tests and failed: {e}. \
             Start it (pg_ctlcluster <version> main start) and run again."
        );
    }
}

fn uuid_like() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// A running tessera server process.
pub struct TestServer {
    pub base: String,
    pub backend: Backend,
    pub admin_password: String,
    pub env: Vec<(String, String)>,
    pub dir: PathBuf,
    pub http: reqwest::Client,
    child: Child,
    db: std::sync::Arc<TestDb>,
    _tmp: std::sync::Arc<tempfile::TempDir>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The password every user created by tests gets unless a test says otherwise.
pub const PASSWORD: &str = "correct-horse-battery";

impl TestServer {
    /// A server on a fresh database with the default configuration.
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, &[]).await
    }

    /// A server on a fresh database with extra environment settings.
    pub async fn start_with(backend: Backend, env: &[(&str, &str)]) -> TestServer {
        let tmp = std::sync::Arc::new(tempfile::tempdir().unwrap());
        let db = std::sync::Arc::new(TestDb::new(backend, tmp.path()));
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self::launch(backend, env, tmp, db)
    }

    /// Another server process on the same database, data directory and settings (a second
    /// instance, or this one after a restart).
    pub fn sibling(&self) -> TestServer {
        Self::launch(
            self.backend,
            self.env.clone(),
            self._tmp.clone(),
            self.db.clone(),
        )
    }

    /// Stops this process and starts a new one on the same database and data directory.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let next = self.sibling();
        let old = std::mem::replace(self, next);
        drop(old);
    }

    fn launch(
        backend: Backend,
        env: Vec<(String, String)>,
        tmp: std::sync::Arc<tempfile::TempDir>,
        db: std::sync::Arc<TestDb>,
    ) -> TestServer {
        let dir = tmp.path().to_path_buf();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
        cmd.args(["serve", "--bind", "127.0.0.1:0", "--database", &db.url])
            .current_dir(&dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TESSERA_DATA_DIR", dir.join("data"))
            .env("TESSERA_LOG", "warn")
            .env("TESSERA_CLEANUP_INTERVAL", "3600")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("the tessera binary starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut admin_password = String::new();
        let base = loop {
            let line = match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => line,
                Err(_) => {
                    let _ = child.kill();
                    panic!("tessera did not start within 60 s (backend {backend:?})");
                }
            };
            if let Some(pw) = line.trim().strip_prefix("admin password: ") {
                admin_password = pw.trim().to_string();
            }
            if let Some(rest) = line.strip_prefix("tessera listening on ") {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        TestServer {
            base,
            backend,
            admin_password,
            env,
            dir,
            http,
            child,
            db,
            _tmp: tmp,
        }
    }

    /// The database URL this server uses.
    pub fn database_url(&self) -> &str {
        &self.db.url
    }

    /// Runs the `tessera` CLI against this server's database, with `stdin` as its input.
    pub fn cli(&self, args: &[&str], stdin: &str) -> std::process::Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(args)
            .args(["--database", &self.db.url])
            .current_dir(&self.dir)
            .env("TESSERA_DATA_DIR", self.dir.join("data"))
            .env("TESSERA_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Creates a user through the CLI.
    pub fn add_user(&self, username: &str, role: &str) {
        let out = self.cli(
            &["user", "add", username, "--role", role, "--password-stdin"],
            &format!("{PASSWORD}\n"),
        );
        assert!(
            out.status.success(),
            "user add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request; `cookies` is the Cookie header value, if any.
    pub async fn send(&self, req: Req<'_>) -> Resp {
        let mut headers = HeaderMap::new();
        if let Some(token) = req.bearer {
            headers.insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            );
        }
        if let Some(csrf) = req.csrf_header {
            headers.insert("x-csrf-token", HeaderValue::from_str(csrf).unwrap());
        }
        if !req.cookies.is_empty() {
            let cookie = req
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            headers.insert("cookie", HeaderValue::from_str(&cookie).unwrap());
        }
        for (k, v) in &req.headers {
            headers.append(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        let mut builder = self
            .http
            .request(req.method.clone(), self.url(req.path))
            .headers(headers);
        if let Some(body) = &req.json {
            builder = builder
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        if let Some((content_type, body)) = req.raw {
            builder = builder.header("content-type", content_type).body(body);
        }
        let response = builder.send().await.expect("the server answers");
        Resp::read(response).await
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Resp {
        self.send(Req {
            bearer,
            ..Req::new(Method::GET, path)
        })
        .await
    }

    /// Logs in with the JSON body `{username, password}`.
    pub async fn login_raw(&self, username: &str, password: &str) -> Resp {
        let body = serde_json::json!({ "username": username, "password": password });
        self.send(Req::new(Method::POST, "/api/auth/login").json(body))
            .await
    }

    /// Logs in and returns the browser-side state; panics unless the login succeeds.
    pub async fn login(&self, username: &str, password: &str) -> Session {
        let resp = self.login_raw(username, password).await;
        assert_eq!(
            resp.status,
            StatusCode::OK,
            "login of {username}: {}",
            resp.body
        );
        Session::from_grant(&resp)
    }

    /// Signs in as the first-run admin.
    pub async fn login_admin(&self) -> Session {
        self.login("admin", &self.admin_password.clone()).await
    }

    /// Calls refresh with the given refresh token.
    pub async fn refresh_with(&self, refresh_token: &str) -> Resp {
        self.send(Req::new(Method::POST, "/api/auth/refresh").cookie("refreshToken", refresh_token))
            .await
    }

    /// Calls refresh with the session's refresh cookie and, on success, updates the session.
    pub async fn refresh(&self, session: &mut Session) -> Resp {
        let resp = self.refresh_with(&session.refresh_token).await;
        if resp.status == StatusCode::OK {
            session.access_token = resp.data()["accessToken"].as_str().unwrap().to_string();
            if let Some(rt) = resp.cookie("refreshToken") {
                session.refresh_token = rt;
            }
            if let Some(csrf) = resp.cookie("csrfToken") {
                session.csrf_token = csrf;
            }
        }
        resp
    }

    /// A state-changing request with the session's access token and a matching CSRF pair.
    pub async fn write(
        &self,
        method: Method,
        path: &str,
        session: &Session,
        body: Option<Value>,
    ) -> Resp {
        let mut req = Req::new(method, path)
            .bearer(&session.access_token)
            .csrf(&session.csrf_token)
            .cookie("csrfToken", &session.csrf_token);
        req.json = body;
        self.send(req).await
    }

    /// Logout with the session's cookies and CSRF header.
    pub async fn logout(&self, session: &Session) -> Resp {
        self.send(
            Req::new(Method::POST, "/api/auth/logout")
                .cookie("refreshToken", &session.refresh_token)
                .cookie("csrfToken", &session.csrf_token)
                .csrf(&session.csrf_token),
        )
        .await
    }
}

/// What a browser holds after signing in.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub csrf_token: String,
    pub user: Value,
}

impl Session {
    pub fn from_grant(resp: &Resp) -> Session {
        Session {
            access_token: resp.data()["accessToken"].as_str().unwrap().to_string(),
            refresh_token: resp.cookie("refreshToken").expect("a refresh cookie"),
            csrf_token: resp.cookie("csrfToken").expect("a csrf cookie"),
            user: resp.data()["user"].clone(),
        }
    }
}

/// A request under construction.
pub struct Req<'a> {
    pub method: Method,
    pub path: &'a str,
    pub bearer: Option<&'a str>,
    pub csrf_header: Option<&'a str>,
    pub cookies: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub json: Option<Value>,
    pub raw: Option<(&'a str, Vec<u8>)>,
}

impl<'a> Req<'a> {
    pub fn new(method: Method, path: &'a str) -> Req<'a> {
        Req {
            method,
            path,
            bearer: None,
            csrf_header: None,
            cookies: Vec::new(),
            headers: Vec::new(),
            json: None,
            raw: None,
        }
    }
    pub fn bearer(mut self, token: &'a str) -> Self {
        self.bearer = Some(token);
        self
    }
    pub fn csrf(mut self, token: &'a str) -> Self {
        self.csrf_header = Some(token);
        self
    }
    pub fn cookie(mut self, name: &str, value: &str) -> Self {
        self.cookies.push((name.to_string(), value.to_string()));
        self
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
    pub fn json(mut self, body: Value) -> Self {
        self.json = Some(body);
        self
    }
    pub fn raw(mut self, content_type: &'a str, body: Vec<u8>) -> Self {
        self.raw = Some((content_type, body));
        self
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// Reads a whole response: status, headers, text and (if JSON) body.
    pub async fn read(response: reqwest::Response) -> Resp {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    /// `data` of the success envelope.
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// `error.message` of the error envelope.
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }

    /// The raw `Set-Cookie` header for `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(String::from)
    }

    /// The value a `Set-Cookie` header gives `name` (empty when it clears it).
    pub fn cookie(&self, name: &str) -> Option<String> {
        let header = self.set_cookie(name)?;
        let pair = header.split(';').next()?;
        Some(pair.split_once('=')?.1.to_string())
    }
}

/// Generates one `#[tokio::test]` per backend for each named async scenario `fn(Backend)`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await
                }
            )*
        }
    };
}
