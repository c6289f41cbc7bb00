//! Configuration: one typed struct, filled from flags, environment and an optional TOML file.
//!
//! Precedence is flag > environment > file > default. Every setting has a `TESSERA_*`
//! environment name; the tutorial's names (`JWT_SECRET`, `JWT_EXPIRE`, `JWT_ACCESS_EXPIRE`,
//! `JWT_COOKIE_NAME`, `NODE_ENV=production`) are accepted too, after tessera's own.
//! `tessera.example.toml` at the repository root is a commented sample file.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Whether tessera runs for a developer on localhost or for real users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Plain-HTTP cookies, a generated signing secret persisted under the data directory.
    Development,
    /// `Secure` cookies; refuses to start without a strong signing secret.
    Production,
}

/// The whole configuration of a tessera process.
#[derive(Clone)]
pub struct Config {
    /// Development or production.
    pub mode: Mode,
    /// Address the HTTP server listens on.
    pub bind: SocketAddr,
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`.
    pub database_url: String,
    /// Directory for the SQLite file and the development signing secret.
    pub data_dir: PathBuf,
    /// HMAC key for access tokens and CSRF tokens; `None` until resolved at startup.
    pub jwt_secret: Option<Secret>,
    /// `iss` claim of access tokens.
    pub issuer: String,
    /// `aud` claim of access tokens.
    pub audience: String,
    /// Lifetime of an access token.
    pub access_ttl: Duration,
    /// Sliding idle lifetime of a session, reset by each refresh.
    pub refresh_idle_ttl: Duration,
    /// Absolute lifetime of a session, after which a new login is needed.
    pub refresh_absolute_ttl: Duration,
    /// How long the immediately previous refresh token still gets the current session.
    pub refresh_grace: Duration,
    /// Name of the refresh-token cookie.
    pub refresh_cookie: String,
    /// Name of the CSRF cookie.
    pub csrf_cookie: String,
    /// Whether cookies carry `Secure` (default: on in production).
    pub cookie_secure: bool,
    /// Extra origins (`https://app.example.com`) allowed on state-changing requests.
    pub allowed_origins: Vec<String>,
    /// Proxies whose `X-Forwarded-For` is believed for the client address.
    pub trusted_proxies: Vec<IpAddr>,
    /// Password hashes computed at once (default: number of CPUs).
    pub hash_workers: usize,
    /// Logins that may wait for a hashing worker before the next gets 503.
    pub hash_queue: usize,
    /// How often expired sessions are deleted.
    pub cleanup_interval: Duration,
    /// How long an access-token check may reuse a session lookup (at most a few seconds).
    pub session_cache_ttl: Duration,
}

/// A secret value whose `Debug` output never shows it.
#[derive(Clone)]
pub struct Secret(pub Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("mode", &self.mode)
            .field("bind", &self.bind)
            .field("database_url", &redact_url(&self.database_url))
            .field("access_ttl", &self.access_ttl)
            .field("refresh_idle_ttl", &self.refresh_idle_ttl)
            .field("refresh_absolute_ttl", &self.refresh_absolute_ttl)
            .field("refresh_grace", &self.refresh_grace)
            .finish_non_exhaustive()
    }
}

/// Settings that may come from a TOML file; every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub mode: Option<Mode>,
    pub bind: Option<String>,
    pub database_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub jwt_secret: Option<String>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub access_ttl: Option<String>,
    pub refresh_idle_ttl: Option<String>,
    pub refresh_absolute_ttl: Option<String>,
    pub refresh_grace: Option<String>,
    pub refresh_cookie: Option<String>,
    pub csrf_cookie: Option<String>,
    pub cookie_secure: Option<bool>,
    pub allowed_origins: Option<Vec<String>>,
    pub trusted_proxies: Option<Vec<String>>,
    pub hash_workers: Option<usize>,
    pub hash_queue: Option<usize>,
    pub cleanup_interval: Option<String>,
    pub session_cache_ttl: Option<String>,
}

/// Values given on the command line; they win over everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub bind: Option<String>,
    pub database_url: Option<String>,
    pub config_file: Option<PathBuf>,
}

/// A configuration value that could not be understood.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// Looks a setting up in the environment under each of `names`, first match wins.
fn env_any(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
}

