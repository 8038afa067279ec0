//! The stack's lifecycle rules keep each retention class as long as the core's rule says.
//!
//! CloudFormation has no arithmetic, so `infra/template.yaml` carries, for every count its
//! parameters allow, the days after which a class's lifecycle rule may expire an object
//! ([`RetentionPolicy::lifecycle_days`]). The block between the markers below is generated from
//! the core; this test fails when it is stale. Regenerate it with
//! `UPDATE_GOLDEN=1 cargo test -p docvault-tests --test lifecycle_mappings` and review the diff.

use std::fmt::Write as _;
use std::path::PathBuf;

use docvault_core::{RetentionClass, RetentionPolicy, Weekday};

const BEGIN: &str = "  # BEGIN generated lifecycle days";
const END: &str = "  # END generated lifecycle days\n";

/// The largest count of each class the stack's parameters allow.
const STACK_MAX: [(RetentionClass, &str, u32); 3] = [
    (RetentionClass::Weekly, "WeeklyLifecycleDays", 52),
    (RetentionClass::Monthly, "MonthlyLifecycleDays", 84),
    (RetentionClass::Yearly, "YearlyLifecycleDays", 25),
];

fn template_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml")
}

fn policy_keeping(class: RetentionClass, count: u32) -> RetentionPolicy {
    let of = |c| if c == class { count } else { 0 };
    RetentionPolicy::new(
        1,
        of(RetentionClass::Weekly),
        of(RetentionClass::Monthly),
        of(RetentionClass::Yearly),
        Weekday::Sunday,
    )
    .expect("counts within the core's ranges")
}

fn block() -> String {
    let mut out = format!(
        "{BEGIN} (from docvault-core's retention rule: a class's count -> the\n  \
         # days after which its lifecycle rule may expire an object; 0 keeps none and\n  \
         # leaves the rule out). Regenerate: UPDATE_GOLDEN=1 cargo test -p\n  \
         # docvault-tests --test lifecycle_mappings\n"
    );
    for (class, name, max) in STACK_MAX {
        let _ = writeln!(out, "  {name}:");
        for count in 0..=max {
            let days = policy_keeping(class, count).lifecycle_days(class).max(1);
            let _ = writeln!(out, "    '{count}': {{Days: {days}}}");
        }
    }
    out.push_str(END);
    out
}

#[test]
fn the_template_carries_the_cores_lifecycle_days() {
    let path = template_path();
    let text = std::fs::read_to_string(&path).expect("infra/template.yaml");
    let start = text
        .find(BEGIN)
        .expect("the template has the generated block's BEGIN marker");
    let end = text[start..]
        .find(END)
        .map(|i| start + i + END.len())
        .expect("the template has the generated block's END marker");
    let expected = block();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let updated = format!("{}{expected}{}", &text[..start], &text[end..]);
        std::fs::write(&path, updated).expect("write infra/template.yaml");
        return;
    }
    assert!(
        text[start..end] == expected,
        "infra/template.yaml's lifecycle days differ from the core's rule; run \
         UPDATE_GOLDEN=1 cargo test -p docvault-tests --test lifecycle_mappings and review the diff"
    );
}

#[test]
fn the_stacks_ranges_fit_the_cores() {
    for (class, _, max) in STACK_MAX {
        let core_max = match class {
            RetentionClass::Weekly => RetentionPolicy::MAX_WEEKLY,
            RetentionClass::Monthly => RetentionPolicy::MAX_MONTHLY,
            RetentionClass::Yearly => RetentionPolicy::MAX_YEARLY,
            RetentionClass::Daily => RetentionPolicy::MAX_DAILY,
        };
        assert!(max <= core_max, "{class}");
    }
    // Spot checks of what the block says.
    let b = block();
    assert!(b.contains("  WeeklyLifecycleDays:\n    '0': {Days: 1}\n    '1': {Days: 7}\n"));
    assert!(
        b.contains("\n    '12': {Days: 366}\n"),
        "twelve months span up to 366 days"
    );
    assert!(
        b.contains("\n    '7': {Days: 2557}\n"),
        "seven years span up to 2557 days"
    );
}
