//! The load generator for the refresh benchmark: many sessions at once, each a chain of
//! refresh-cookie rotations.
//!
//! ```text
//! cargo run --release --example refresh_load -- --url http://127.0.0.1:18080 \
//!     --username bench --password '…' --chains 64 --seconds 10
//! ```
//!
//! It logs in `--chains` sessions through `POST /api/auth/login`, then runs one keep-alive
//! connection per session. Every `POST /api/auth/refresh` presents the refresh cookie of the
//! previous response of that same chain, so the server rotates 64 independent chains
//! concurrently, exactly as 64 browsers would. Any answer but 200 with a new refresh cookie
//! is an error; that chain then logs in again (outside the latency figures) and goes on.
//!
//! wrk cannot do this: its Lua `response()` sees one value per header name, and a refresh
//! answer carries two `Set-Cookie` headers in no fixed order. So this client speaks minimal
//! HTTP/1.1 itself, which also keeps its own CPU use — on the same two cores as the server —
//! small. Prints one `RESULT` line that `bench/run.sh` parses.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Barrier;

struct Args {
    addr: String,
    username: String,
    password: String,
    chains: usize,
    seconds: f64,
}

fn parse_args() -> Result<Args, Box<dyn std::error::Error>> {
    let mut parsed = Args {
        addr: String::new(),
        username: String::new(),
        password: String::new(),
        chains: 64,
        seconds: 10.0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--url" => {
                let url = value()?;
                parsed.addr = url
                    .trim_start_matches("http://")
                    .trim_end_matches('/')
                    .to_string();
            }
            "--username" => parsed.username = value()?,
            "--password" => parsed.password = value()?,
            "--chains" => parsed.chains = value()?.parse()?,
            "--seconds" => parsed.seconds = value()?.parse()?,
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    if parsed.addr.is_empty() || parsed.username.is_empty() {
        return Err("--url and --username are required".into());
    }
    Ok(parsed)
}

/// One parsed HTTP/1.1 response: status and the value of the `refreshToken` cookie, if set.
struct Answer {
    status: u16,
    refresh_token: Option<String>,
}

