//! The web app's files on the TCP port: `GET`/`HEAD` of `/` and the built assets from the
//! configured directory, precompressed (`.br`, `.gz` written by the build) when the browser
//! accepts it, with caching rules and a strict Content-Security-Policy. Pure functions over the
//! request's path and headers plus a blocking file read, so the HTTP front stays small.

use std::path::{Path, PathBuf};

/// No inline script or style, no eval, no plugins, no framing; the app talks only to its own
/// origin (`ws:`/`wss:` for `/ws`: CSP 'self' does not cover WebSocket schemes everywhere).
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self' ws: wss:; manifest-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; \
frame-ancestors 'none'; form-action 'self'";

/// Files that name a fixed URL and change in place: the browser must revalidate them.
/// Everything under `assets/` carries a content hash in its name (Vite's output), so it never
/// changes and may be cached for a year.
const HASHED_DIR: &str = "assets/";

/// A response ready to write: status line, headers, body (empty for HEAD by the caller).
pub struct Reply {
    pub status: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    fn text(status: &'static str, body: String) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", "text/plain; charset=utf-8".into()), ("cache-control", "no-cache".into())],
            body: body.into_bytes(),
        }
    }

    /// The response head (with `content-length` of the body, also for HEAD).
    pub fn head(&self) -> String {
        let mut h = format!("HTTP/1.1 {}\r\n", self.status);
        for (k, v) in &self.headers {
            h.push_str(k);
            h.push_str(": ");
            h.push_str(v);
            h.push_str("\r\n");
        }
        h.push_str(&format!(
            "content-security-policy: {CSP}\r\nx-content-type-options: nosniff\r\nreferrer-policy: no-referrer\r\n\
x-frame-options: DENY\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            self.body.len()
        ));
        h
    }
}

/// Decodes `%XX` escapes; None for a malformed escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The file a request path names, relative to the web directory, or None when the path could
/// leave it: `..`/`.` segments (also percent-encoded), backslashes, NULs, anything not starting
/// with `/`, and empty segments (`//etc/passwd` would otherwise join as an absolute path).
pub fn relative_path(target: &str) -> Option<String> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    if !path.starts_with('/') {
        return None;
    }
    let decoded = percent_decode(path)?;
    if decoded == "/" {
        return Some("index.html".into());
    }
    let rest = &decoded[1..];
    if rest.contains(['\\', '\0']) || rest.chars().any(|c| c.is_control()) {
        return None;
    }
    let mut segments = Vec::new();
    for seg in rest.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." {
            return None;
        }
        segments.push(seg);
    }
    Some(segments.join("/"))
}

pub fn content_type(rel: &str) -> &'static str {
    match rel.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).as_deref() {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    }
}

fn cache_control(rel: &str) -> &'static str {
    if rel.starts_with(HASHED_DIR) {
        "public, max-age=31536000, immutable"
    } else {
        // index.html, sw.js, manifest.webmanifest, icons: fixed names, revalidated each time.
        "no-cache"
    }
}

/// Whether `Accept-Encoding` allows `coding` (present and not `q=0`).
fn accepts(accept_encoding: &str, coding: &str) -> bool {
    accept_encoding.split(',').any(|part| {
        let mut it = part.split(';');
        let name = it.next().unwrap_or("").trim();
        if !name.eq_ignore_ascii_case(coding) {
            return false;
        }
        !it.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=").is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q == 0.0))
        })
    })
}

/// A regular file inside `root` (after resolving symlinks), or None.
fn inside(root: &Path, rel: &str) -> Option<PathBuf> {
    let root = root.canonicalize().ok()?;
    let full = root.join(rel).canonicalize().ok()?;
    (full.starts_with(&root) && full.is_file()).then_some(full)
}

