//! A real S3 server on loopback: `s3s-fs` (an S3 implementation over a
//! directory) run in-process on an ephemeral port, with signature checks on.
//! It can be stopped (every connection cut) and started again on the same
//! port, to show the station riding out an object store outage.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// Access key the test server accepts.
pub const ACCESS_KEY: &str = "postcso-test-access";
/// Secret key the test server accepts.
pub const SECRET_KEY: &str = "postcso-test-secret-key-0123456789";

/// A running (or stopped) S3 server over a temp dir; each bucket is a
/// directory of it and each object a file.
pub struct S3Server {
    /// The directory behind the server.
    pub root: TempDir,
    /// Where it listens.
    pub addr: SocketAddr,
    task: Option<JoinHandle<()>>,
}

fn serve(root: &Path, listener: TcpListener) -> JoinHandle<()> {
    let fs = s3s_fs::FileSystem::new(root).expect("s3s-fs over the temp dir");
    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    let service = builder.build();
    tokio::spawn(async move {
        let http = ConnBuilder::new(TokioExecutor::new());
        // Dropped with this task: aborting it cuts every open connection.
        let mut connections = JoinSet::new();
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let connection = http
                .serve_connection(TokioIo::new(socket), service.clone())
                .into_owned();
            connections.spawn(async move {
                let _ = connection.await;
            });
            while connections.try_join_next().is_some() {}
        }
    })
}

impl S3Server {
    /// Starts a server with these buckets (created as directories).
    pub async fn start(buckets: &[&str]) -> Self {
        let root = tempfile::tempdir().expect("s3 root");
        for bucket in buckets {
            std::fs::create_dir(root.path().join(bucket)).expect("bucket dir");
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind s3");
        let addr = listener.local_addr().expect("addr");
        let task = Some(serve(root.path(), listener));
        Self { root, addr, task }
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Station flags and environment for `s3://bucket/prefix` on this server.
    pub fn station_args(&self, bucket: &str, prefix: &str) -> Vec<String> {
        vec![
            "--blob-store".into(),
            format!("s3://{bucket}/{prefix}"),
            "--s3-endpoint".into(),
            self.endpoint(),
            "--s3-allow-http".into(),
        ]
    }

    /// The standard AWS credential variables for this server.
    pub fn env() -> Vec<(&'static str, &'static str)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
            ("AWS_REGION", "us-east-1"),
        ]
    }

    /// Stops listening and cuts every connection.
    pub async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Starts again on the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(e) => {
                    assert!(
                        Instant::now() < deadline,
                        "cannot rebind {}: {e}",
                        self.addr
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        self.task = Some(serve(self.root.path(), listener));
    }

    /// An object's bytes, read from the server's own directory.
    pub fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.root.path().join(bucket).join(key)).ok()
    }

    /// Every file under a bucket's key prefix (objects, and anything half-written).
    pub fn files_under(&self, bucket: &str, prefix: &str) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root.path().join(bucket).join(prefix), &mut out);
        out
    }
}

impl S3Server {
    /// An object's ETag, asked over the S3 API (a multipart object's ends
    /// in `-<parts>`).
    pub async fn etag(&self, bucket: &str, key: &str) -> String {
        use rusty_s3::S3Action;
        let endpoint = self.endpoint().parse().expect("endpoint url");
        let bucket = rusty_s3::Bucket::new(
            endpoint,
            rusty_s3::UrlStyle::Path,
            bucket.to_owned(),
            "us-east-1",
        )
        .expect("bucket");
        let credentials = rusty_s3::Credentials::new(ACCESS_KEY, SECRET_KEY);
        let url = bucket
            .head_object(Some(&credentials), key)
            .sign(Duration::from_secs(60));
        let response = reqwest::Client::new()
            .head(url)
            .send()
            .await
            .expect("head object");
        assert_eq!(response.status(), 200, "head object");
        response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .expect("etag")
            .to_owned()
    }

    /// Leftover parts of multipart uploads not completed nor aborted.
    pub fn pending_parts(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.root.path())
            .expect("root")
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(".upload_id-"))
            })
            .collect()
    }
}

/// The key a station stores a photo under, below its prefix.
pub fn blob_key(prefix: &str, sha256: &str) -> String {
    format!("{prefix}/blobs/{}/{sha256}", &sha256[..2])
}
