// Body of the `report_render` fuzz target, also `include!`d by
// crates/mlguard-report/tests/fuzz_corpus.rs: a findings JSON as `mlguard report render` reads
// it (it may come from elsewhere), rendered as the HTML report. Invariants: no panic; the page
// holds no markup from the input (no active element, and no attribute starting after a quote
// the input closed: the report writes neither) and is one complete document.

#[allow(dead_code)]
fn check_report_render_input(data: &[u8]) {
    let Ok(report) = serde_json::from_slice::<mlguard_controls::Report>(data) else {
        return;
    };
    let mut out = Vec::new();
    mlguard_report::render_html(
        &report,
        mlguard_controls::catalog::Catalog::builtin(),
        &mlguard_report::RenderOptions::default(),
        &mlguard_report::HtmlExtras::default(),
        &mut out,
    )
    .expect("rendering into memory");
    let page = String::from_utf8(out).expect("the page is UTF-8");
    let lower = page.to_ascii_lowercase();
    for bad in ["<script", "<img", "<iframe", "<object", "<embed", "\" on", "' on"] {
        assert!(!lower.contains(bad), "`{bad}` in the page");
    }
    assert!(page.starts_with("<!DOCTYPE html>"), "{}", &page[..page.len().min(40)]);
    assert!(page.trim_end().ends_with("</html>"));
}