impl Config {
    /// Builds the configuration from flags, the process environment and the optional file.
    pub fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
        let file_path = overrides
            .config_file
            .clone()
            .or_else(|| env_any(&["TESSERA_CONFIG"]).map(PathBuf::from));
        let file = match file_path {
            Some(path) => read_file(&path)?,
            None => FileConfig::default(),
        };
        Config::resolve(overrides, &file)
    }

    fn resolve(flags: &Overrides, file: &FileConfig) -> Result<Config, ConfigError> {
        // One helper per source, so each setting below reads as its precedence chain.
        let text = |env: &[&str], from_file: &Option<String>, default: &str| -> String {
            env_any(env)
                .or_else(|| from_file.clone())
                .unwrap_or_else(|| default.to_string())
        };

        let mode = match env_any(&["TESSERA_MODE"]).as_deref() {
            Some("production") => Mode::Production,
            Some("development") => Mode::Development,
            Some(other) => return Err(ConfigError(format!("unknown TESSERA_MODE {other:?}"))),
            None if env_any(&["NODE_ENV"]).as_deref() == Some("production") => Mode::Production,
            None => file.mode.unwrap_or(Mode::Development),
        };

        let bind_text = flags
            .bind
            .clone()
            .or_else(|| env_any(&["TESSERA_BIND"]))
            .or_else(|| file.bind.clone())
            .unwrap_or_else(|| "127.0.0.1:8080".to_string());
        let bind = bind_text
            .parse()
            .map_err(|_| ConfigError(format!("bind address {bind_text:?} is not IP:PORT")))?;

        let data_dir = env_any(&["TESSERA_DATA_DIR"])
            .map(PathBuf::from)
            .or_else(|| file.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from("data"));
        let default_db = format!("sqlite://{}", data_dir.join("tessera.db").display());
        let database_url = flags
            .database_url
            .clone()
            .or_else(|| env_any(&["TESSERA_DATABASE_URL", "DATABASE_URL"]))
            .or_else(|| file.database_url.clone())
            .unwrap_or(default_db);

        let jwt_secret = env_any(&["TESSERA_JWT_SECRET", "JWT_SECRET"])
            .or_else(|| file.jwt_secret.clone())
            .map(|s| Secret(s.into_bytes()));

        let duration = |env: &[&str], from_file: &Option<String>, default: &str| {
            let value = text(env, from_file, default);
            parse_duration(&value)
                .ok_or_else(|| ConfigError(format!("{} = {value:?} is not a duration", env[0])))
        };
        let access_ttl = duration(
            &["TESSERA_ACCESS_TTL", "JWT_ACCESS_EXPIRE"],
            &file.access_ttl,
            "15m",
        )?;
        let refresh_idle_ttl = duration(
            &["TESSERA_REFRESH_IDLE_TTL", "JWT_EXPIRE"],
            &file.refresh_idle_ttl,
            "7d",
        )?;
        let refresh_absolute_ttl = duration(
            &["TESSERA_REFRESH_ABSOLUTE_TTL"],
            &file.refresh_absolute_ttl,
            "30d",
        )?;
        let refresh_grace = duration(&["TESSERA_REFRESH_GRACE"], &file.refresh_grace, "10s")?;
        let cleanup_interval =
            duration(&["TESSERA_CLEANUP_INTERVAL"], &file.cleanup_interval, "10m")?;
        let session_cache_ttl = duration(
            &["TESSERA_SESSION_CACHE_TTL"],
            &file.session_cache_ttl,
            "2s",
        )?;
        if session_cache_ttl > Duration::from_secs(5) {
            return Err(ConfigError(
                "TESSERA_SESSION_CACHE_TTL must be at most 5s: revocations must reach every \
                 instance within 5 seconds"
                    .into(),
            ));
        }
        if access_ttl.is_zero() || refresh_idle_ttl.is_zero() || refresh_absolute_ttl.is_zero() {
            return Err(ConfigError(
                "token lifetimes must be greater than zero".into(),
            ));
        }

        let cookie_secure = match env_any(&["TESSERA_COOKIE_SECURE"]) {
            Some(v) => parse_bool(&v)
                .ok_or_else(|| ConfigError(format!("TESSERA_COOKIE_SECURE = {v:?}")))?,
            None => file.cookie_secure.unwrap_or(mode == Mode::Production),
        };

        let allowed_origins = match env_any(&["TESSERA_ALLOWED_ORIGINS"]) {
            Some(list) => split_list(&list),
            None => file.allowed_origins.clone().unwrap_or_default(),
        }
        .iter()
        .map(|o| normalise_origin(o))
        .collect::<Result<Vec<_>, _>>()?;

        let proxies_text = match env_any(&["TESSERA_TRUSTED_PROXIES"]) {
            Some(list) => split_list(&list),
            None => file.trusted_proxies.clone().unwrap_or_default(),
        };
        let trusted_proxies = proxies_text
            .iter()
            .map(|p| {
                p.parse::<IpAddr>()
                    .map_err(|_| ConfigError(format!("trusted proxy {p:?} is not an IP address")))
            })
            .collect::<Result<Vec<_>, _>>()?;

        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let number = |env: &str, from_file: Option<usize>, default: usize| match env_any(&[env]) {
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ConfigError(format!("{env} = {v:?} is not a positive number"))),
            None => Ok(from_file.unwrap_or(default)),
        };

        Ok(Config {
            mode,
            bind,
            database_url,
            data_dir,
            jwt_secret,
            issuer: text(&["TESSERA_ISSUER"], &file.issuer, "tessera"),
            audience: text(&["TESSERA_AUDIENCE"], &file.audience, "tessera"),
            access_ttl,
            refresh_idle_ttl,
            refresh_absolute_ttl,
            refresh_grace,
            refresh_cookie: text(
                &["TESSERA_REFRESH_COOKIE", "JWT_COOKIE_NAME"],
                &file.refresh_cookie,
                "refreshToken",
            ),
            csrf_cookie: text(&["TESSERA_CSRF_COOKIE"], &file.csrf_cookie, "csrfToken"),
            cookie_secure,
            allowed_origins,
            trusted_proxies,
            hash_workers: number("TESSERA_HASH_WORKERS", file.hash_workers, cpus)?,
            hash_queue: number("TESSERA_HASH_QUEUE", file.hash_queue, 64)?,
            cleanup_interval,
            session_cache_ttl,
        })
        .and_then(Config::check_cookie_names)
    }

    /// `__Host-` and `__Secure-` cookies are dropped by browsers unless they are `Secure`.
    fn check_cookie_names(self) -> Result<Config, ConfigError> {
        let prefixed = |name: &str| name.starts_with("__Host-") || name.starts_with("__Secure-");
        if (prefixed(&self.refresh_cookie) || prefixed(&self.csrf_cookie)) && !self.cookie_secure {
            return Err(ConfigError(
                "__Host-/__Secure- cookie names need Secure cookies (production mode)".into(),
            ));
        }
        Ok(self)
    }
}

