//! The operator's settings: one clap struct (flags with environment fallbacks), and the
//! placement table it names.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::placement::PlacementTable;
use crate::run::RunError;

/// `vcs-operator`: runs the Recording and RecorderPool controllers for one region.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "vcs-operator",
    version,
    about = "VCS Kubernetes operator: Recordings and RecorderPools of one region"
)]
pub struct Config {
    /// The region this operator records in (a name in the placement table).
    #[arg(long, env = "VCS_REGION")]
    pub region: String,
    /// Placement table (YAML or JSON): regions with coordinates, places, host rules.
    #[arg(long, env = "VCS_PLACEMENT_CONFIG")]
    pub placement_config: PathBuf,
    /// Watch only this namespace (default: all).
    #[arg(long, env = "VCS_WATCH_NAMESPACE")]
    pub namespace: Option<String>,
    /// Address of the metrics and health endpoint.
    #[arg(long, env = "VCS_METRICS_ADDR", default_value = "0.0.0.0:9090")]
    pub metrics_addr: SocketAddr,
    /// Disable leader election (only for a single replica).
    #[arg(long, env = "VCS_NO_LEADER_ELECTION")]
    pub no_leader_election: bool,
    /// Namespace of the leader-election Lease.
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub lease_namespace: String,
    /// This replica's identity in the Lease.
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// Seconds a leader's Lease lasts without renewal.
    #[arg(long, default_value_t = 15)]
    pub lease_seconds: u64,
}

impl Config {
    /// Reads the placement table and checks that it has this operator's region.
    pub fn placement_table(&self) -> Result<PlacementTable, RunError> {
        let path = &self.placement_config;
        let text = std::fs::read_to_string(path).map_err(|source| RunError::ReadPlacement {
            path: path.clone(),
            source,
        })?;
        let table: PlacementTable =
            serde_yaml_ng::from_str(&text).map_err(|source| RunError::ParsePlacement {
                path: path.clone(),
                source,
            })?;
        if !table.regions.iter().any(|r| r.name == self.region) {
            let known: Vec<&str> = table.regions.iter().map(|r| r.name.as_str()).collect();
            return Err(RunError::UnknownRegion {
                region: self.region.clone(),
                path: path.clone(),
                known: known.join(", "),
            });
        }
        Ok(table)
    }

    /// The Lease this region's replicas compete for.
    pub fn lease_name(&self) -> String {
        format!("vcs-operator-{}", self.region)
    }

    /// This replica's name in the Lease: `--identity`, else one made from the process id.
    pub fn identity(&self) -> String {
        self.identity
            .clone()
            .unwrap_or_else(|| format!("vcs-operator-{}", std::process::id()))
    }

    pub fn lease_duration(&self) -> Duration {
        Duration::from_secs(self.lease_seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(region: &str, table: &str) -> (Config, PathBuf) {
        let path = std::env::temp_dir().join(format!(
            "vcs-operator-config-{}-{region}.yaml",
            std::process::id()
        ));
        std::fs::write(&path, table).unwrap();
        let args = ["vcs-operator", "--region", region, "--placement-config"];
        let config =
            Config::try_parse_from(args.iter().copied().chain([path.to_str().unwrap()])).unwrap();
        (config, path)
    }

    #[test]
    fn flags_parse_with_defaults_and_the_region_must_be_in_the_table() {
        let table = "regions:\n- {name: eu-west, lat: 53.3, lon: -6.3}\n";
        let (ok, path) = config("eu-west", table);
        assert_eq!(ok.metrics_addr.port(), 9090);
        assert_eq!(ok.lease_name(), "vcs-operator-eu-west");
        assert_eq!(ok.placement_table().unwrap().regions[0].name, "eu-west");
        std::fs::remove_file(path).unwrap();
        let (bad, path) = config("mars", table);
        let e = bad.placement_table().unwrap_err().to_string();
        assert!(e.contains("--region mars") && e.contains("eu-west"), "{e}");
        std::fs::remove_file(path).unwrap();
    }
}
