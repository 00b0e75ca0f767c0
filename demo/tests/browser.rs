//! The demo in a real browser: headless Chromium driven through WebDriver (Debian's
//! `chromium` and `chromium-driver`, which `scripts/test.sh` installs; without them this test
//! fails, it never skips). Each step saves a screenshot under
//! `<target>/tmp/browser/` (printed at the start), and a failure names its step.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tower_flash::{Key, MemoryStore};

/// The W3C name of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// `chromedriver` on a free port, killed on drop.
struct Driver {
    port: u16,
    child: Child,
}

impl Driver {
    fn start() -> Self {
        // Reserved for this test process: a port bound and let go could be another
        // test's by the time chromedriver binds it.
        let port = tower_flash_testkit::harness::free_ports(1)[0];
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "chromedriver could not start ({e}): run `apt-get install -y chromium \
                     chromium-driver` (scripts/test.sh does it)"
                )
            });
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { port, child }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One plain HTTP/1.1 exchange with chromedriver; the WebDriver `value` of the answer.
fn call(port: u16, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    // chromedriver may keep the connection open: read the head, then exactly the body.
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let split = loop {
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err(format!("{method} {path}: no HTTP head from chromedriver"));
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let mut payload = raw[split + 4..].to_vec();
    let length = head.lines().find_map(|line| {
        line.strip_prefix("content-length:")
            .and_then(|v| v.trim().parse::<usize>().ok())
    });
    let complete = |payload: &[u8]| match length {
        Some(length) => payload.len() >= length,
        None => payload.ends_with(b"0\r\n\r\n"),
    };
    while !complete(&payload) {
        let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        payload.extend_from_slice(&buf[..n]);
    }
    if length.is_none() && head.contains("transfer-encoding: chunked") {
        payload = dechunk(&payload);
    }
    let answer: Value =
        serde_json::from_slice(&payload).map_err(|e| format!("{method} {path}: not JSON ({e})"))?;
    let value = answer.get("value").cloned().unwrap_or(Value::Null);
    if let Some(error) = value.get("error") {
        return Err(format!("{method} {path}: {error}: {}", value["message"]));
    }
    Ok(value)
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&body[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&body[end + 2..end + 2 + size]);
        body = &body[end + 2 + size + 2..];
    }
    out
}

/// A browser session with screenshots per step.
struct Browser {
    port: u16,
    session: String,
    base: String,
    shots: PathBuf,
    step: usize,
}

