//! Quantities as the operator compares them against a ResourceQuota's usage.

use mlguard_tenant::spec::{is_quantity, quantity_value};

#[test]
fn quantities_have_their_values() {
    for (q, v) in [
        ("8", 8.0),
        ("500m", 0.5),
        ("1.5", 1.5),
        ("16Gi", 17_179_869_184.0),
        ("2k", 2_000.0),
        ("2e3", 2_000.0),
        ("1Ki", 1_024.0),
        ("+3", 3.0),
    ] {
        assert!(is_quantity(q), "{q}");
        let got = quantity_value(q).expect(q);
        assert!((got - v).abs() < 1e-6 * v.max(1.0), "{q}: {got} != {v}");
    }
    for bad in ["", "Gi", "1.2.3", "12Q", "1e", "e3"] {
        assert_eq!(quantity_value(bad), None, "{bad}");
    }
    assert!(quantity_value("4").expect("4") < quantity_value("5000m").expect("5000m"));
}
