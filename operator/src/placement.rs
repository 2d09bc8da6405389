//! Which region records a session: a pure function of the Recording and a table every regional
//! install shares, so all regions reach the same answer (architecture.md §6).
//!
//! Order: explicit override, then the media server's region hint, then the host→region rules,
//! then the recording region nearest (great-circle) to the hinted place, then the default.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A named point on Earth: a region that has recorders (a pool), or another name for a location
/// (a media server's own region naming such as `us-east-1`, a city).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Location {
    pub name: String,
    /// Degrees north.
    pub lat: f64,
    /// Degrees east.
    pub lon: f64,
}

impl Location {
    pub fn new(name: &str, lat: f64, lon: f64) -> Self {
        Self {
            name: name.into(),
            lat,
            lon,
        }
    }
}

/// Media servers whose host is `host` or ends in `.host` are in `region` — a recording region
/// or a place name (then the nearest recording region takes it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostRule {
    pub host: String,
    pub region: String,
}

/// The table every regional install shares.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlacementTable {
    /// The recording regions.
    pub regions: Vec<Location>,
    /// Other names for locations, resolved to the nearest recording region.
    #[serde(default)]
    pub places: Vec<Location>,
    /// Media server hosts and the region (or place) they are in.
    #[serde(default)]
    pub host_rules: Vec<HostRule>,
    /// Where a Recording with nothing to go by is recorded; the first region when unset.
    #[serde(default)]
    pub default_region: Option<String>,
}

/// What placement looks at.
#[derive(Clone, Copy, Debug, Default)]
pub struct PlacementInput<'a> {
    pub override_region: Option<&'a str>,
    pub region_hint: Option<&'a str>,
    pub media_server_url: Option<&'a str>,
}

/// Why a region was chosen: `status.placement.reason`, and the reason of the `Placed` condition.
#[derive(schemars::JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reason {
    Override,
    RegionHint,
    HostRule,
    Nearest,
    Default,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Override => "Override",
            Self::RegionHint => "RegionHint",
            Self::HostRule => "HostRule",
            Self::Nearest => "Nearest",
            Self::Default => "Default",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub region: String,
    pub reason: Reason,
}

#[derive(Debug, Error, PartialEq)]
pub enum PlacementError {
    #[error(
        "spec.placement.region: {0:?} is not a region of the placement table (known: {1}); use one of them"
    )]
    UnknownOverride(String, String),
    #[error(
        "the placement table has no regions; list them under `regions` in the placement config"
    )]
    EmptyTable,
}

impl PlacementTable {
    fn region(&self, name: &str) -> Option<&Location> {
        self.regions.iter().find(|r| r.name == name)
    }

    fn location(&self, name: &str) -> Option<(f64, f64)> {
        self.region(name).map(|r| (r.lat, r.lon)).or_else(|| {
            self.places
                .iter()
                .find(|p| p.name == name)
                .map(|p| (p.lat, p.lon))
        })
    }

    /// The recording region nearest to `(lat, lon)`; ties go to the earlier table entry so every
    /// install agrees.
    pub fn nearest(&self, lat: f64, lon: f64) -> Option<&Location> {
        let mut best: Option<(&Location, f64)> = None;
        for r in &self.regions {
            let d = great_circle_km(lat, lon, r.lat, r.lon);
            if best.is_none_or(|(_, bd)| d < bd) {
                best = Some((r, d));
            }
        }
        best.map(|(r, _)| r)
    }

    /// Resolves a region or place name to a recording region.
    fn resolve(&self, name: &str, direct: Reason) -> Option<Decision> {
        if let Some(r) = self.region(name) {
            return Some(Decision {
                region: r.name.clone(),
                reason: direct,
            });
        }
        let (lat, lon) = self.location(name)?;
        self.nearest(lat, lon).map(|r| Decision {
            region: r.name.clone(),
            reason: Reason::Nearest,
        })
    }

    /// Places a Recording.
    pub fn place(&self, input: PlacementInput<'_>) -> Result<Decision, PlacementError> {
        if self.regions.is_empty() {
            return Err(PlacementError::EmptyTable);
        }
        if let Some(o) = input.override_region {
            return match self.region(o) {
                Some(r) => Ok(Decision {
                    region: r.name.clone(),
                    reason: Reason::Override,
                }),
                None => Err(PlacementError::UnknownOverride(
                    o.to_string(),
                    self.regions
                        .iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                )),
            };
        }
        if let Some(d) = input
            .region_hint
            .and_then(|h| self.resolve(h, Reason::RegionHint))
        {
            return Ok(d);
        }
        if let Some(host) = input.media_server_url.and_then(host_of) {
            let rule = self.host_rules.iter().find(|rule| {
                let h = rule.host.to_ascii_lowercase();
                host == h || host.ends_with(&format!(".{h}"))
            });
            if let Some(d) = rule.and_then(|rule| self.resolve(&rule.region, Reason::HostRule)) {
                return Ok(d);
            }
        }
        let default = self
            .default_region
            .as_deref()
            .and_then(|d| self.region(d))
            .unwrap_or(&self.regions[0]);
        Ok(Decision {
            region: default.name.clone(),
            reason: Reason::Default,
        })
    }
}

