//! The companion's listener: plain HTTP/1.1 behind a TLS proxy, with the
//! limits a small public server needs. A connection must send its request
//! head within [`Limits::header_timeout`] (slow-loris clients are dropped),
//! at most [`Limits::max_connections`] are open at once, and on shutdown
//! requests in progress get [`Limits::drain`] to finish.
//!
//! Until a connection's request head has arrived, it is only watched: its
//! bytes wait in the kernel's socket buffer and no HTTP state exists yet
//! ([`head_arrived`]). A connection that trickles its head byte by byte
//! (slow-loris) then costs a small task instead of hyper's two 8 KiB
//! buffers, which is what keeps a thousand of them within a small VPS's
//! memory. The gate covers a connection's first request; later requests on
//! a kept-alive connection (the TLS proxy's) are read by hyper under the
//! same header timeout, with its buffers.

use std::future::Future;
use std::io;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::Interest;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

/// Connection limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time allowed to send the request line and headers.
    pub header_timeout: Duration,
    /// Open connections at most; more are closed at once.
    pub max_connections: usize,
    /// Time given to requests in progress at shutdown.
    pub drain: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            max_connections: 4096,
            drain: Duration::from_secs(10),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets
/// requests in progress finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let (stopping, stop) = watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(64 * 1024)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait, don't spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!("too many open connections; closing a new one");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (mut http, router, watcher, mut stop) = (
            http.clone(),
            router.clone(),
            graceful.watcher(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + limits.header_timeout;
            let waited = tokio::select! {
                w = tokio::time::timeout_at(deadline, head_arrived(&stream)) => w,
                _ = stop.wait_for(|s| *s) => return,
            };
            if !matches!(waited, Ok(Ok(true))) {
                return; // too slow, closed, or broken: drop it
            }
            // A head longer than the peek is still arriving: the header
            // timeout counts from the accept, not from here.
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            http.header_read_timeout(left.max(Duration::from_millis(100)));
            let service = TowerToHyperService::new(router);
            let conn = http.serve_connection(TokioIo::new(stream), service);
            let _ = watcher.watch(conn).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.drain) => {
            tracing::warn!("requests still running after the drain time; stopping anyway");
        }
    }
}

/// Bytes of a request head looked at, at most, before handing the
/// connection to the HTTP server anyway (it enforces its own limits).
const PEEK: usize = 8 * 1024;

/// Waits until a request head (up to its blank line, or [`PEEK`] bytes)
/// has arrived, without reading it. `Ok(false)`: the client closed first.
async fn head_arrived(stream: &TcpStream) -> io::Result<bool> {
    loop {
        let ready = stream.ready(Interest::READABLE).await?;
        match stream.try_io(Interest::READABLE, || peek_head(stream)) {
            Ok(arrived) => return Ok(arrived),
            // Only part of a head: wait for more, unless no more can come.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if ready.is_read_closed() {
                    return Ok(false);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Looks at what has arrived: `Ok(true)` when a whole head is there,
/// `Ok(false)` at end of stream, `WouldBlock` for a partial head (which
/// also tells the runtime to wait for the next bytes).
fn peek_head(stream: &TcpStream) -> io::Result<bool> {
    // A second handle on the same socket, for std's safe `peek`.
    let socket = std::net::TcpStream::from(stream.as_fd().try_clone_to_owned()?);
    let mut buf = [0u8; PEEK];
    let n = socket.peek(&mut buf)?;
    if n == 0 {
        return Ok(false);
    }
    // The blank line ends the head; HTTP/1.1 parsers (hyper's too) also
    // take a bare LF as a line end.
    let head = &buf[..n];
    let blank_line =
        head.windows(2).any(|w| w == b"\n\n") || head.windows(3).any(|w| w == b"\n\r\n");
    if n == PEEK || blank_line {
        return Ok(true);
    }
    Err(io::ErrorKind::WouldBlock.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A blocking client (tiny writes on loopback) and the server's side.
    async fn pair() -> (std::net::TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    }

    #[tokio::test]
    async fn waits_for_the_whole_head_without_consuming_it() {
        let (mut client, server) = pair().await;
        client
            .write_all(b"POST /inbox HTTP/1.1\r\nHost: a")
            .unwrap();
        let waiting = tokio::time::timeout(Duration::from_millis(200), head_arrived(&server));
        assert!(waiting.await.is_err(), "a partial head is not a head");
        client.write_all(b"\r\n\r\n").unwrap();
        assert!(head_arrived(&server).await.unwrap());
        let mut buf = [0u8; 64];
        let n = server.peek(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"POST /inbox"), "nothing was consumed");
        let (mut client, server) = pair().await;
        client.write_all(b"GET / HTTP/1.1\nHost: a\n\n").unwrap();
        assert!(head_arrived(&server).await.unwrap(), "bare LF line ends");
    }

    #[tokio::test]
    async fn a_client_that_closes_mid_head_is_let_go() {
        let (mut client, server) = pair().await;
        client.write_all(b"GET / HT").unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        let done = tokio::time::timeout(Duration::from_secs(5), head_arrived(&server));
        assert!(!done.await.expect("no busy wait, no hang").unwrap());
        let (client, server) = pair().await;
        drop(client);
        assert!(!head_arrived(&server).await.unwrap());
    }
}
