//! The baselines on situations whose answers are computed by hand from their formulas.

use super::autoscaler::{self, Autoscaler};
use super::ds2::{self, Ds2};
use super::hpa::{self, Reactive};
use crate::adapt::policy::tests::{metrics, space};
use crate::adapt::policy::{Policy, Situation, taskmanagers, with_taskmanagers};
use flink::space::Config;

const STEP_S: f64 = 300.0;

fn running(n: u32) -> Config {
    let sp = space();
    with_taskmanagers(&sp, &sp.default_config(), n).unwrap()
}

/// Asks `p` at `time_s`, the job on `tms` TaskManagers having measured `busy` cores and
/// `throughput` records/s while `rates` came in (the last is the step just measured).
fn ask(
    p: &mut dyn Policy,
    time_s: f64,
    tms: u32,
    busy: f64,
    throughput: f64,
    rates: &[f64],
) -> Option<u32> {
    let current = running(tms);
    let m = metrics(busy, tms as f64, throughput);
    let s = Situation {
        time_s,
        step_s: STEP_S,
        history: rates,
        current: &current,
        last: Some(&m),
    };
    let decision = p.decide(&s).unwrap()?;
    Some(taskmanagers(&space(), &decision.config).unwrap())
}

fn autoscaler(key_groups: Option<u32>) -> Autoscaler {
    let settings = autoscaler::Settings {
        key_groups,
        ..Default::default()
    };
    Autoscaler::new(&space(), settings).unwrap()
}

#[test]
fn the_autoscaler_holds_inside_its_band() {
    // 100 k/s over the window; 10 TMs half busy at 100 k/s: a true rate of 200 k/s. The band
    // is [100 k/1.0, 100 k × 300/1800 + 100 k/0.4] = [100 000, 266 667]: nothing to do, though
    // the target capacity (16 667 + 142 857 = 159 524) would ask for 8.
    let a = autoscaler(Some(128));
    let current = running(10);
    let m = metrics(5.0, 10.0, 100_000.0);
    let rates = [100_000.0; 3];
    let s = Situation {
        time_s: 0.0,
        step_s: STEP_S,
        history: &rates,
        current: &current,
        last: Some(&m),
    };
    let e = a.evaluate(&s).unwrap().unwrap();
    assert_eq!(e.true_rate, 200_000.0);
    assert_eq!(e.band, (100_000.0, 266_667.0));
    assert_eq!(e.target_capacity, 159_524.0);
    assert_eq!(e.recommended, 8);
    let mut a = a;
    assert_eq!(ask(&mut a, 0.0, 10, 5.0, 100_000.0, &rates), None);
}

#[test]
fn the_autoscaler_scales_up_for_rate_restart_and_backlog() {
    // 4 TMs fully busy at 32 k/s while 40 k/s come in: 2.4 M records behind after a 300 s
    // step. Capacity = 2.4 M/1800 + 40 k × 300/1800 + 40 k/0.7 = 1 333 + 6 667 + 57 143 =
    // 65 143; factor 65 143/32 000 → ceil(8.14) = 9, aligned to the key groups' next divisor, 16.
    let rates = [40_000.0; 3];
    assert_eq!(
        ask(&mut autoscaler(Some(128)), 0.0, 4, 4.0, 32_000.0, &rates),
        Some(16)
    );
    assert_eq!(
        ask(&mut autoscaler(None), 0.0, 4, 4.0, 32_000.0, &rates),
        Some(9)
    );
}

#[test]
fn the_autoscaler_waits_before_it_scales_down_and_after_it_scaled() {
    // 10 TMs 20 % busy at 50 k/s: true rate 250 k/s, above 50 k/6 + 50 k/0.4 = 133 333.
    // Capacity 8 333 + 71 429 = 79 762 → factor 0.32, bounded by the maximum scale-down to
    // 0.4: 4 TMs — but only after the hour-long scale-down interval.
    let mut a = autoscaler(Some(128));
    let rates = [50_000.0; 3];
    assert_eq!(ask(&mut a, 0.0, 10, 2.0, 50_000.0, &rates), None);
    assert_eq!(ask(&mut a, 1800.0, 10, 2.0, 50_000.0, &rates), None);
    assert_eq!(ask(&mut a, 3600.0, 10, 2.0, 50_000.0, &rates), Some(4));
    // Stabilisation (300 s) and a full metrics window (900 s) before the next decision.
    let over = [40_000.0; 3];
    assert_eq!(ask(&mut a, 3600.0 + 900.0, 4, 4.0, 32_000.0, &over), None);
    assert_eq!(
        ask(&mut a, 3600.0 + 1200.0, 4, 4.0, 32_000.0, &over),
        Some(16)
    );
}

