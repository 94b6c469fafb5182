//! Thresholds: each fires once per period, with its severity.

use quota_core::threshold::Severity;

use crate::common::{B, fixture, kinds};

#[tokio::test]
async fn thresholds_fire_once_each_with_their_severity() {
    let f = fixture("free").await; // renders 20
    for _ in 0..25 {
        let _ = f.guard.consume(B, "renders_2d", 1, None).await.unwrap();
    }
    assert_eq!(
        kinds(&f.alerts),
        [
            "crossed:50",
            "crossed:75",
            "crossed:90",
            "crossed:100",
            "blocked"
        ]
    );
    let sev: Vec<Severity> = f.alerts.events().iter().map(|e| e.severity).collect();
    assert_eq!(
        sev,
        [
            Severity::Info,
            Severity::Warning,
            Severity::Critical,
            Severity::Blocked,
            Severity::Blocked
        ]
    );
}
