//! The `tessera` command line: `serve`, `migrate`, and `user` administration.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::auth::{Auth, clock, token};
use crate::config::{Config, Mode, Overrides, redact_url};
use crate::http::{self, AppState};
use crate::store::{Role, Store};

/// tessera: an access-token + refresh-token authentication server.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about)]
pub struct Cli {
    /// Database URL: sqlite://data/tessera.db (default) or postgres://user@host/db.
    #[arg(long, global = true, env = "TESSERA_DATABASE_URL")]
    pub database: Option<String>,
    /// TOML configuration file (see tessera.example.toml).
    #[arg(long, global = true, env = "TESSERA_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (migrates the database first).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long, env = "TESSERA_BIND")]
        bind: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

/// User administration.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (a viewer unless --role is given).
    Add {
        username: String,
        /// admin, editor or viewer.
        #[arg(long, default_value = "viewer")]
        role: String,
        /// Read the password from the first line of standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Change a user's role (ends their sessions).
    SetRole { username: String, role: String },
    /// Disable a user (ends their sessions).
    Disable { username: String },
    /// Delete a user and their sessions.
    Delete { username: String },
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let bind = match &cli.command {
        Command::Serve { bind } => bind.clone(),
        _ => None,
    };
    let overrides = Overrides {
        bind,
        database_url: cli.database.clone(),
        config_file: cli.config.clone(),
    };
    let config = Config::load(&overrides)?;
    match cli.command {
        Command::Serve { .. } => serve(config).await,
        Command::Migrate => {
            let store = open_store(&config).await?;
            println!("migrations applied to {}", redact_url(&config.database_url));
            store.close().await;
            Ok(())
        }
        Command::User { command } => user_command(config, command).await,
    }
}

async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let url = redact_url(&config.database_url);
    let store = Store::connect(&config.database_url)
        .await
        .with_context(|| format!("cannot open database {url}"))?;
    store
        .migrate()
        .await
        .with_context(|| format!("cannot migrate database {url}"))?;
    Ok(store)
}

/// Starts the server: resolve the secret, open and migrate the database, create the first
/// admin on an empty database, start the session cleanup, and serve until Ctrl-C/SIGTERM.
async fn serve(config: Config) -> anyhow::Result<()> {
    let secret = config.signing_secret()?;
    let store = open_store(&config).await?;
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .ok();
    let auth = Auth::new(store.clone(), &config, &secret.0).await?;

    if store.count_users().await? == 0 {
        create_first_admin(&auth).await?;
    }

    let cleanup = auth.clone();
    let every = config
        .cleanup_interval
        .max(std::time::Duration::from_secs(1));
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        loop {
            ticker.tick().await;
            match cleanup.cleanup(clock::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "expired sessions deleted"),
                Err(e) => tracing::warn!(error = %e, "session cleanup failed"),
            }
        }
    });

    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let address = listener.local_addr()?;
    let mode = match config.mode {
        Mode::Development => "development",
        Mode::Production => "production",
    };
    let database = redact_url(&config.database_url);
    tracing::info!(%address, mode, %database, "tessera listening");
    println!("tessera listening on http://{address} ({mode} mode)");

    let state = AppState {
        auth,
        config: Arc::new(config),
        metrics,
        pages: Default::default(),
    };
    http::serve(listener, state, shutdown_signal()).await?;
    store.close().await;
    Ok(())
}

/// On an empty database: create `admin` with a random password and print it once.
async fn create_first_admin(auth: &Auth) -> anyhow::Result<()> {
    let password = token::random_secret();
    auth.create_user("admin", &password, Role::Admin, clock::now())
        .await?;
    println!();
    println!("  First run: created user 'admin' with the one-time password below.");
    println!("  It is shown only now; sign in and change it (POST /api/auth/password).");
    println!();
    println!("      admin password: {password}");
    println!();
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

fn parse_role(text: &str) -> anyhow::Result<Role> {
    text.parse::<Role>()
        .map_err(|()| anyhow::anyhow!("unknown role {text:?}: use admin, editor or viewer"))
}

async fn user_command(config: Config, command: UserCommand) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    // The CLI never signs tokens; any key will do for the service it drives.
    let auth = Auth::new(store.clone(), &config, b"cli: no tokens are issued here").await?;
    let now = clock::now();
    match command {
        UserCommand::Add {
            username,
            role,
            password_stdin,
        } => {
            let role = parse_role(&role)?;
            let password = read_password(password_stdin)?;
            let user = auth.create_user(&username, &password, role, now).await?;
            println!("created {} ({}) id {}", user.username, user.role, user.id);
        }
        UserCommand::List => {
            println!("{:<38} {:<30} {:<7} STATUS", "ID", "USERNAME", "ROLE");
            for user in store.list_users().await? {
                let status = if user.disabled { "disabled" } else { "active" };
                println!(
                    "{:<38} {:<30} {:<7} {status}",
                    user.id, user.username, user.role
                );
            }
        }
        UserCommand::SetRole { username, role } => {
            let role = parse_role(&role)?;
            let user = find(&auth, &username).await?;
            auth.set_role(&user.id, role, now).await?;
            println!("{} is now {role}; their sessions were ended", user.username);
        }
        UserCommand::Disable { username } => {
            let user = find(&auth, &username).await?;
            auth.set_disabled(&user.id, true, now).await?;
            println!("{} is disabled; their sessions were ended", user.username);
        }
        UserCommand::Delete { username } => {
            let user = find(&auth, &username).await?;
            auth.delete_user(&user.id).await?;
            println!("{} was deleted", user.username);
        }
    }
    store.close().await;
    Ok(())
}

/// Reads a new password from stdin's first line, or prompts twice on a terminal.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    let first = rpassword::prompt_password("Password: ")?;
    let second = rpassword::prompt_password("Repeat password: ")?;
    if first != second {
        bail!("the passwords differ");
    }
    Ok(first)
}

async fn find(auth: &Auth, username: &str) -> anyhow::Result<crate::store::User> {
    auth.find_user_by_username(username)
        .await
        .map_err(|_| anyhow::anyhow!("no user named {username:?}"))
}