/// A keep-alive HTTP/1.1 connection that sends one request at a time.
struct Connection {
    addr: String,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Connection {
    fn new(addr: &str) -> Connection {
        Connection {
            addr: addr.to_string(),
            stream: None,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Sends `request` (complete bytes) and reads the whole response. Reconnects once if the
    /// kept-alive connection was closed.
    async fn exchange(&mut self, request: &[u8]) -> std::io::Result<Answer> {
        for attempt in 0..2 {
            if self.stream.is_none() {
                let stream = TcpStream::connect(&self.addr).await?;
                stream.set_nodelay(true)?;
                self.stream = Some(stream);
            }
            match self.try_exchange(request).await {
                Ok(answer) => return Ok(answer),
                Err(e) if attempt == 0 => {
                    let _ = e;
                    self.stream = None;
                }
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other("unreachable"))
    }

    async fn try_exchange(&mut self, request: &[u8]) -> std::io::Result<Answer> {
        let stream = self
            .stream
            .as_mut()
            .ok_or_else(|| std::io::Error::other("not connected"))?;
        stream.write_all(request).await?;
        self.buf.clear();

        // Read until the end of the head, then the body's Content-Length bytes.
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            read_more(stream, &mut self.buf).await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| std::io::Error::other("bad status line"))?;
        let mut length = 0usize;
        let mut refresh_token = None;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("set-cookie")
                && let Some(rest) = value.strip_prefix("refreshToken=")
            {
                let token = rest.split(';').next().unwrap_or("");
                if !token.is_empty() {
                    refresh_token = Some(token.to_string());
                }
            }
        }
        while self.buf.len() < head_end + length {
            read_more(stream, &mut self.buf).await?;
        }
        Ok(Answer {
            status,
            refresh_token,
        })
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<()> {
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk).await?;
    if n == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn login_request(args: &Args) -> Vec<u8> {
    let body =
        serde_json::json!({ "username": args.username, "password": args.password }).to_string();
    format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         User-Agent: tessera-refresh-load\r\nContent-Length: {}\r\n\r\n{body}",
        args.addr,
        body.len()
    )
    .into_bytes()
}

fn refresh_request(addr: &str, token: &str) -> Vec<u8> {
    format!(
        "POST /api/auth/refresh HTTP/1.1\r\nHost: {addr}\r\nCookie: refreshToken={token}\r\n\
         User-Agent: tessera-refresh-load\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// Logs in on `conn` until it works (a few tries), returning the session's refresh token.
async fn log_in(conn: &mut Connection, request: &[u8]) -> Result<String, String> {
    let mut last = String::new();
    for _ in 0..20 {
        match conn.exchange(request).await {
            Ok(Answer {
                status: 200,
                refresh_token: Some(token),
            }) => return Ok(token),
            Ok(answer) => last = format!("login answered {}", answer.status),
            Err(e) => last = format!("login failed: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(last)
}

#[derive(Default)]
struct ChainResult {
    latencies_us: Vec<u64>,
    statuses: BTreeMap<u16, u64>,
    io_errors: u64,
    relogins: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let login = login_request(&args);

    // Every chain logs its session in first (each login costs one Argon2id verification),
    // then all wait at the barrier, so the timed part is refreshes only.
    let ready = Arc::new(Barrier::new(args.chains + 1));
    let go = Arc::new(Barrier::new(args.chains + 1));
    let deadline = Arc::new(OnceLock::<Instant>::new());
    let tasks: Vec<_> = (0..args.chains)
        .map(|_| {
            let addr = args.addr.clone();
            let login = login.clone();
            let (ready, go, deadline) = (ready.clone(), go.clone(), deadline.clone());
            tokio::spawn(async move {
                let mut result = ChainResult::default();
                let mut conn = Connection::new(&addr);
                let first = log_in(&mut conn, &login).await;
                ready.wait().await;
                go.wait().await;
                let Ok(mut token) = first else {
                    // A chain that never started counts as one error.
                    result.io_errors += 1;
                    return result;
                };
                let Some(&deadline) = deadline.get() else {
                    return result;
                };
                while Instant::now() < deadline {
                    let request = refresh_request(&addr, &token);
                    let sent = Instant::now();
                    match conn.exchange(&request).await {
                        Ok(Answer {
                            status: 200,
                            refresh_token: Some(next),
                        }) => {
                            result.latencies_us.push(sent.elapsed().as_micros() as u64);
                            *result.statuses.entry(200).or_default() += 1;
                            token = next;
                            continue;
                        }
                        Ok(answer) => {
                            // A 200 without a new cookie (grace-window answer) counts as an
                            // error too (reported as 299): this chain never presents an old
                            // token, so it should never get one.
                            let status = if answer.status == 200 {
                                299
                            } else {
                                answer.status
                            };
                            *result.statuses.entry(status).or_default() += 1;
                        }
                        Err(_) => result.io_errors += 1,
                    }
                    // The chain is broken: start a new session and go on.
                    if Instant::now() >= deadline {
                        break;
                    }
                    result.relogins += 1;
                    match log_in(&mut conn, &login).await {
                        Ok(next) => token = next,
                        Err(_) => break,
                    }
                }
                result
            })
        })
        .collect();
    ready.wait().await;
    let started = Instant::now();
    let _ = deadline.set(started + Duration::from_secs_f64(args.seconds));
    go.wait().await;

    let mut total = ChainResult::default();
    for task in tasks {
        let r = task.await?;
        total.latencies_us.extend(r.latencies_us);
        for (status, n) in r.statuses {
            *total.statuses.entry(status).or_default() += n;
        }
        total.io_errors += r.io_errors;
        total.relogins += r.relogins;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut lat = total.latencies_us;
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        lat[((lat.len() as f64 - 1.0) * p).round() as usize] as f64 / 1e3
    };
    let ok = lat.len() as u64;
    let errors: u64 = total
        .statuses
        .iter()
        .filter(|(s, _)| **s != 200)
        .map(|(_, n)| n)
        .sum::<u64>()
        + total.io_errors;
    let statuses: Vec<String> = total
        .statuses
        .iter()
        .map(|(s, n)| format!("{s}:{n}"))
        .collect();
    println!(
        "RESULT ok={ok} errors={errors} seconds={elapsed:.2} per_s={:.1} p50_ms={:.2} \
         p99_ms={:.2} statuses={} io_errors={} relogins={} chains={}",
        ok as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        statuses.join(","),
        total.io_errors,
        total.relogins,
        args.chains
    );
    Ok(())
}
