//! A small driver of headless Chromium (Debian's `chromium`) over the DevTools protocol,
//! spoken on the `--remote-debugging-pipe` (commands on fd 3, answers on fd 4, each
//! message ended by a NUL byte), so no WebSocket client is needed. Synchronous: run it
//! in `spawn_blocking`.

use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

/// Longest wait for one answer or event: a guard against a hung browser, not a timing claim.
const GUARD: Duration = Duration::from_secs(60);

/// The Chromium binary on PATH, if installed. Under CI a missing one fails the test.
pub fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|path| path.is_file())
        })
    });
    if found.is_none() && std::env::var("CI").as_deref() == Ok("true") {
        panic!("chromium is not installed; under CI the browser test must run (apt-get install -y chromium)");
    }
    found
}

pub struct Browser {
    child: Child,
    input: ChildStdin,
    answers: Receiver<Value>,
    /// Events read while waiting for an answer, oldest first.
    events: VecDeque<Value>,
    next_id: u64,
    session: Option<String>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts headless Chromium with a fresh profile and attaches to its page.
    pub fn start(binary: &std::path::Path) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        // bash hands the pipes to Chromium as fds 3 (commands) and 4 (answers).
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>/dev/null"#)
            .arg(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        let input = child.stdin.take().unwrap();
        let output = child.stdout.take().unwrap();
        let (tx, answers) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(output);
            loop {
                let mut message = Vec::new();
                match reader.read_until(0, &mut message) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                message.pop();
                if let Ok(value) = serde_json::from_slice::<Value>(&message) {
                    if tx.send(value).is_err() {
                        return;
                    }
                }
            }
        });
        let mut browser = Browser {
            child,
            input,
            answers,
            events: VecDeque::new(),
            next_id: 1,
            session: None,
            _profile: profile,
        };
        let targets = browser.call("Target.getTargets", json!({}));
        let page = targets["targetInfos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "page")
            .expect("a page target")["targetId"]
            .clone();
        let attached = browser.call(
            "Target.attachToTarget",
            json!({"targetId": page, "flatten": true}),
        );
        browser.session = Some(attached["sessionId"].as_str().unwrap().to_string());
        browser.call("Page.enable", json!({}));
        browser.call("Network.enable", json!({}));
        browser
    }

    /// Sends one command (to the page once attached) and returns its result.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = &self.session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.input.write_all(&bytes).unwrap();
        self.input.flush().unwrap();
        loop {
            let answer = self.receive(method);
            if answer["id"] == json!(id) {
                if let Some(error) = answer.get("error") {
                    panic!("{method} failed: {error}");
                }
                return answer["result"].clone();
            }
            self.events.push_back(answer);
        }
    }

    fn receive(&mut self, waiting_for: &str) -> Value {
        match self.answers.recv_timeout(GUARD) {
            Ok(value) => value,
            Err(RecvTimeoutError::Timeout) => panic!("chromium did not answer {waiting_for}"),
            Err(RecvTimeoutError::Disconnected) => panic!("chromium exited during {waiting_for}"),
        }
    }

    /// The next event named `method` (earlier ones of other names stay queued).
    pub fn event(&mut self, method: &str) -> Value {
        if let Some(at) = self.events.iter().position(|e| e["method"] == method) {
            return self.events.remove(at).unwrap()["params"].clone();
        }
        loop {
            let message = self.receive(method);
            if message["method"] == method {
                return message["params"].clone();
            }
            self.events.push_back(message);
        }
    }

    /// Forgets the events seen so far (before a navigation whose events matter).
    pub fn clear_events(&mut self) {
        self.events.clear();
        while let Ok(message) = self.answers.try_recv() {
            drop(message);
        }
    }

    /// Navigates and waits for the load; returns the HTTP status of the document.
    pub fn open(&mut self, url: &str) -> u64 {
        self.clear_events();
        self.call("Page.navigate", json!({"url": url}));
        self.loaded()
    }

    /// Waits for the page to load; returns the status of the document's response.
    pub fn loaded(&mut self) -> u64 {
        self.event("Page.loadEventFired");
        let status = self
            .events
            .iter()
            .rev()
            .filter(|e| e["method"] == "Network.responseReceived")
            .find(|e| e["params"]["type"] == "Document")
            .map(|e| e["params"]["response"]["status"].as_u64().unwrap_or(0));
        status.expect("the document's response")
    }

    /// Evaluates JavaScript in the page and returns its value.
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        );
        result["result"]["value"].clone()
    }

    /// Sets the viewport (CSS pixels), as a phone or a desktop.
    pub fn viewport(&mut self, width: u32, height: u32, mobile: bool) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        );
    }

    /// A PNG of the whole page.
    pub fn screenshot(&mut self) -> Vec<u8> {
        use base64::Engine as _;
        let shot = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ask it to close (so its helper processes go too); kill it if it does not.
        let close = json!({"id": 0, "method": "Browser.close"});
        let mut bytes = serde_json::to_vec(&close).unwrap_or_default();
        bytes.push(0);
        let _ = self.input.write_all(&bytes);
        let _ = self.input.flush();
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
