//! Test servers: moto (AWS KMS, STS, IAM with signature checking) and a minimal
//! Vault-Transit-compatible server, plus a helper to serve any axum router on loopback.
#![allow(dead_code)]

pub mod moto;
pub mod tls;
pub mod transit;

use std::net::SocketAddr;

/// Serve `router` on a free loopback port, on a thread of its own, for the rest of the test
/// process. Returns the address once it accepts connections.
pub fn serve(router: axum::Router) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, router).await.unwrap();
        });
    });
    addr
}