#[test]
fn a_scale_up_cancels_a_pending_scale_down() {
    let mut a = autoscaler(None);
    let low = [50_000.0; 3];
    assert_eq!(ask(&mut a, 0.0, 10, 2.0, 50_000.0, &low), None);
    // Overloaded for one observation (10 TMs busy at 80 k/s, 100 k/s in): up at once.
    let high = [100_000.0; 3];
    assert!(ask(&mut a, 1800.0, 10, 10.0, 80_000.0, &high).unwrap() > 10);
    // The scale-down interval starts again from the next recommendation.
    let mut a = autoscaler(None);
    assert_eq!(ask(&mut a, 0.0, 10, 2.0, 50_000.0, &low), None);
    // In the band, asking for 11 (true rate 100 k/0.63 = 158 730 against a capacity of
    // 159 524): a scale-up recommendation, though not acted on, clears the pending scale-down.
    assert_eq!(
        ask(&mut a, 1800.0, 10, 6.3, 100_000.0, &[100_000.0; 3]),
        None
    );
    assert_eq!(ask(&mut a, 3600.0, 10, 2.0, 50_000.0, &low), None);
}

#[test]
fn a_backlog_suspends_scale_downs() {
    // A 600 s step 32 k/s short at 40 k/s: 19.2 M behind = 480 s of input, over the 300 s
    // threshold. The band becomes [capacity at 100 %, ∞): never down while catching up.
    let a = autoscaler(None);
    let current = running(4);
    let m = metrics(4.0, 4.0, 8_000.0);
    let rates = [40_000.0; 2];
    let s = Situation {
        time_s: 0.0,
        step_s: 600.0,
        history: &rates,
        current: &current,
        last: Some(&m),
    };
    let e = a.evaluate(&s).unwrap().unwrap();
    assert_eq!(e.lag, 19_200_000.0);
    assert!(e.band.1.is_infinite());
    assert_eq!(e.band.0, (19_200_000.0f64 / 1800.0 + 40_000.0).round());
}

#[test]
fn the_hpa_scales_up_at_once_and_down_after_its_window() {
    let mut p = Reactive::new(&space(), hpa::Settings::default()).unwrap();
    // 90 % busy at a 60 % target: ceil(10 × 1.5) = 15 at once.
    assert_eq!(ask(&mut p, 0.0, 10, 9.0, 1.0, &[1.0]), Some(15));
    // 30 % busy asks for ceil(15 × 0.5) = 8, but the previous observation's 15 is in the
    // 5-minute window: no change; the next observation agrees, and it goes down.
    assert_eq!(ask(&mut p, 300.0, 15, 4.5, 1.0, &[1.0]), None);
    assert_eq!(ask(&mut p, 600.0, 15, 4.5, 1.0, &[1.0]), Some(8));
    // Within the 10 % tolerance (64 % busy): nothing.
    let mut p = Reactive::new(&space(), hpa::Settings::default()).unwrap();
    assert_eq!(ask(&mut p, 0.0, 10, 6.4, 1.0, &[1.0]), None);
}

#[test]
fn the_hpa_scale_up_policies_limit_a_step() {
    // At a 20 % target, full CPU asks for 5× — the policies allow +100 % or +4, so 20.
    let settings = hpa::Settings {
        target: 0.2,
        ..Default::default()
    };
    let mut p = Reactive::new(&space(), settings).unwrap();
    assert_eq!(ask(&mut p, 0.0, 10, 10.0, 1.0, &[1.0]), Some(20));
    // From 1 TM, +4 is the larger: 5.
    let mut p = Reactive::new(
        &space(),
        hpa::Settings {
            target: 0.1,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(ask(&mut p, 0.0, 1, 1.0, 1.0, &[1.0]), Some(5));
}

#[test]
fn ds2_sizes_to_the_true_rate_then_warms_up() {
    let mut p = Ds2::new(&space(), ds2::Settings::default()).unwrap();
    // 40 000/s over 5 busy cores of 10: 8 000/s per instance; 100 000/s needs 13.
    assert_eq!(ask(&mut p, 0.0, 10, 5.0, 40_000.0, &[100_000.0]), Some(13));
    // Two warm-up intervals are ignored, whatever they show.
    assert_eq!(ask(&mut p, 300.0, 13, 13.0, 50_000.0, &[200_000.0]), None);
    assert_eq!(ask(&mut p, 600.0, 13, 13.0, 50_000.0, &[200_000.0]), None);
    assert_eq!(
        ask(&mut p, 900.0, 13, 6.5, 52_000.0, &[200_000.0]),
        Some(24)
    );
}

#[test]
fn ds2_scales_down_only_by_more_than_one_and_over_provisions_by_its_factor() {
    // 12 instances would do (96 000/s at 8 000/s each) — one fewer than 13 runs: ignored.
    let mut p = Ds2::new(&space(), ds2::Settings::default()).unwrap();
    assert_eq!(ask(&mut p, 0.0, 13, 6.5, 52_000.0, &[96_000.0]), None);
    assert_eq!(ask(&mut p, 300.0, 13, 6.5, 52_000.0, &[88_000.0]), Some(11));
    // A scaling factor of 0.5: ceil(12.5 × 1.5) = 19.
    let settings = ds2::Settings {
        scaling_factor: 0.5,
        ..Default::default()
    };
    let mut p = Ds2::new(&space(), settings).unwrap();
    assert_eq!(ask(&mut p, 0.0, 10, 5.0, 40_000.0, &[100_000.0]), Some(19));
}
