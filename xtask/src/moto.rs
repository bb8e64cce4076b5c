//! moto's S3 server (PyPI `moto[server]`), for the runtime's tests of
//! files on an S3-compatible store: started on a free loopback port with
//! one bucket, stopped when dropped.

use std::process::{Child, Command, Stdio};

/// The moto release the tests run against.
const MOTO: &str = "moto[server]==5.2.6";

/// The bucket the tests store files in.
const BUCKET: &str = "aegis-test";

pub struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    pub fn start() -> Result<Moto, String> {
        let root = crate::workspace_root();
        let server = crate::python::tool(&root, "moto", MOTO, "moto_server")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {server}: {e}"))?;
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        moto.make_bucket()?;
        Ok(moto)
    }

    /// Makes the bucket once the server answers (S3's `PUT /<bucket>`;
    /// moto takes any credentials).
    fn make_bucket(&self) -> Result<(), String> {
        let url = format!("{}/{BUCKET}", self.endpoint);
        for _ in 0..300 {
            let made = Command::new("curl")
                .args(["--silent", "--fail", "--request", "PUT", &url])
                .stdout(Stdio::null())
                .status()
                .map_err(|e| format!("cannot run curl: {e}"))?;
            if made.success() {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Err(format!(
            "moto's S3 server did not answer at {}",
            self.endpoint
        ))
    }

    /// What the tests read to use it: the store's URL and the usual AWS
    /// variables, pointed at moto.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AEGIS_TEST_S3_URL", format!("s3://{BUCKET}")),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
