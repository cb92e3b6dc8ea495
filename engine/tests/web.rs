//! The web app served on the TCP port from a directory: content types, precompressed variants
//! chosen by `Accept-Encoding`, caching headers, the CSP, HEAD, refused methods, refused path
//! traversal, and a clear 404 when the app is not built.

use magpie_testkit::*;
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Sends one raw request and reads the whole response (the server closes after it).
async fn request(e: &TestEngine, raw: &str) -> Response {
    let mut s = tokio::net::TcpStream::connect(e.engine.tcp_addr).await.unwrap();
    s.write_all(raw.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(WAIT, s.read_to_end(&mut bytes)).await.expect("response in time").unwrap();
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head") + 4;
    let head = std::str::from_utf8(&bytes[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines.filter_map(|l| l.split_once(": ")).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Response { status, headers, body: bytes[end..].to_vec() }
}

async fn get(e: &TestEngine, path: &str, accept_encoding: &str) -> Response {
    let ae = if accept_encoding.is_empty() { String::new() } else { format!("Accept-Encoding: {accept_encoding}\r\n") };
    request(e, &format!("GET {path} HTTP/1.1\r\nHost: x\r\n{ae}\r\n")).await
}

fn write(dir: &Path, rel: &str, body: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

/// A built app: index, a hashed script with both precompressed twins, a hashed stylesheet with
/// gzip only, the service worker, the manifest and an icon. The twins hold marker bytes (not real
/// compression) so the test can tell which file was sent.
fn web_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "index.html", b"<!doctype html><title>Magpie</title>");
    write(d.path(), "assets/index-AbC123.js", b"console.log(1)");
    write(d.path(), "assets/index-AbC123.js.br", b"BROTLI");
    write(d.path(), "assets/index-AbC123.js.gz", b"GZIP");
    write(d.path(), "assets/index-Def456.css", b"body{}");
    write(d.path(), "assets/index-Def456.css.gz", b"GZCSS");
    write(d.path(), "sw.js", b"self.addEventListener('fetch',()=>{})");
    write(d.path(), "manifest.webmanifest", b"{}");
    write(d.path(), "icon-192.png", b"\x89PNG");
    d
}

fn start_serving(dir: &Path) -> TestEngine {
    let dir = dir.to_path_buf();
    start_with(move |c| c.web_dir = dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_app_with_types_encodings_caching_and_csp() {
    let web = web_dir();
    let e = start_serving(web.path());

    let index = get(&e, "/", "gzip, br").await;
    assert_eq!(index.status, 200);
    assert_eq!(index.body, b"<!doctype html><title>Magpie</title>");
    assert_eq!(index.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(index.header("cache-control"), Some("no-cache"));
    let csp = index.header("content-security-policy").expect("a CSP");
    for want in ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self' ws: wss:", "object-src 'none'"] {
        assert!(csp.contains(want), "{csp} lacks {want}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    assert_eq!(index.header("x-content-type-options"), Some("nosniff"));

    // Brotli preferred when accepted, gzip next, identity last; Vary always.
    let br = get(&e, "/assets/index-AbC123.js", "gzip, deflate, br").await;
    assert_eq!((br.status, br.body.as_slice()), (200, &b"BROTLI"[..]));
    assert_eq!(br.header("content-encoding"), Some("br"));
    assert_eq!(br.header("content-type"), Some("text/javascript; charset=utf-8"));
    assert_eq!(br.header("vary"), Some("Accept-Encoding"));
    assert_eq!(br.header("cache-control"), Some("public, max-age=31536000, immutable"));
    let gz = get(&e, "/assets/index-AbC123.js", "gzip").await;
    assert_eq!((gz.body.as_slice(), gz.header("content-encoding")), (&b"GZIP"[..], Some("gzip")));
    let no_br = get(&e, "/assets/index-AbC123.js", "br;q=0, gzip").await;
    assert_eq!(no_br.header("content-encoding"), Some("gzip"));
    let plain = get(&e, "/assets/index-AbC123.js", "").await;
    assert_eq!((plain.body.as_slice(), plain.header("content-encoding")), (&b"console.log(1)"[..], None));
    assert_eq!(plain.header("vary"), Some("Accept-Encoding"));
    // Only the twins that exist: the stylesheet has no .br.
    let css = get(&e, "/assets/index-Def456.css", "br, gzip").await;
    assert_eq!((css.body.as_slice(), css.header("content-encoding")), (&b"GZCSS"[..], Some("gzip")));
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));

    let sw = get(&e, "/sw.js", "").await;
    assert_eq!((sw.status, sw.header("cache-control")), (200, Some("no-cache")));
    assert_eq!(sw.header("content-type"), Some("text/javascript; charset=utf-8"));
    let manifest = get(&e, "/manifest.webmanifest", "").await;
    assert_eq!(manifest.header("content-type"), Some("application/manifest+json"));
    assert_eq!(manifest.header("cache-control"), Some("no-cache"));
    let icon = get(&e, "/icon-192.png", "gzip, br").await;
    assert_eq!((icon.header("content-type"), icon.header("content-encoding")), (Some("image/png"), None));

    // Revalidation: the validator differs per encoding, and naming the current one gets a 304.
    let tag = index.header("etag").expect("an etag").to_string();
    assert_ne!(br.header("etag"), plain.header("etag"), "encodings have their own validators");
    let again = request(&e, &format!("GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, br\r\nIf-None-Match: {tag}\r\n\r\n")).await;
    assert_eq!((again.status, again.body.len()), (304, 0));
    assert_eq!(again.header("cache-control"), Some("no-cache"));
    let stale = request(&e, "GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"nope\"\r\n\r\n").await;
    assert_eq!(stale.status, 200);

    // HEAD: the same head, no body.
    let head = request(&e, "HEAD /assets/index-AbC123.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: br\r\n\r\n").await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("6"));
    assert!(head.body.is_empty());
    // Other methods are refused.
    let post = request(&e, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").await;
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));

    assert_eq!(get(&e, "/nope.js", "").await.status, 404);
    assert_eq!(get(&e, "/assets", "").await.status, 404, "directories are not listed");
    // The engine's own routes still answer.
    assert_eq!(get(&e, "/healthz", "").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_traversal_is_refused() {
    let outer = tempfile::tempdir().unwrap();
    write(outer.path(), "secret.txt", b"SECRET");
    let web = outer.path().join("dist");
    write(&web, "index.html", b"<!doctype html>");
    // A symlink out of the directory is not followed out of it either.
    std::os::unix::fs::symlink(outer.path().join("secret.txt"), web.join("link.txt")).unwrap();
    let e = start_serving(&web);
    let absolute = format!("{}", outer.path().join("secret.txt").display());
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/assets/../../secret.txt",
        "/.%2e/secret.txt",
        "/..%5csecret.txt",
        "//etc/passwd",
        absolute.as_str(),
        &format!("/{absolute}"),
        "/link.txt",
        "/%00index.html",
    ] {
        let r = get(&e, path, "").await;
        assert!(r.status == 400 || r.status == 404, "{path}: {}", r.status);
        assert!(!String::from_utf8_lossy(&r.body).contains("SECRET"), "{path} leaked the file");
    }
    assert_eq!(get(&e, "/", "").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_web_dir_answers_404_with_a_reason() {
    let e = start_serving(Path::new("/nonexistent/magpie-web"));
    let r = get(&e, "/", "").await;
    assert_eq!(r.status, 404);
    let body = String::from_utf8(r.body).unwrap();
    assert!(body.contains("not built") && body.contains("--web-dir"), "{body}");
    assert_eq!(get(&e, "/assets/x.js", "").await.status, 404);
    // Still serving everything else.
    assert_eq!(get(&e, "/healthz", "").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_follows_the_policy() {
    let web = web_dir();
    let dir = web.path().to_path_buf();
    let e = start_with(move |c| {
        c.web_dir = dir;
        c.plaintext_ws = magpie_engine::PlaintextPolicy::Never;
    });
    assert_eq!(get(&e, "/", "").await.status, 403, "plaintext where the policy wants TLS");
    assert_eq!(get(&e, "/healthz", "").await.status, 200);
}

/// Load balancers probe with HEAD as often as with GET: both answer 200, HEAD without a body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_get_and_head() {
    let e = start();
    let got = request(&e, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!((got.status, got.body.as_slice()), (200, b"ok\n".as_slice()));
    let head = request(&e, "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("3"), "HEAD announces the GET's length");
    assert!(head.body.is_empty(), "and sends no body: {:?}", head.body);
    e.shutdown();
}