/// Secrets that appear in tutorials, examples and jwt.io; a server signing with one of them
/// can be forged by anyone who read the same page.
const WELL_KNOWN_SECRETS: &[&str] = &[
    "some-long-random-string-change-this",
    "your-256-bit-secret",
    "a-string-secret-at-least-256-bits-long",
    "secret",
    "secretkey",
    "secret-key",
    "your-secret-key",
    "your_secret_key",
    "your-jwt-secret",
    "your_jwt_secret",
    "jwt_secret",
    "jwt-secret",
    "supersecret",
    "super-secret-key",
    "changeme",
    "change-me",
    "change_me",
    "changeit",
    "mysecret",
    "password",
    "0123456789abcdef0123456789abcdef",
    "00000000000000000000000000000000",
];

/// Shortest signing secret accepted in production (RFC 7518 §3.2: an HS256 key must be at
/// least 256 bits).
pub const MIN_SECRET_BYTES: usize = 32;

const GENERATE_HINT: &str = "generate one with: openssl rand -base64 48";

/// Why a configured signing secret is refused, or `None` if it is acceptable.
pub fn weak_secret_reason(secret: &[u8]) -> Option<String> {
    if secret.len() < MIN_SECRET_BYTES {
        return Some(format!(
            "the signing secret (TESSERA_JWT_SECRET or JWT_SECRET) is {} bytes; at least \
             {MIN_SECRET_BYTES} are needed: {GENERATE_HINT}",
            secret.len()
        ));
    }
    let text = String::from_utf8_lossy(secret).to_ascii_lowercase();
    let one_repeated_byte = secret.iter().all(|b| *b == secret[0]);
    if one_repeated_byte || WELL_KNOWN_SECRETS.iter().any(|known| text.contains(known)) {
        return Some(format!(
            "the signing secret is a well-known example value; {GENERATE_HINT}"
        ));
    }
    None
}

