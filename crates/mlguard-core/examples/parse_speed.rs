//! Throughput of the YAML layer on one file: raw parser events vs. spanned trees.
//! `cargo run --release -p mlguard-core --example parse_speed -- FILE`
fn main() {
    let path = std::env::args().nth(1).expect("FILE");
    let text = std::fs::read_to_string(&path).expect("read");
    let t = std::time::Instant::now();
    let mut n = 0usize;
    for ev in saphyr_parser::Parser::new_from_str(&text) {
        if ev.is_ok() {
            n += 1;
        }
    }
    let raw = t.elapsed();
    let t = std::time::Instant::now();
    let s = mlguard_core::yaml::parse_stream(&text, mlguard_core::yaml::Limits::default());
    let tree = t.elapsed();
    let mb = text.len() as f64 / 1e6;
    println!(
        "{mb:.1} MB, {n} events: raw parser {:.3} s ({:.1} MB/s), trees {:.3} s ({:.1} MB/s), {} docs",
        raw.as_secs_f64(),
        mb / raw.as_secs_f64(),
        tree.as_secs_f64(),
        mb / tree.as_secs_f64(),
        s.documents.len()
    );
}
