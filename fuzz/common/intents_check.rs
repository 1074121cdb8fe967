// The body of the `intents` fuzz target, shared word for word with the corpus replay test
// (crates/mlguard-netpol/tests/fuzz_corpus.rs) through `include!`: the NetworkIntents file
// parser and the small parsers of endpoints and ports used on the command line and in intents.
// Nothing may panic or hang; every error names the file and has a message and a line (except
// the one file-level error for a file without documents); what parses must be well formed.

/// Inputs above this size are skipped so one iteration stays fast.
pub const INTENTS_FUZZ_MAX_INPUT: usize = 64 * 1024;

/// Parse one fuzz input as an intents file, and its lines as endpoints and ports.
pub fn check_intents_input(data: &[u8]) {
    use mlguard_netpol::explain::{conns_of_port_list, EndpointRef, PortQuery};
    use mlguard_netpol::ports::parse_conns;

    if data.len() > INTENTS_FUZZ_MAX_INPUT {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    match mlguard_netpol::intents::parse("fuzz.yaml", text) {
        Ok(intents) => {
            for i in &intents {
                assert!(
                    i.origin.starts_with("fuzz.yaml:"),
                    "intent origin {}",
                    i.origin
                );
                assert!(
                    i.from.addresses.is_none() || i.to.addresses.is_none(),
                    "an intent between two address ends was accepted: {i:?}"
                );
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "Err without errors");
            // A file with no document at all gets one file-level error without a line.
            let file_level =
                errors.len() == 1 && errors[0].pos.is_none() && errors[0].field.is_none();
            for e in &errors {
                assert_eq!(e.file, "fuzz.yaml", "error names another file: {e}");
                assert!(!e.message.is_empty(), "error without a message: {e:?}");
                assert!(
                    e.pos.is_some_and(|p| p.line >= 1) || file_level,
                    "error without a line: {e:?}"
                );
            }
        }
    }

    let first = text.lines().next().unwrap_or("");
    if let Ok(EndpointRef::Named { ns, name, kind }) = EndpointRef::parse(first) {
        assert!(
            !ns.is_empty() && !name.is_empty(),
            "empty endpoint part in {first:?}"
        );
        assert!(!name.contains('/'), "endpoint name with '/' from {first:?}");
        assert!(
            kind.as_deref() != Some(""),
            "empty endpoint kind from {first:?}"
        );
    }
    if let Ok(PortQuery::Number(_, n)) = PortQuery::parse(first) {
        assert_ne!(n, 0, "port 0 accepted from {first:?}");
    }
    let lines: Vec<String> = text.lines().take(32).map(str::to_owned).collect();
    for items in [&lines[..lines.len().min(1)], &lines[..]] {
        if let Ok(c) = conns_of_port_list(items) {
            assert_eq!(
                parse_conns(&c.to_string()).as_ref(),
                Some(&c),
                "`{c}` (from {items:?}) does not parse back to the same connections"
            );
        }
    }
}