impl Browser {
    fn open(driver: &Driver, base: String, shots: PathBuf) -> Self {
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1000,900", "--lang=en"]
            }
        }}});
        let session = call(driver.port, "POST", "/session", Some(capabilities))
            .unwrap_or_else(|e| panic!("chromium did not start a session: {e}"));
        Browser {
            port: driver.port,
            session: session["sessionId"].as_str().unwrap().to_owned(),
            base,
            shots,
            step: 0,
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        call(
            self.port,
            method,
            &format!("/session/{}{path}", self.session),
            body,
        )
    }

    fn go(&self, path: &str) -> Result<(), String> {
        self.cmd(
            "POST",
            "/url",
            Some(json!({ "url": format!("{}{path}", self.base) })),
        )
        .map(drop)
    }

    fn find_all(&self, css: &str) -> Result<Vec<String>, String> {
        let found = self.cmd(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        )?;
        Ok(found
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e[ELEMENT].as_str().map(str::to_owned))
            .collect())
    }

    fn find(&self, css: &str) -> Result<String, String> {
        self.find_all(css)?
            .into_iter()
            .next()
            .ok_or_else(|| format!("no element matches {css:?}"))
    }

    fn click(&self, css: &str) -> Result<(), String> {
        let element = self.find(css)?;
        self.cmd(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .map(drop)
    }

    fn type_into(&self, css: &str, text: &str) -> Result<(), String> {
        let element = self.find(css)?;
        self.cmd(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .map(drop)
    }

    /// The visible texts of the elements matching `css`.
    fn texts(&self, css: &str) -> Result<Vec<String>, String> {
        self.find_all(css)?
            .iter()
            .map(|e| {
                self.cmd("GET", &format!("/element/{e}/text"), None)
                    .map(|v| v.as_str().unwrap_or_default().to_owned())
            })
            .collect()
    }

    fn script(&self, script: &str) -> Result<Value, String> {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// Waits until `ready` holds (pages load and htmx swaps asynchronously).
    fn wait_for<T>(
        &self,
        what: &str,
        mut ready: impl FnMut(&Self) -> Result<Option<T>, String>,
    ) -> Result<T, String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(value) = ready(self)? {
                return Ok(value);
            }
            if Instant::now() > deadline {
                return Err(format!("timed out waiting for {what}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn screenshot(&self, name: &str) {
        let Ok(shot) = self.cmd("GET", "/screenshot", None) else {
            return;
        };
        if let Some(png) = shot
            .as_str()
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        {
            let _ = std::fs::write(self.shots.join(format!("{name}.png")), png);
        }
    }

    /// Runs one named step; saves its screenshot, or fails the test naming the step.
    fn step(&mut self, name: &str, run: impl FnOnce(&Self) -> Result<(), String>) {
        self.step += 1;
        let file = format!("{:02}-{name}", self.step);
        match run(self) {
            Ok(()) => self.screenshot(&file),
            Err(error) => {
                self.screenshot(&format!("{file}-FAILED"));
                panic!(
                    "browser step {} \"{name}\" failed: {error}\n(screenshots in {})",
                    self.step,
                    self.shots.display()
                );
            }
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.cmd("DELETE", "", None);
    }
}

/// Serves the demo app on a loopback port from a runtime of its own.
fn serve_demo() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            // With redirect scoping, for the two-tab step.
            let options = demo::Options {
                scope_to_redirects: true,
            };
            let app = demo::app_with_options(MemoryStore::new(), Key::generate(), options).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{addr}")
}

/// Reloads the page and expects no flash message on it: what was shown is gone.
fn reload_shows_no_message(b: &Browser) -> Result<(), String> {
    b.cmd("POST", "/refresh", Some(json!({})))?;
    b.wait_for("the reloaded page", |b| {
        Ok(b.find_all("form").map(|f| !f.is_empty())?.then_some(()))
    })?;
    match flashes(b)?.as_slice() {
        [] => Ok(()),
        shown => Err(format!("shown again after a reload: {shown:?}")),
    }
}

fn flashes(b: &Browser) -> Result<Vec<String>, String> {
    b.texts(".flashes .flash")
}

#[test]
fn the_demo_in_a_real_browser() {
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    println!("screenshots in {}", shots.display());
    let base = serve_demo();
    let driver = Driver::start();
    let mut b = Browser::open(&driver, base, shots);

    b.step("empty-form-shows-every-error", |b| {
        b.go("/")?;
        b.click("form[action='/entries'] button")?;
        let shown = b.wait_for("the error messages", |b| {
            let shown = flashes(b)?;
            Ok((!shown.is_empty()).then_some(shown))
        })?;
        let errors = b.find_all(".flash-error")?.len();
        if errors < 2 || !shown.iter().any(|t| t.contains("name")) {
            return Err(format!("expected an error per empty field, got {shown:?}"));
        }
        Ok(())
    });

    b.step("messages-are-gone-after-a-reload", reload_shows_no_message);

    b.step("markup-in-the-name-comes-back-as-text", |b| {
        b.type_into("input[name=name]", "<b>Bold</b> Zoë Łukasz")?;
        b.type_into("textarea[name=text]", "Hello from a real browser")?;
        b.click("form[action='/entries'] button")?;
        let shown = b.wait_for("the thanks", |b| {
            let shown = flashes(b)?;
            Ok((!shown.is_empty()).then_some(shown))
        })?;
        if !shown
            .iter()
            .any(|t| t.contains("Thanks for signing, <b>Bold</b> Zoë Łukasz!"))
        {
            return Err(format!("the name was not shown as typed: {shown:?}"));
        }
        if !b.find_all(".flashes b")?.is_empty() {
            return Err("the markup in the name became an element".to_owned());
        }
        Ok(())
    });

    b.step("the-thanks-is-shown-once", reload_shows_no_message);

    b.step("only-the-redirect-target-shows-a-scoped-message", |b| {
        // Tab 1 posts the form without following the redirect (fetch, redirect: manual);
        // tab 2, on another page, must not consume the message bound to the target, "/".
        b.go("/")?;
        let first = b.cmd("GET", "/window", None)?;
        let posted = b.script(
            "return fetch('/entries', {method: 'POST', redirect: 'manual', \
             headers: {'Content-Type': 'application/x-www-form-urlencoded'}, \
             body: 'name=&text='}).then(r => r.type)",
        )?;
        if posted != "opaqueredirect" {
            return Err(format!("the post did not answer with a redirect: {posted}"));
        }
        let second = b.cmd("POST", "/window/new", Some(json!({ "type": "tab" })))?;
        b.cmd(
            "POST",
            "/window",
            Some(json!({ "handle": second["handle"] })),
        )?;
        b.go("/preview")?;
        let on_other = b.texts(".flashes .flash-error")?;
        if !on_other.is_empty() {
            return Err(format!(
                "another page took the scoped messages: {on_other:?}"
            ));
        }
        b.cmd("DELETE", "/window", None)?;
        b.cmd("POST", "/window", Some(json!({ "handle": first })))?;
        b.go("/")?;
        let on_target = b.texts(".flashes .flash-error")?;
        if on_target.is_empty() {
            return Err("the redirect's target did not show the messages".to_owned());
        }
        Ok(())
    });

    b.step("htmx-toasts-with-the-overflow-on-the-next-request", |b| {
        b.go("/htmx")?;
        // Toasts leave after 4 s: record every one the page shows.
        b.script(
            "window.seen = []; new MutationObserver(ms => ms.forEach(m => m.addedNodes\
             .forEach(n => window.seen.push(n.textContent)))).observe(\
             document.getElementById('toasts'), {childList: true}); return true",
        )?;
        b.click("button[hx-post='/htmx/burst']")?;
        let first = b.wait_for("the first toasts", |b| {
            let seen = b.script("return window.seen")?;
            let seen: Vec<String> = serde_json::from_value(seen).map_err(|e| e.to_string())?;
            Ok((!seen.is_empty()).then_some(seen.len()))
        })?;
        if first >= 20 {
            return Err(format!(
                "all {first} messages in one header: no overflow to test"
            ));
        }
        b.screenshot("burst-first-toasts");
        b.click("button[hx-post='/htmx/like']")?;
        let seen = b.wait_for("the overflow", |b| {
            let seen = b.script("return window.seen")?;
            let seen: Vec<String> = serde_json::from_value(seen).map_err(|e| e.to_string())?;
            Ok(seen
                .iter()
                .any(|t| t.starts_with("Thanks!"))
                .then_some(seen))
        })?;
        let messages: Vec<&String> = seen.iter().filter(|t| t.starts_with("Message")).collect();
        let expected: Vec<String> = (1..=first.min(20))
            .map(|i| format!("Message {i} of 20"))
            .collect();
        if messages.len() <= first
            || messages[..first]
                .iter()
                .map(|s| s.as_str())
                .ne(expected.iter().map(String::as_str))
        {
            return Err(format!(
                "expected the first {first} then more on the next request: {seen:?}"
            ));
        }
        Ok(())
    });

    b.step("non-ascii-text-in-a-toast", |b| {
        let toast = b.wait_for("a thanks toast", |b| {
            let seen = b.script("return window.seen")?;
            let seen: Vec<String> = serde_json::from_value(seen).map_err(|e| e.to_string())?;
            Ok(seen.into_iter().rev().find(|t| t.starts_with("Thanks!")))
        })?;
        if !toast.contains("Merci · Danke · Спасибо") {
            return Err(format!("the toast's non-ASCII text is garbled: {toast:?}"));
        }
        Ok(())
    });
}
