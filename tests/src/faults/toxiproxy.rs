//! A real Toxiproxy server (the Go binary `cargo xtask deps` installs), started on
//! a free loopback port and driven through its REST API: proxies in front of the
//! station and the toxics that break the TCP connections through them.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The pinned Toxiproxy release; `cargo xtask deps` installs this version.
pub const TOXIPROXY_VERSION: &str = "v2.12.0";
/// Overrides where the harness looks for the server binary.
pub const SERVER_ENV: &str = "TOXIPROXY_SERVER";

/// Where `cargo xtask deps` puts tools built for the tests (kept out of the
/// cargo target dir so `cargo clean` does not throw them away).
pub fn tools_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("POSTCSO_TOOLS_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".cache/postcso/bin")
}

/// The `toxiproxy-server` binary: `$TOXIPROXY_SERVER`, else the tools dir, else
/// `PATH`. Panics with the command to run when it is nowhere: a fault test must
/// fail loudly, never skip.
pub fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os(SERVER_ENV) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{SERVER_ENV}={} does not exist; unset it or run `cargo xtask deps`",
            path.display()
        );
        return path;
    }
    let installed = tools_dir().join("toxiproxy-server");
    if installed.is_file() {
        return installed;
    }
    if let Some(on_path) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("toxiproxy-server"))
            .find(|p| p.is_file())
    }) {
        return on_path;
    }
    panic!(
        "toxiproxy-server not found (looked at ${SERVER_ENV}, {}, and PATH).\n\
         Run `cargo xtask deps` to build Toxiproxy {TOXIPROXY_VERSION} from the Go module proxy,\n\
         or point {SERVER_ENV} at a toxiproxy-server binary.",
        installed.display()
    )
}

/// A running `toxiproxy-server`, killed on drop.
pub struct Toxiproxy {
    child: Child,
    api: String,
    http: reqwest::blocking::Client,
}

impl Toxiproxy {
    /// Starts a server on a free loopback port and waits until its API answers.
    pub fn start() -> Self {
        let port = crate::station::free_port();
        let child = Command::new(server_binary())
            .args(["-host", "127.0.0.1", "-port", &port.to_string()])
            .env("LOG_LEVEL", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn toxiproxy-server");
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("http client");
        let mut server = Self {
            child,
            api: format!("http://127.0.0.1:{port}"),
            http,
        };
        let started = Instant::now();
        loop {
            if let Ok(r) = server.http.get(format!("{}/version", server.api)).send()
                && r.status().is_success()
            {
                break;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("toxiproxy-server exited at start ({status})");
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "toxiproxy-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// Creates a proxy listening on a free loopback port and forwarding to
    /// `127.0.0.1:upstream_port`.
    pub fn proxy(&self, name: &str, upstream_port: u16) -> Proxy {
        let created: Value = call(
            self.http
                .post(format!("{}/proxies", self.api))
                .json(&json!({
                    "name": name,
                    "listen": "127.0.0.1:0",
                    "upstream": format!("127.0.0.1:{upstream_port}"),
                    "enabled": true,
                })),
        );
        let listen = created["listen"]
            .as_str()
            .expect("proxy listen address")
            .to_owned();
        let port = listen
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("proxy port");
        Proxy {
            api: format!("{}/proxies/{name}", self.api),
            name: name.to_owned(),
            port,
            http: self.http.clone(),
            upstream_port,
        }
    }
}

impl Drop for Toxiproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Which direction of the connection a toxic acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Phone → station: requests.
    Upstream,
    /// Station → phone: responses.
    Downstream,
}

impl Stream {
    fn as_str(self) -> &'static str {
        match self {
            Self::Upstream => "upstream",
            Self::Downstream => "downstream",
        }
    }
}

/// A TCP fault, as Toxiproxy names them.
#[derive(Debug, Clone, PartialEq)]
pub enum Toxic {
    /// Adds `ms` (± `jitter_ms`) to every chunk of data.
    Latency {
        /// Delay in milliseconds.
        ms: u64,
        /// Random variation in milliseconds.
        jitter_ms: u64,
    },
    /// Caps the rate at `kb_per_s` kilobytes per second.
    Bandwidth {
        /// KB/s.
        kb_per_s: u64,
    },
    /// Resets the connection (TCP RST) `after_ms` after data starts to flow.
    ResetPeer {
        /// Milliseconds before the reset; 0 resets at once.
        after_ms: u64,
    },
    /// Closes the connection once `bytes` have passed.
    LimitData {
        /// Byte budget per connection.
        bytes: u64,
    },
    /// Data stops; with `ms == 0` the connection stays open for ever (a
    /// blackhole), otherwise it is closed after `ms`.
    Timeout {
        /// Milliseconds before closing; 0 never closes.
        ms: u64,
    },
    /// Delays the close of the connection by `ms`.
    SlowClose {
        /// Milliseconds.
        ms: u64,
    },
}

impl Toxic {
    fn kind(&self) -> &'static str {
        match self {
            Self::Latency { .. } => "latency",
            Self::Bandwidth { .. } => "bandwidth",
            Self::ResetPeer { .. } => "reset_peer",
            Self::LimitData { .. } => "limit_data",
            Self::Timeout { .. } => "timeout",
            Self::SlowClose { .. } => "slow_close",
        }
    }

    fn attributes(&self) -> Value {
        match *self {
            Self::Latency { ms, jitter_ms } => json!({ "latency": ms, "jitter": jitter_ms }),
            Self::Bandwidth { kb_per_s } => json!({ "rate": kb_per_s }),
            Self::ResetPeer { after_ms } => json!({ "timeout": after_ms }),
            Self::LimitData { bytes } => json!({ "bytes": bytes }),
            Self::Timeout { ms } => json!({ "timeout": ms }),
            Self::SlowClose { ms } => json!({ "delay": ms }),
        }
    }
}

/// One proxy of the server: the address the phone talks to.
#[derive(Clone)]
pub struct Proxy {
    api: String,
    name: String,
    port: u16,
    upstream_port: u16,
    http: reqwest::blocking::Client,
}

impl Proxy {
    /// `http://127.0.0.1:PORT/`, the station's address through the proxy.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The port the proxy listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port it forwards to.
    pub fn upstream_port(&self) -> u16 {
        self.upstream_port
    }

