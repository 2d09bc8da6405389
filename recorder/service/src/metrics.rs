//! `GET /metrics`: Prometheus text (format 0.0.4).
//!
//! Two sources: histograms that accumulate observations ([`Metrics`], which the engine feeds
//! with frame render times and the API with start latency), and a collector that reads the
//! job's status snapshot on every scrape, so counters such as frames or output bytes can never
//! drift from what `GET /v1/job` says.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use vcs_job::control::{JobState, OutputStatus};

use crate::lifecycle::Jobs;

/// Content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The metrics handle: cheap to clone, shared between the engine and the API.
///
/// Create one, give a clone to the engine (which calls
/// [`observe_frame_render`](Self::observe_frame_render) for every frame), and pass it to
/// [`crate::run`].
#[derive(Clone, Debug)]
pub struct Metrics {
    frame_render: Histogram,
    start_latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self {
            // 0.5 ms .. ~1 s: a 30 fps frame has a 33 ms budget; the top buckets catch stalls.
            frame_render: Histogram::new(exponential_buckets(0.0005, 2.0, 12)),
            // 50 ms .. ~25 s: warm starts aim for 300 ms, cold ones take seconds.
            start_latency: Histogram::new(exponential_buckets(0.05, 2.0, 10)),
        }
    }

    /// Records how long one frame took to render (composition, graphics and compositing, up to
    /// handing the frame to the encoder).
    pub fn observe_frame_render(&self, took: Duration) {
        self.frame_render.observe(took.as_secs_f64());
    }

    /// Records the time from a job being accepted to its first encoded frame.
    pub(crate) fn observe_start_latency(&self, took: Duration) {
        self.start_latency.observe(took.as_secs_f64());
    }
}

/// The registry scraped by `/metrics`: the handle's histograms plus the job snapshot.
pub(crate) fn registry(metrics: &Metrics, jobs: Arc<Jobs>) -> Registry {
    let mut registry = Registry::default();
    registry.register(
        "vcs_frame_render_seconds",
        "Time to render one frame (composition, graphics, compositing)",
        metrics.frame_render.clone(),
    );
    registry.register(
        "vcs_job_start_latency_seconds",
        "Time from the job being accepted to its first encoded frame",
        metrics.start_latency.clone(),
    );
    registry.register_collector(Box::new(JobCollector { jobs }));
    registry
}

/// Encodes the registry as Prometheus text.
pub(crate) fn encode(registry: &Registry) -> Result<String, fmt::Error> {
    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, registry)?;
    Ok(text)
}

struct JobCollector {
    jobs: Arc<Jobs>,
}

impl fmt::Debug for JobCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JobCollector")
    }
}

/// Name, help and reading of a per-output counter.
type OutputCounter = (&'static str, &'static str, fn(&OutputStatus) -> u64);

fn labels(output: &OutputStatus) -> [(&'static str, &str); 2] {
    [("output", &output.name), ("kind", output.kind.as_str())]
}

fn single(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    metric: &impl EncodeMetric,
) -> fmt::Result {
    let descriptor = encoder.encode_descriptor(name, help, None, metric.metric_type())?;
    metric.encode(descriptor)
}

impl Collector for JobCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let status = self.jobs.status();

        let mut family = encoder.encode_descriptor(
            "vcs_job_state",
            "1 for the state the job is in (idle before a job is accepted), 0 for the others",
            None,
            MetricType::Gauge,
        )?;
        for state in JobState::ALL {
            let value = ConstGauge::new(i64::from(status.state == state));
            value.encode(family.encode_family(&[("state", state.as_str())])?)?;
        }

        single(
            &mut encoder,
            "vcs_job_frames",
            "Frames encoded",
            &ConstCounter::new(status.frames),
        )?;
        single(
            &mut encoder,
            "vcs_job_dropped_frames",
            "Output ticks that had no frame in time",
            &ConstCounter::new(status.dropped_frames),
        )?;
        single(
            &mut encoder,
            "vcs_job_encode_fps",
            "Encoded frames per second over the last few seconds",
            &ConstGauge::new(status.fps),
        )?;
        single(
            &mut encoder,
            "vcs_job_av_offset_seconds",
            "Audio minus video presentation time at the encoder",
            &ConstGauge::new(status.av_offset_ms / 1000.0),
        )?;
        single(
            &mut encoder,
            "vcs_composition_errors",
            "Frames whose composition render failed (the last good scene was reused)",
            &ConstCounter::new(status.composition_errors),
        )?;

        let counters: [OutputCounter; 3] = [
            (
                "vcs_output_bytes",
                "Bytes written by the muxer (mp4, hls) or sent (rtmp)",
                |o| o.bytes,
            ),
            ("vcs_output_uploaded_bytes", "Bytes stored in S3", |o| {
                o.uploaded_bytes
            }),
            (
                "vcs_output_errors",
                "Errors that caused a reconnect (rtmp) or an upload retry (S3)",
                |o| o.retries,
            ),
        ];
        for (name, help, value) in counters {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for output in &status.outputs {
                ConstCounter::new(value(output)).encode(family.encode_family(&labels(output))?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "vcs_output_upload_lag_seconds",
            "How long the oldest not-yet-uploaded data has waited",
            None,
            MetricType::Gauge,
        )?;
        for output in &status.outputs {
            ConstGauge::new(output.upload_lag_secs)
                .encode(family.encode_family(&labels(output))?)?;
        }
        Ok(())
    }
}