/// A validator for the file actually sent (each encoding has its own): size and modification
/// time, so a rebuilt file gets a new one. Lets `no-cache` files revalidate with a 304.
fn etag(meta: &std::fs::Metadata, coding: &str) -> String {
    let mtime = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    format!("\"{:x}-{mtime:x}{}{coding}\"", meta.len(), if coding.is_empty() { "" } else { "-" })
}

/// The response for one file: 304 when `If-None-Match` names its current validator.
fn file_reply(path: &Path, coding: &str, mut headers: Vec<(&'static str, String)>, if_none_match: &str) -> Option<Reply> {
    let meta = std::fs::metadata(path).ok()?;
    let tag = etag(&meta, coding);
    if !coding.is_empty() {
        headers.push(("content-encoding", coding.to_string()));
    }
    headers.push(("etag", tag.clone()));
    if if_none_match.split(',').any(|t| t.trim() == tag || t.trim() == "*") {
        return Some(Reply { status: "304 Not Modified", headers, body: Vec::new() });
    }
    let body = std::fs::read(path).ok()?;
    Some(Reply { status: "200 OK", headers, body })
}

/// Answers a GET/HEAD for `target` from `root`. Blocking (reads files): call it on the blocking
/// pool.
pub fn serve(root: &Path, target: &str, accept_encoding: &str, if_none_match: &str) -> Reply {
    let Some(rel) = relative_path(target) else {
        return Reply::text("400 Bad Request", "bad path\n".into());
    };
    if !root.join("index.html").is_file() && rel == "index.html" {
        return Reply::text(
            "404 Not Found",
            format!(
                "The web app is not built: no index.html in {}.\nBuild it (cd web && npm ci && npm run build) or start magpie with --web-dir DIR (MAGPIE_WEB_DIR).\n",
                root.display()
            ),
        );
    }
    let Some(file) = inside(root, &rel) else {
        return Reply::text("404 Not Found", "not found\n".into());
    };
    let mut headers = vec![("content-type", content_type(&rel).to_string()), ("cache-control", cache_control(&rel).to_string())];
    let compressible = !matches!(rel.rsplit_once('.').map(|(_, e)| e), Some("png" | "ico" | "woff2" | "br" | "gz"));
    if compressible {
        headers.push(("vary", "Accept-Encoding".into()));
        for (coding, ext) in [("br", "br"), ("gzip", "gz")] {
            if !accepts(accept_encoding, coding) {
                continue;
            }
            // The precompressed twin sits next to the file; the same containment check applies.
            if let Some(reply) = inside(root, &format!("{rel}.{ext}")).and_then(|twin| file_reply(&twin, coding, headers.clone(), if_none_match)) {
                return reply;
            }
        }
    }
    file_reply(&file, "", headers, if_none_match).unwrap_or_else(|| Reply::text("404 Not Found", "not found\n".into()))
}

/// For methods other than GET and HEAD.
pub fn method_not_allowed() -> Reply {
    let mut r = Reply::text("405 Method Not Allowed", "only GET and HEAD\n".into());
    r.headers.push(("allow", "GET, HEAD".into()));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_could_leave_the_directory_are_refused() {
        for bad in ["/../etc/passwd", "/%2e%2e/etc/passwd", "/%2E%2E%2fetc", "/a/../../b", "//etc/passwd", "/a\\..\\b", "/%00", "etc", "/./x", "/%zz"] {
            assert_eq!(relative_path(bad), None, "{bad}");
        }
        assert_eq!(relative_path("/").as_deref(), Some("index.html"));
        assert_eq!(relative_path("/assets/app-1.js?v=1").as_deref(), Some("assets/app-1.js"));
        assert_eq!(relative_path("/a%20b.txt").as_deref(), Some("a b.txt"));
    }

    #[test]
    fn accept_encoding_honours_q_zero() {
        assert!(accepts("gzip, deflate, br", "br"));
        assert!(accepts("BR;q=0.5", "br"));
        assert!(!accepts("br;q=0, gzip", "br"));
        assert!(!accepts("gzip", "br"));
    }
}
