//! What the demo prints as it goes, the checks it makes, and the final side-by-side table.

use std::time::Instant;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

/// One documented behaviour the demo checked.
#[derive(Debug)]
struct Check {
    step: String,
    passed: bool,
    detail: String,
}

/// A row of the final table: one piece of work, as each provider reports it.
#[derive(Debug, Default, Clone)]
pub struct Row {
    /// What the work is.
    pub scenario: String,
    /// Azure: `neutral (provider)`.
    pub azure: String,
    /// Tencent: `neutral (provider)`.
    pub tencent: String,
    /// AWS: `neutral (provider)`.
    pub aws: String,
}

/// Collects checks and narrates the demo.
#[derive(Debug)]
pub struct Report {
    started: Instant,
    checks: Vec<Check>,
    rows: Vec<Row>,
}

impl Report {
    pub fn new() -> Self {
        Report {
            started: Instant::now(),
            checks: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// A section heading.
    pub fn section(&self, title: &str) {
        outln!();
        outln!("== {title}");
    }

    /// A narration line.
    pub fn say(&self, line: impl AsRef<str>) {
        outln!("   {}", line.as_ref());
    }

    /// Records whether `step` behaved as documented.
    pub fn check(&mut self, step: impl Into<String>, passed: bool, detail: impl Into<String>) {
        let (step, detail) = (step.into(), detail.into());
        let mark = if passed { "ok  " } else { "FAIL" };
        if detail.is_empty() {
            outln!("   [{mark}] {step}");
        } else {
            outln!("   [{mark}] {step}: {detail}");
        }
        self.checks.push(Check {
            step,
            passed,
            detail,
        });
    }

    /// Adds a row to the final table.
    pub fn row(&mut self, row: Row) {
        self.rows.push(row);
    }

    /// The steps that did not behave as documented.
    pub fn failures(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| {
                if c.detail.is_empty() {
                    c.step.clone()
                } else {
                    format!("{} ({})", c.step, c.detail)
                }
            })
            .collect()
    }

    /// Prints the side-by-side table and the verdict.
    pub fn finish(&self) {
        outln!();
        outln!("== Neutral states, side by side (after 10 more simulated seconds)");
        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(vec![
                "work",
                "Azure Batch: neutral (provider)",
                "Tencent Cloud Batch: neutral (provider)",
                "AWS Batch: neutral (provider)",
            ]);
        for r in &self.rows {
            table.add_row(vec![
                r.scenario.clone(),
                r.azure.clone(),
                r.tencent.clone(),
                r.aws.clone(),
            ]);
        }
        outln!("{table}");
        let passed = self.checks.iter().filter(|c| c.passed).count();
        outln!();
        outln!(
            "{passed} of {} checks behaved as documented, in {:.1} s.",
            self.checks.len(),
            self.started.elapsed().as_secs_f64()
        );
    }
}