/// The lowercase host of a URL (`wss://sfu.eu.example.com:443/x` → `sfu.eu.example.com`).
///
/// Split by hand rather than with `url` (which vcs-job's URI rules use) because placement takes
/// what users write in `mediaServerUrl`, and `url` reads it differently: a bare host
/// (`sfu.example.com`) is no URL to it, `https:///x` becomes host `x`, and an IPv6 host keeps its
/// brackets. The test below pins these cases.
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        host_port.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Haversine distance in km on a spherical Earth.
pub fn great_circle_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6371.0;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> PlacementTable {
        PlacementTable {
            regions: vec![
                Location::new("eu-west", 53.3, -6.3),
                Location::new("us-east", 39.0, -77.5),
                Location::new("ap-south", 19.1, 72.9),
            ],
            places: vec![
                Location::new("frankfurt", 50.1, 8.7),
                Location::new("us-west-2", 45.8, -119.7),
                Location::new("singapore", 1.35, 103.8),
            ],
            host_rules: vec![
                HostRule {
                    host: "eu.sfu.example.com".into(),
                    region: "eu-west".into(),
                },
                HostRule {
                    host: "sg.sfu.example.com".into(),
                    region: "singapore".into(),
                },
            ],
            default_region: Some("us-east".into()),
        }
    }

    #[test]
    fn placement_follows_the_documented_order() {
        let t = table();
        // (override, region hint, media server URL, expected region, expected reason)
        type Case<'a> = (
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            &'a str,
            Reason,
        );
        let cases: &[Case] = &[
            (
                Some("ap-south"),
                Some("eu-west"),
                None,
                "ap-south",
                Reason::Override,
            ),
            (
                None,
                Some("eu-west"),
                Some("https://sg.sfu.example.com"),
                "eu-west",
                Reason::RegionHint,
            ),
            (None, Some("frankfurt"), None, "eu-west", Reason::Nearest),
            (None, Some("us-west-2"), None, "us-east", Reason::Nearest),
            (
                None,
                Some("mars-1"),
                Some("wss://a.eu.sfu.example.com:443/room"),
                "eu-west",
                Reason::HostRule,
            ),
            (
                None,
                None,
                Some("https://EU.SFU.example.com/x"),
                "eu-west",
                Reason::HostRule,
            ),
            (
                None,
                None,
                Some("https://sg.sfu.example.com"),
                "ap-south",
                Reason::Nearest,
            ),
            (
                None,
                None,
                Some("https://noteu.sfu.example.com.evil.io"),
                "us-east",
                Reason::Default,
            ),
            (
                None,
                None,
                Some("https://xeu.sfu.example.com"),
                "us-east",
                Reason::Default,
            ),
            (None, None, None, "us-east", Reason::Default),
        ];
        for (i, (o, hint, url, region, reason)) in cases.iter().enumerate() {
            let d = t
                .place(PlacementInput {
                    override_region: *o,
                    region_hint: *hint,
                    media_server_url: *url,
                })
                .unwrap();
            assert_eq!(
                (d.region.as_str(), d.reason),
                (*region, *reason),
                "case {i}"
            );
        }
    }

    #[test]
    fn unknown_override_names_the_field_and_the_choices() {
        let err = table()
            .place(PlacementInput {
                override_region: Some("moon"),
                ..Default::default()
            })
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("spec.placement.region") && msg.contains("eu-west, us-east, ap-south"),
            "{msg}"
        );
    }

    #[test]
    fn default_is_the_first_region_when_unset_and_empty_table_is_an_error() {
        let mut t = table();
        t.default_region = None;
        assert_eq!(
            t.place(PlacementInput::default()).unwrap().region,
            "eu-west"
        );
        assert_eq!(
            PlacementTable::default().place(PlacementInput::default()),
            Err(PlacementError::EmptyTable)
        );
    }

    #[test]
    fn great_circle_distances_are_right() {
        // London–New York is about 5570 km.
        let d = great_circle_km(51.5074, -0.1278, 40.7128, -74.0060);
        assert!((d - 5570.0).abs() < 15.0, "{d}");
        assert!(great_circle_km(10.0, 20.0, 10.0, 20.0).abs() < 1e-9);
        // Across the antimeridian: Fiji to Samoa is ~1150 km, not ~39000.
        assert!(great_circle_km(-18.1, 178.4, -13.8, -171.8) < 1300.0);
    }

    #[test]
    fn hosts_are_parsed_from_urls() {
        assert_eq!(
            host_of("wss://u:p@Sfu.Example.com:8443/a?b").as_deref(),
            Some("sfu.example.com")
        );
        assert_eq!(host_of("http://[::1]:80/").as_deref(), Some("::1"));
        assert_eq!(
            host_of("sfu.example.com").as_deref(),
            Some("sfu.example.com")
        );
        assert_eq!(host_of("https:///x"), None);
    }
}