impl Config {
    /// The signing secret to use. Production needs a strong configured one. Development
    /// uses the configured one or else a random one persisted in `data_dir/jwt-secret`, so
    /// restarts keep every session valid.
    pub fn signing_secret(&self) -> Result<Secret, ConfigError> {
        match (&self.jwt_secret, self.mode) {
            (Some(secret), Mode::Production) => match weak_secret_reason(&secret.0) {
                Some(reason) => Err(ConfigError(reason)),
                None => Ok(secret.clone()),
            },
            (None, Mode::Production) => Err(ConfigError(format!(
                "production mode needs a signing secret in TESSERA_JWT_SECRET (or JWT_SECRET); \
                 {GENERATE_HINT}"
            ))),
            (Some(secret), Mode::Development) => {
                if let Some(reason) = weak_secret_reason(&secret.0) {
                    tracing::warn!("{reason} (accepted in development mode only)");
                }
                Ok(secret.clone())
            }
            (None, Mode::Development) => self.persisted_dev_secret(),
        }
    }

    fn persisted_dev_secret(&self) -> Result<Secret, ConfigError> {
        let path = self.data_dir.join("jwt-secret");
        let io = |e: std::io::Error| ConfigError(format!("{}: {e}", path.display()));
        if let Ok(existing) = std::fs::read_to_string(&path) {
            let existing = existing.trim().as_bytes().to_vec();
            if existing.len() >= MIN_SECRET_BYTES {
                return Ok(Secret(existing));
            }
        }
        std::fs::create_dir_all(&self.data_dir).map_err(io)?;
        let mut bytes = [0u8; 48];
        rand::fill(&mut bytes);
        let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        write_private(&path, text.as_bytes()).map_err(io)?;
        tracing::info!(path = %path.display(), "generated a development signing secret");
        Ok(Secret(text.into_bytes()))
    }
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents)
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| ConfigError(format!("{}: {e}", path.display())))
}

fn split_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// An allowed origin as browsers send it in `Origin`: `scheme://host[:port]`, lower-cased,
/// no path and no trailing slash. Anything else (`*`, a bare host, a URL with a path) could
/// never match a request, so it is a configuration error rather than a silent no-op.
fn normalise_origin(text: &str) -> Result<String, ConfigError> {
    let origin = text.trim().trim_end_matches('/').to_ascii_lowercase();
    let valid = origin
        .split_once("://")
        .filter(|(scheme, _)| matches!(*scheme, "http" | "https"))
        .is_some_and(|(_, authority)| {
            !authority.is_empty()
                && authority
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        });
    if valid {
        Ok(origin)
    } else {
        Err(ConfigError(format!(
            "allowed origin {text:?} is not of the form scheme://host[:port] \
             (such as https://app.example.com)"
        )))
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Parses `900`, `30s`, `15m`, `12h` or `7d` (the tutorial's `JWT_EXPIRE` style).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let seconds = match unit.trim() {
        "" | "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(seconds))
}

/// Hides the password part of a database URL for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:…{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_the_tutorial() {
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("900"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("7 weeks"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn weak_secrets_are_named_with_a_hint() {
        assert!(
            weak_secret_reason(b"short")
                .unwrap()
                .contains("openssl rand")
        );
        assert!(weak_secret_reason(b"your-256-bit-secret-padded-to-be-long-enough").is_some());
        assert!(weak_secret_reason(&[b'a'; 40]).is_some());
        assert!(weak_secret_reason(b"9f3c1a7be2d84c06a5e1f7b39d20c4e8a7b6").is_none());
    }

    #[test]
    fn example_file_parses_and_resolves() {
        let file: FileConfig = toml::from_str(include_str!("../tessera.example.toml")).unwrap();
        assert_eq!(file.refresh_grace.as_deref(), Some("10s"));
        assert_eq!(file.refresh_cookie.as_deref(), Some("__Host-refreshToken"));
        assert_eq!(file.trusted_proxies.as_ref().map(Vec::len), Some(1));
    }

    #[test]
    fn allowed_origins_must_be_origins() {
        assert_eq!(
            normalise_origin(" https://App.Example.com/ ").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            normalise_origin("http://localhost:3000").unwrap(),
            "http://localhost:3000"
        );
        assert_eq!(
            normalise_origin("http://[::1]:8080").unwrap(),
            "http://[::1]:8080"
        );
        for bad in [
            "*",
            "localhost:3000",
            "http://a.example/path",
            "ftp://a.example",
            "https://",
        ] {
            let error = normalise_origin(bad).unwrap_err();
            assert!(error.0.contains("scheme://host[:port]"), "{bad}: {error:?}");
        }
    }

    #[test]
    fn database_password_is_redacted() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db/tessera"),
            "postgres://app:…@db/tessera"
        );
        assert_eq!(redact_url("sqlite://data/t.db"), "sqlite://data/t.db");
    }
}
