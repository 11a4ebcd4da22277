//! A fault that never took effect is a scenario that tests nothing: a `noise` too weak for the
//! bytes sent, a `drop` at an offset past the end of its message, a `truncate` of a message that
//! was never sent. After a run, each configured fault must have changed at least one bit cell,
//! byte, message or gap (its [`FaultCounts`] are not all zero) unless the scenario marks it
//! `optional: true` (`docs/scenarios.md`, "faults"). Checked under the scenario's own seed only:
//! under the further seeds of a `--seeds` sweep a fault of chance may miss without it being the
//! decoder's failure.

use meterlab_sim::line::{FaultCounts, FaultLog};

use crate::outcome::Failure;
use crate::scenario::ScenarioSpec;

/// One failure per fault of `spec` that did nothing in the run whose fault layers logged `log`
/// (the meter→reader direction; entries in configuration order).
pub fn unapplied(spec: &ScenarioSpec, log: &FaultLog) -> Vec<Failure> {
    log.entries()
        .iter()
        .enumerate()
        .filter(|(i, entry)| {
            entry.counts == FaultCounts::default() && !spec.optional_faults.contains(i)
        })
        .map(|(i, entry)| Failure {
            what: format!(
                "fault {} (`{}`) never took effect; change it so it does, or mark it `optional: true`",
                i + 1,
                entry.fault
            ),
            detail: None,
        })
        .collect()
}

#[cfg(test)]
mod test {
    use super::*;
    use meterlab_sim::line::{Channel, Fault, UartConfig, Where};
    use meterlab_sim::MeterSpec;

    use crate::scenario::RunSpec;

    fn spec(faults: Vec<Fault>, optional: Vec<usize>) -> ScenarioSpec {
        let mut spec = ScenarioSpec::for_meter(
            MeterSpec::new("dsmr-5.0"),
            RunSpec {
                telegrams: Some(1),
                duration: None,
            },
            0,
        );
        spec.faults = faults;
        spec.optional_faults = optional;
        spec
    }

    /// The fault log of `faults` over a few clean bytes.
    fn log_of(faults: &[Fault]) -> FaultLog {
        let uart: UartConfig = "115200 8N1".parse().expect("a line setting");
        let mut line = Channel::new(uart, uart, faults.to_vec(), meterlab_sim::Seed(1));
        line.send(0, b"/XMX5LGBBFG1012463747\r\n\r\n!ABCD\r\n");
        line.receive_all();
        line.fault_log().clone()
    }

    #[test]
    fn a_fault_without_effect_fails_unless_optional() {
        let faults = vec![
            Fault::Drop(Where::At {
                message: 0,
                offset: 3,
            }),
            Fault::Drop(Where::At {
                message: 7,
                offset: 3,
            }),
        ];
        let log = log_of(&faults);
        let failures = unapplied(&spec(faults.clone(), vec![]), &log);
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(
            failures[0]
                .what
                .starts_with("fault 2 (`drop message 7 offset 3`) never took effect"),
            "{}",
            failures[0].what
        );
        assert!(unapplied(&spec(faults, vec![1]), &log).is_empty());
    }
}
