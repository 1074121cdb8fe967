//! Throughput of the body cipher alone (no file I/O): sealing and opening 1 MiB segments of a
//! 512 MiB buffer in memory, on one thread and on every core (rayon). Separates the cipher's
//! speed from the filesystem's, which bench/model-crypt.sh measures end to end.
//!
//! `cargo bench -p mlguard-crypt --bench body [-- --mib N]`

use mlguard_crypt::stream::{Body, PLAIN};
use mlguard_crypt::DataKey;
use rayon::prelude::*;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mib: usize = args
        .iter()
        .position(|a| a == "--mib")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    let key = DataKey::random().unwrap();
    let (body, _) = Body::create(&key, b"bench").unwrap();
    let n = mib * (1 << 20) / PLAIN;
    let mut segs: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let mut v = vec![i as u8; PLAIN];
            v.reserve(16);
            v
        })
        .collect();
    let bytes = (n * PLAIN) as f64;
    let threads = rayon::current_num_threads();
    println!("{n} segments of {PLAIN} bytes ({mib} MiB), best of 3");
    println!("{:<28} {:>8}", "run", "GB/s");
    let b = &body;
    let report = |name: &str, secs: f64| println!("{name:<28} {:>8.2}", bytes / secs / 1e9);
    let seal_all = |s: &mut Vec<Vec<u8>>, par: bool| {
        if par {
            s.par_iter_mut()
                .enumerate()
                .for_each(|(i, v)| b.seal(i as u32, false, v));
        } else {
            s.iter_mut()
                .enumerate()
                .for_each(|(i, v)| b.seal(i as u32, false, v));
        }
    };
    let open_all = |s: &mut Vec<Vec<u8>>, par: bool| {
        if par {
            s.par_iter_mut()
                .enumerate()
                .for_each(|(i, v)| b.open_segment(i as u32, false, v).unwrap());
        } else {
            s.iter_mut()
                .enumerate()
                .for_each(|(i, v)| b.open_segment(i as u32, false, v).unwrap());
        }
    };
    for par in [false, true] {
        let who = if par {
            format!("{threads} threads")
        } else {
            "1 thread".into()
        };
        let (mut seal, mut open) = (f64::MAX, f64::MAX);
        for _ in 0..3 {
            let t = Instant::now();
            seal_all(&mut segs, par);
            seal = seal.min(t.elapsed().as_secs_f64());
            let t = Instant::now();
            open_all(&mut segs, par);
            open = open.min(t.elapsed().as_secs_f64());
        }
        report(&format!("seal, {who}"), seal);
        report(&format!("open, {who}"), open);
    }
}
