//! `serve` settings: the clap struct the binary flattens into its CLI, and what it resolves to.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::auth::Token;
use crate::server::ServeError;

/// Command-line and environment settings of `vcs-recorder serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Address the control API listens on.
    #[arg(long, env = "VCS_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// File holding the bearer token callers must present (surrounding whitespace is ignored).
    #[arg(long, env = "VCS_TOKEN_FILE")]
    pub token_file: PathBuf,
    /// Seconds a shutdown (SIGTERM) waits for the job to finalise and upload before giving up.
    /// Keep it below the pod's terminationGracePeriodSeconds.
    #[arg(long, env = "VCS_STOP_GRACE_SECS", default_value_t = 300)]
    pub stop_grace_secs: u64,
    /// Seconds the API keeps answering after the job ended, so the operator can read the final
    /// status before the process exits.
    #[arg(long, env = "VCS_LINGER_SECS", default_value_t = 5)]
    pub linger_secs: u64,
}

/// What `serve` runs with, once the config has been read and checked.
#[derive(Debug, Clone)]
pub struct Settings {
    pub token: Token,
    pub stop_grace: Duration,
    pub linger: Duration,
}

impl ServeConfig {
    /// Reads the token file; refuses a missing, unreadable or empty one.
    pub fn settings(&self) -> Result<Settings, ServeError> {
        let raw =
            std::fs::read_to_string(&self.token_file).map_err(|source| ServeError::TokenFile {
                path: self.token_file.clone(),
                source,
            })?;
        let token = Token::new(&raw).ok_or_else(|| ServeError::EmptyToken {
            path: self.token_file.clone(),
        })?;
        Ok(Settings {
            token,
            stop_grace: Duration::from_secs(self.stop_grace_secs),
            linger: Duration::from_secs(self.linger_secs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeConfig,
    }

    #[test]
    fn flags_parse_with_defaults() {
        let cli = Cli::try_parse_from(["x", "--token-file", "/t"]).unwrap();
        assert_eq!(cli.serve.listen, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(cli.serve.token_file, PathBuf::from("/t"));
        let cli =
            Cli::try_parse_from(["x", "--token-file", "/t", "--listen", "127.0.0.1:9"]).unwrap();
        assert_eq!(cli.serve.listen.port(), 9);
    }

    fn config(path: PathBuf) -> ServeConfig {
        ServeConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            token_file: path,
            stop_grace_secs: 1,
            linger_secs: 0,
        }
    }

    #[test]
    fn token_file_must_exist_and_hold_a_token() {
        let dir = std::env::temp_dir().join(format!("vcs-service-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();

        let missing = config(dir.join("missing"));
        let err = missing.settings().unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");

        let empty = dir.join("empty");
        std::fs::write(&empty, " \n").unwrap();
        let err = config(empty).settings().unwrap_err();
        assert!(matches!(err, ServeError::EmptyToken { .. }), "{err}");

        let good = dir.join("good");
        std::fs::write(&good, "s3cret\n").unwrap();
        assert!(config(good).settings().unwrap().token.matches("s3cret"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