    /// Adds `toxic` on `stream` under `name` (unique per proxy), acting on every
    /// connection, open or new.
    pub fn add(&self, name: &str, stream: Stream, toxic: Toxic) {
        self.add_with_toxicity(name, stream, toxic, 1.0);
    }

    /// Adds `toxic` acting on a share `toxicity` (0..=1) of connections.
    pub fn add_with_toxicity(&self, name: &str, stream: Stream, toxic: Toxic, toxicity: f32) {
        let _: Value = call(self.http.post(format!("{}/toxics", self.api)).json(&json!({
            "name": name,
            "type": toxic.kind(),
            "stream": stream.as_str(),
            "toxicity": toxicity,
            "attributes": toxic.attributes(),
        })));
    }

    /// Removes the toxic `name`.
    pub fn remove(&self, name: &str) {
        let response = self
            .http
            .delete(format!("{}/toxics/{name}", self.api))
            .send()
            .expect("toxiproxy API");
        assert!(
            response.status().is_success(),
            "removing toxic {name} from {}: {}",
            self.name,
            response.status()
        );
    }

    /// Names of the toxics in force.
    pub fn toxics(&self) -> Vec<String> {
        let list: Value = call(self.http.get(format!("{}/toxics", self.api)));
        list.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Removes every toxic.
    pub fn clear(&self) {
        for name in self.toxics() {
            self.remove(&name);
        }
    }

    /// Stops the proxy: open connections are closed and new ones refused (the
    /// station is unreachable).
    pub fn disable(&self) {
        self.set_enabled(false);
    }

    /// Starts the proxy again on the same port.
    pub fn enable(&self) {
        self.set_enabled(true);
    }

    fn set_enabled(&self, enabled: bool) {
        let _: Value = call(
            self.http
                .post(&self.api)
                .json(&json!({ "enabled": enabled })),
        );
    }
}

fn call(request: reqwest::blocking::RequestBuilder) -> Value {
    let response = request.send().expect("toxiproxy API");
    let status = response.status();
    let body = response.text().unwrap_or_default();
    assert!(
        status.is_success(),
        "toxiproxy API answered {status}: {body}"
    );
    if body.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&body).expect("toxiproxy API JSON")
    }
}
